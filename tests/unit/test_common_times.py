"""common.times and common.ids: the one ISO formatter/parser and id maker every package uses."""

from __future__ import annotations

import datetime as dt

import pytest

from common.ids import new_id
from common.times import as_utc, iso, iso_exact, parse_iso

AT = dt.datetime(2026, 5, 1, 12, 0, 3, 120456, tzinfo=dt.UTC)


def test_iso_writes_milliseconds_with_z_by_default() -> None:
    assert iso(AT) == "2026-05-01T12:00:03.120Z"
    assert iso(AT.replace(microsecond=0)) == "2026-05-01T12:00:03.000Z"
    assert iso(None) is None


def test_iso_auto_keeps_dispatchs_published_format() -> None:
    assert iso(AT, timespec="auto") == "2026-05-01T12:00:03.120456Z"
    assert iso(AT.replace(microsecond=0), timespec="auto") == "2026-05-01T12:00:03Z"


def test_naive_is_utc_and_offsets_are_converted() -> None:
    assert iso(AT.replace(tzinfo=None)) == "2026-05-01T12:00:03.120Z"
    beijing = AT.astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert iso(beijing) == "2026-05-01T12:00:03.120Z"
    assert as_utc(None) is None


def test_parse_iso_reads_z_offsets_and_naive_as_utc() -> None:
    assert parse_iso("2026-05-01T12:00:03.120456Z") == AT
    assert parse_iso("2026-05-01T20:00:03.120456+08:00") == AT
    assert parse_iso("2026-05-01T12:00:03.120456") == AT
    assert parse_iso("2026-05-01T20:00:03+08:00").tzinfo is dt.UTC
    with pytest.raises(ValueError):
        parse_iso("yesterday")


def test_new_id_is_sixteen_hex_digits_and_fresh() -> None:
    ids = {new_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(len(i) == 16 and int(i, 16) >= 0 for i in ids)


def test_console_event_envelope() -> None:
    from common.events import console_event, envelope

    event = console_event("unit", origin="host-1", action="status", unit={"id": "u1"})
    assert list(event) == ["type", "action", "unit", "origin", "at"]
    assert event["origin"] == "host-1" and event["at"].endswith("Z")
    assert parse_iso(event["at"]) <= dt.datetime.now(dt.UTC)
    # An event that carries its own time keeps it; the origin is always the sender's.
    kept = envelope({"type": "alert", "at": "2026-05-01T12:00:00Z", "origin": "x"}, origin="host-2")
    assert kept == {"type": "alert", "at": "2026-05-01T12:00:00Z", "origin": "host-2"}
    assert envelope({"type": "x"}, origin="h", now=AT)["at"] == "2026-05-01T12:00:03.120456Z"


def test_iso_exact_keeps_microseconds_the_hash_chains_hash() -> None:
    at = dt.datetime(2026, 5, 1, 12, 0, 3, 120456, tzinfo=dt.UTC)
    assert iso_exact(at) == "2026-05-01T12:00:03.120456Z"
    assert iso_exact(at.replace(microsecond=0)) == "2026-05-01T12:00:03Z"
    assert iso_exact(None) is None
