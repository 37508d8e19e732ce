"""Interview records as data: input checks, the canonical hashed form, signature verification."""

from __future__ import annotations

import copy

import pytest

from voice.interview import model
from voice.interview.model import InterviewError

SESSION = {"id": "s1", "case_number": "FT-1", "title": None, "location": None,
           "participants": [{"name": "王", "role": "interviewer"}, {"name": "李", "role": "witness"}],
           "started_at": "2024-05-01T09:00:00.000Z", "ended_at": "2024-05-01T09:30:00.000Z"}
LINES = [{"seq": 1, "speaker_role": "interviewer", "speaker": None, "text": "请说明情况。", "language": "zh",
          "start": 0.0, "end": 2.5, "source": "typed"},
         {"seq": 2, "speaker_role": "witness", "speaker": "李", "text": "我看到他跑了。", "language": "zh",
          "start": 3.0, "end": 5.0, "source": "asr"}]


def _text_hash(session=SESSION, lines=LINES):
    return model.sha256_hex(model.canonical_record(session, lines))


def test_canonical_form_is_stable_and_covers_what_the_record_says():
    h = _text_hash()
    assert h == _text_hash(dict(reversed(list(SESSION.items()))), list(reversed(LINES)))  # order of storage
    assert "请说明情况" in model.canonical_record(SESSION, LINES).decode("utf-8")  # UTF-8, not escapes
    for path, value in [(("lines", 1, "text"), "我看到她跑了。"), (("lines", 0, "speaker_role"), "witness"),
                        (("lines", 1, "end"), 5.1), (("case_number",), "FT-2"), (("ended_at",), None),
                        (("participants", 1, "role"), "suspect")]:
        s, ls = copy.deepcopy(SESSION), copy.deepcopy(LINES)
        target: dict = {"lines": ls, **s}
        obj = target
        for key in path[:-1]:
            obj = obj[key]
        obj[path[-1]] = value
        session = {k: v for k, v in target.items() if k != "lines"}
        assert _text_hash(session, ls) != h, path


def test_record_hash_binds_text_and_audio():
    base = model.record_hash("a" * 64, ["b" * 64])
    assert base != model.record_hash("a" * 64, ["c" * 64]) != model.record_hash("a" * 64, [])
    assert base != model.record_hash("a" * 64, ["b" * 64, "b" * 64])


def _signature(audio=("r1", "f" * 64)):
    text = _text_hash()
    shas = [audio[1]] if audio else []
    return {"text_sha256": text, "audio": [{"id": audio[0], "sha256": audio[1]}] if audio else [],
            "record_sha256": model.record_hash(text, shas)}


def test_verify_intact_tampered_deleted_and_missing():
    sig = _signature()
    now = [{"id": "r1", "sha256": "f" * 64, "recorded_sha256": "f" * 64, "deleted_at": None}]
    ok = model.verify_signature(sig, _text_hash(), now)
    assert ok["valid"] and ok["complete"] and ok["record"]["match"]

    changed = copy.deepcopy(LINES)
    changed[1]["text"] = "我没看到。"
    bad = model.verify_signature(sig, _text_hash(lines=changed), now)
    assert not bad["valid"] and not bad["text"]["match"] and not bad["record"]["match"]

    swapped = [{**now[0], "sha256": "0" * 64}]
    assert not model.verify_signature(sig, _text_hash(), swapped)["valid"]

    deleted = [{"id": "r1", "sha256": None, "recorded_sha256": "f" * 64, "deleted_at": "2030-01-01T00:00:00Z"}]
    report = model.verify_signature(sig, _text_hash(), deleted)
    assert report["valid"] and not report["complete"] and report["audio"][0]["status"] == "deleted"

    missing = model.verify_signature(sig, _text_hash(), [])
    assert not missing["valid"] and missing["audio"][0]["status"] == "missing"

    unsigned = {"id": "r2", "sha256": "1" * 64, "recorded_sha256": "1" * 64, "deleted_at": None}
    extra = model.verify_signature(sig, _text_hash(), [*now, unsigned])
    assert not extra["valid"] and extra["unsigned_audio"] == ["r2"]


@pytest.mark.parametrize(("call", "field"), [
    (lambda: model.check_participants([{"name": "A", "role": "witness"}]), "participants"),
    (lambda: model.check_participants([{"name": "", "role": "interviewer"}]), "participants[0].name"),
    (lambda: model.check_participants("王"), "participants"),
    (lambda: model.check_case_number("FT-1; DROP TABLE"), "case_number"),
    (lambda: model.check_role("judge"), "speaker_role"),
    (lambda: model.check_language("Chinese"), "language"),
    (lambda: model.check_time(-1, "start"), "start"),
    (lambda: model.check_text("  "), "text"),
])
def test_input_errors_name_the_field(call, field):
    with pytest.raises(InterviewError) as info:
        call()
    assert info.value.status == 400 and info.value.details["field"] == field
