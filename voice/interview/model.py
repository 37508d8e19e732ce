"""Interview records as pure data: input checks, the canonical form that is hashed, verification.

The record's integrity rests on one canonical byte string per record: the case, participants,
times and every line (speaker role, speaker, text, language, times) serialised as sorted,
compact UTF-8 JSON. Its sha256 (``text_sha256``) and the sha256 of each kept audio file are
combined into ``record_sha256``; all three are stored at sign-off and printed on every export,
and ``verify`` recomputes them from what the database holds now.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

ROLES = ("interviewer", "interviewee", "suspect", "witness", "victim", "complainant", "interpreter", "lawyer",
         "guardian", "recorder", "other")
LINE_SOURCES = ("typed", "asr", "gap")  # gap: speech that could not be transcribed (issue 12)
STATES = ("open", "finished", "signed")
HASH_SCHEME = "jingyun-interview-v1"
CASE_RE = re.compile(r"^[\w\-/.:#() ]{1,64}$", re.UNICODE)
LANG_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
MAX_LINE_CHARS = 10_000


class InterviewError(Exception):
    """A request the record refuses; ``status`` is the HTTP status, ``code`` a stable error code."""

    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


def invalid(message: str, field: str) -> InterviewError:
    return InterviewError(400, "bad_request", message, field=field)


@dataclass(frozen=True)
class Participant:
    name: str
    role: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "role": self.role}


def _str(value: Any, field: str, max_len: int, *, required: bool = True) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise invalid(f"{field} is required: a non-empty string of at most {max_len} characters", field)
        return None
    if not isinstance(value, str) or len(value) > max_len:
        raise invalid(f"{field} must be a string of at most {max_len} characters", field)
    return value.strip()


def check_role(value: Any, field: str = "speaker_role") -> str:
    if value not in ROLES:
        raise invalid(f"{field} must be one of {', '.join(ROLES)}, got {value!r}", field)
    return str(value)


def check_language(value: Any, field: str = "language") -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not LANG_RE.match(value):
        raise invalid(f"{field} must be a language code such as zh, en or yue, got {value!r}", field)
    return value


def check_participants(value: Any) -> list[Participant]:
    if not isinstance(value, list) or not value:
        raise invalid("participants must be a non-empty list of {\"name\": ..., \"role\": ...}; roles: "
                      + ", ".join(ROLES), "participants")
    out = []
    for i, p in enumerate(value):
        if not isinstance(p, dict):
            raise invalid(f"participants[{i}] must be an object {{\"name\": ..., \"role\": ...}}", "participants")
        name = _str(p.get("name"), f"participants[{i}].name", 200)
        assert name is not None
        out.append(Participant(name, check_role(p.get("role"), f"participants[{i}].role")))
    if not any(p.role == "interviewer" for p in out):
        raise invalid("participants must include at least one interviewer", "participants")
    return out


def check_case_number(value: Any) -> str:
    case = _str(value, "case_number", 64)
    assert case is not None
    if not CASE_RE.match(case):
        raise invalid("case_number may hold letters, digits, spaces and - / . : # ( ) only, at most 64 "
                      f"characters; got {case!r}", "case_number")
    return case


def check_text(value: Any, field: str = "text") -> str:
    text = _str(value, field, MAX_LINE_CHARS)
    assert text is not None
    return text


def check_time(value: Any, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or value > 7 * 86400:
        raise invalid(f"{field} must be seconds from the start of the interview (0 to 604800), got {value!r}", field)
    return round(float(value), 3)


def canonical_record(session: dict[str, Any], lines: list[dict[str, Any]]) -> bytes:
    """The bytes that ``text_sha256`` covers: what the record says, not how it is stored."""
    doc = {
        "scheme": HASH_SCHEME,
        "id": session["id"],
        "case_number": session["case_number"],
        "title": session.get("title"),
        "location": session.get("location"),
        "participants": session["participants"],
        "started_at": session["started_at"],
        "ended_at": session["ended_at"],
        "lines": [{"seq": ln["seq"], "speaker_role": ln["speaker_role"], "speaker": ln.get("speaker"),
                   "text": ln["text"], "language": ln.get("language"), "start": ln.get("start"),
                   "end": ln.get("end"), "source": ln["source"]} for ln in sorted(lines, key=lambda x: x["seq"])],
    }
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record_hash(text_sha256: str, audio_sha256s: list[str]) -> str:
    """One hash over the text's hash and every audio file's hash, in recording order."""
    material = "\n".join([HASH_SCHEME, text_sha256, *audio_sha256s]).encode("ascii")
    return sha256_hex(material)


def verify_signature(signature: dict[str, Any], text_now: str, audio_now: list[dict[str, Any]]) -> dict[str, Any]:
    """Compare a stored signature with hashes recomputed now.

    ``audio_now``: per signed recording ``{"id", "sha256" (recomputed from the bytes, or None when the
    bytes were deleted by retention), "recorded_sha256" (the hash row), "deleted_at"}``.
    """
    text_ok = signature["text_sha256"] == text_now
    signed_audio = {a["id"]: a["sha256"] for a in signature.get("audio", [])}
    audio_report = []
    audio_ok = True
    complete = True
    for rec_id, signed_sha in signed_audio.items():
        now = next((a for a in audio_now if a["id"] == rec_id), None)
        if now is None:
            audio_report.append({"id": rec_id, "signed_sha256": signed_sha, "status": "missing", "match": False})
            audio_ok = False
            continue
        if now["sha256"] is None:
            complete = False
            ok = now["recorded_sha256"] == signed_sha
            audio_ok = audio_ok and ok
            audio_report.append({"id": rec_id, "signed_sha256": signed_sha, "status": "deleted",
                                 "deleted_at": now.get("deleted_at"), "match": ok,
                                 "note": "audio deleted by retention; its recorded hash is compared instead"})
            continue
        ok = now["sha256"] == signed_sha
        audio_ok = audio_ok and ok
        audio_report.append({"id": rec_id, "signed_sha256": signed_sha, "actual_sha256": now["sha256"],
                             "status": "present", "match": ok})
    extra = [a["id"] for a in audio_now if a["id"] not in signed_audio]
    record_now = record_hash(text_now, [a["sha256"] or a["recorded_sha256"] for a in
                                        sorted((a for a in audio_now if a["id"] in signed_audio),
                                               key=lambda a: list(signed_audio).index(a["id"]))])
    record_ok = record_now == signature["record_sha256"]
    return {"valid": text_ok and audio_ok and record_ok and not extra,
            "complete": complete,
            "text": {"signed_sha256": signature["text_sha256"], "actual_sha256": text_now, "match": text_ok},
            "audio": audio_report,
            "unsigned_audio": extra,
            "record": {"signed_sha256": signature["record_sha256"], "actual_sha256": record_now, "match": record_ok}}
