"""The rdio-scanner upload form: fields, time forms, idempotency key, errors naming the field."""

from __future__ import annotations

import datetime as dt

import pytest

from voice.radio.rdio import CallFormError, parse_call_form

FORM = {"dateTime": "1714564800", "system": "11", "talkgroup": "54241", "frequency": "774031250",
        "source": "4424000", "talkgroupLabel": "PD Dispatch 1", "talkgroupTag": "Law Dispatch",
        "systemLabel": "Futian", "key": "secret", "site": "1", "audioName": "call.wav", "talkerAlias": "P31"}


def test_fields_parsed():
    meta = parse_call_form(FORM)
    assert meta.system == "11" and meta.talkgroup == "54241" and meta.source == "4424000"
    assert meta.started_at == dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
    assert meta.frequency == 774031250 and meta.talkgroup_label == "PD Dispatch 1"
    assert meta.extra == {"talkerAlias": "P31"}  # unknown fields kept; the key is never kept
    assert "secret" not in str(meta.to_dict())


def test_same_call_same_key_whatever_the_time_form():
    a = parse_call_form(FORM)
    b = parse_call_form({**FORM, "dateTime": "2024-05-01T12:00:00Z"})
    c = parse_call_form({**FORM, "dateTime": "2024-05-01T20:00:00+08:00"})
    d = parse_call_form({**FORM, "timestamp": "1714564800000"})
    assert a.upload_key == b.upload_key == c.upload_key == d.upload_key == "11:54241:ms1714564800000"
    assert parse_call_form({**FORM, "talkgroup": "54242"}).upload_key != a.upload_key
    assert parse_call_form({**FORM, "timestamp": "1714564800250"}).started_at.microsecond == 250000


def test_source_from_sources_list():
    meta = parse_call_form({**FORM, "source": "", "sources": '[{"pos": 1.5, "src": 7}, {"pos": 0, "src": 9}]'})
    assert meta.source == "9" and len(meta.sources) == 2


@pytest.mark.parametrize(("change", "field", "says"), [
    ({"system": ""}, "system", "required"),
    ({"talkgroup": "TG-1"}, "talkgroup", "integer"),
    ({"dateTime": ""}, "dateTime", "RFC 3339"),
    ({"dateTime": "2024-05-01 12:00"}, "dateTime", "time zone"),
    ({"dateTime": "soon"}, "dateTime", "unix seconds"),
    ({"timestamp": "12.5"}, "timestamp", "milliseconds"),
    ({"frequency": "high"}, "frequency", "hertz"),
    ({"sources": "[1, 2]"}, "sources", "list of objects"),
])
def test_errors_name_the_field(change, field, says):
    with pytest.raises(CallFormError) as info:
        parse_call_form({**FORM, **change})
    assert info.value.field == field and says in info.value.message
