"""Custody events as audit entries, their trail, and `evidence verify` re-hashing kept files."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from cases.custody import CUSTODY_EVENTS, custody_event, trail
from cases.errors import InvalidInput
from cases.verify import hash_file, verify_files
from dispatch.audit import GENESIS, canonical, entry_hash, verify_chain

AT = dt.datetime(2026, 3, 2, 10, 0, 0, tzinfo=dt.UTC)


def test_event_becomes_an_audit_append_call() -> None:
    ev = custody_event("EV1", "handed_over", actor="unit:P12", at=AT, **{"from": "张伟", "to": "技术科 李四"})
    kw = ev.audit_kwargs()
    assert kw == {"actor": "unit:P12", "action": "evidence.handed_over", "target": "evidence:EV1", "before": None,
                  "after": {"from": "张伟", "to": "技术科 李四"}, "at": AT}


@pytest.mark.parametrize(("event", "missing"), [("handed_over", "from"), ("exported", "format"),
                                                ("downloaded", "sha256"), ("file_received", "sha256")])
def test_event_without_what_it_must_say_is_refused(event: str, missing: str) -> None:
    with pytest.raises(InvalidInput) as err:
        custody_event("EV1", event, actor="a", at=AT)
    assert err.value.details["field"] == missing


def test_unknown_event_lists_the_known_ones() -> None:
    with pytest.raises(InvalidInput) as err:
        custody_event("EV1", "deleted", actor="a", at=AT)
    assert "viewed" in err.value.message and "deleted" in err.value.message


def test_every_event_kind_needs_an_actor() -> None:
    for event, needs in CUSTODY_EVENTS.items():
        with pytest.raises(InvalidInput, match="actor"):
            custody_event("EV1", event, actor="", at=AT, **dict.fromkeys(needs, "x"))


def _chain(events: list[tuple[str, str, str, dict[str, str]]]) -> list[dict[str, object]]:
    """Audit rows exactly as dispatch.audit.append would store them."""
    rows: list[dict[str, object]] = []
    prev = GENESIS
    for seq, (actor, action, target, after) in enumerate(events, start=1):
        at = f"2026-03-02T10:00:{seq:02d}Z"
        b, a = canonical(None), canonical(after)
        h = entry_hash(seq, at, actor, action, target, b, a, prev)
        rows.append({"seq": seq, "at": at, "actor": actor, "action": action, "target": target, "before": b,
                     "after": a, "prev_hash": prev, "hash": h})
        prev = h
    return rows


def test_trail_reads_one_items_events_in_order_from_a_valid_chain() -> None:
    entries = []
    for e in (custody_event("EV1", "registered", actor="u1", at=AT, digest="d"),
              custody_event("EV2", "viewed", actor="u2", at=AT),
              custody_event("EV1", "viewed", actor="u3", at=AT)):
        kw = e.audit_kwargs()
        entries.append((kw["actor"], kw["action"], kw["target"], kw["after"]))
    entries.append(("d1", "incident.closed", "evidence:EV1", {}))  # not a custody action: left out of the trail
    rows = _chain(entries)
    assert verify_chain(rows).ok
    got = trail(reversed(rows), "EV1")
    assert [(t["seq"], t["event"], t["actor"]) for t in got] == [(1, "registered", "u1"), (3, "viewed", "u3")]
    assert got[0]["details"] == {"digest": "d"}


def _keep(root: Path, name: str, data: bytes) -> dict[str, object]:
    (root / name).write_bytes(data)
    return {"id": name, "path": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def test_verify_reports_every_file_and_each_kind_of_problem(tmp_path: Path) -> None:
    good = _keep(tmp_path, "EV1", b"intact")
    changed = _keep(tmp_path, "EV2", b"original")
    (tmp_path / "EV2").write_bytes(b"tampered")
    gone = _keep(tmp_path, "EV3", b"soon gone")
    (tmp_path / "EV3").unlink()
    escape = {"id": "EV4", "path": "../outside", "sha256": "0" * 64, "size": 1}
    report = verify_files(tmp_path, [good, changed, gone, escape])
    assert not report.ok
    assert report.counts() == {"ok": 1, "mismatch": 1, "size_changed": 0, "missing": 2, "unreadable": 0}
    by_id = {c.id: c for c in report.checks}
    assert by_id["EV2"].actual_sha256 == hashlib.sha256(b"tampered").hexdigest()
    assert "recorded on receipt" in by_id["EV2"].message
    assert "outside the evidence directory" in by_id["EV4"].message
    assert report.to_dict()["files"] == 4 and len(report.to_dict()["problems"]) == 3


def test_verify_of_intact_files_is_ok(tmp_path: Path) -> None:
    rows = [_keep(tmp_path, f"EV{i}", bytes([i]) * (i * 1000)) for i in range(1, 4)]
    assert verify_files(tmp_path, rows).ok
    assert hash_file(tmp_path / "EV2") == (rows[1]["sha256"], 2000)
