"""Case files (案卷): what a file holds, its status, and its versions.

A case file is opened from an incident (or on its own) and holds references to evidence, interview
records, transcripts, radio transmissions and documents. It is never deleted and never edited in
place: a correction is a new :class:`CaseVersion` that names who changed what and why, chained to the
version before it by sha256 (like the audit log), so an altered or missing version is detectable by
:func:`verify_versions`. Where the file *is* (its holder) moves only by hand-over (:mod:`cases.handover`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from cases import fields
from cases.errors import Conflict, IllegalTransition, InvalidInput
from cases.holders import Holder

CASE_STATES = ("open", "closed")
# A closed file can be reopened (new facts, a court's request); the reason is recorded, nothing is lost.
CASE_TRANSITIONS: Mapping[str, tuple[str, ...]] = {"open": ("closed",), "closed": ("open",)}
ITEM_KINDS = ("evidence", "interview_record", "transcript", "radio_transmission", "document")
CASE_NUMBER_RE = re.compile(r"^[\w\-/.:#()（）〔〕\[\] ]{1,64}$", re.UNICODE)
HASH_SCHEME = "jingyun-casefile-v1"
GENESIS = "0" * 64
MAX_ITEMS = 2000
MAX_TITLE = 200
MAX_SUMMARY = 20_000

_OPEN_KEYS = ("number", "incident_id", "title", "summary", "responsible_officer", "items")
_CORRECT_KEYS = ("title", "summary", "items", "reason")
_ITEM_KEYS = ("kind", "ref_id", "note")


@dataclass(frozen=True)
class CaseItem:
    kind: str
    ref_id: str
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "ref_id": self.ref_id, "note": self.note}


@dataclass(frozen=True)
class CaseContent:
    """What a version of the file says (the part that corrections change)."""

    title: str
    summary: str
    items: tuple[CaseItem, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "summary": self.summary, "items": [i.to_dict() for i in self.items]}


@dataclass(frozen=True)
class CaseVersion:
    case_id: str
    version: int               # 1, 2, ... without gaps
    content: CaseContent
    changed_by: str
    changed_at: dt.datetime
    reason: str                # "opened" for version 1; the correction's reason after
    changes: Mapping[str, Any]  # what differs from the version before (see content_diff)
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "version": self.version, **self.content.to_dict(),
                "changed_by": self.changed_by, "changed_at": fields.iso(self.changed_at), "reason": self.reason,
                "changes": dict(self.changes), "prev_hash": self.prev_hash, "hash": self.hash}


@dataclass(frozen=True)
class CaseFile:
    """The file's header: who is responsible, where it is now and since when, its status."""

    id: str
    number: str
    incident_id: str | None
    responsible_officer: str
    status: str
    holder: Holder
    held_since: dt.datetime
    created_by: str
    created_at: dt.datetime
    version: int = 1
    awaiting_correction: bool = False   # returned for correction and not yet handed back
    returns: int = 0                    # times returned for correction, ever
    status_history: tuple[Mapping[str, Any], ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "number": self.number, "incident_id": self.incident_id,
                "responsible_officer": self.responsible_officer, "status": self.status,
                "holder": str(self.holder), "holder_kind": self.holder.kind, "holder_id": self.holder.id,
                "held_since": fields.iso(self.held_since), "created_by": self.created_by,
                "created_at": fields.iso(self.created_at), "version": self.version,
                "awaiting_correction": self.awaiting_correction, "returns": self.returns,
                "status_history": [dict(h) for h in self.status_history]}


def _items(value: Any) -> tuple[CaseItem, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidInput('items must be a list of {"kind", "ref_id", "note"}; kinds: ' + ", ".join(ITEM_KINDS),
                           field="items")
    if len(value) > MAX_ITEMS:
        raise InvalidInput(f"items has {len(value)} entries; at most {MAX_ITEMS} are accepted", field="items")
    out: list[CaseItem] = []
    seen: set[tuple[str, str]] = set()
    for i, raw in enumerate(value):
        body = fields.obj(raw, f"items[{i}]")
        fields.reject_unknown(body, _ITEM_KEYS, f"items[{i}]")
        kind = fields.choice(body.get("kind"), f"items[{i}].kind", ITEM_KINDS)
        ref = fields.identifier(body.get("ref_id"), f"items[{i}].ref_id")
        assert ref is not None
        if (kind, ref) in seen:
            raise InvalidInput(f"items[{i}]: {kind} {ref} is listed twice", field=f"items[{i}]")
        seen.add((kind, ref))
        out.append(CaseItem(kind, ref, fields.text(body.get("note"), f"items[{i}].note", 1000, required=False)))
    return tuple(out)


def check_case_number(value: Any) -> str:
    number = fields.required_text(value, "number", 64)
    if not CASE_NUMBER_RE.match(number):
        raise InvalidInput("number (案号) may hold letters, digits, spaces and - / . : # ( ) （ ） 〔 〕 [ ] only, "
                           f"at most 64 characters; got {number!r}", field="number")
    return number


def version_hash(case_id: str, version: int, content: CaseContent, changed_by: str, changed_at: dt.datetime,
                 reason: str, prev_hash: str) -> str:
    doc = {"scheme": HASH_SCHEME, "case_id": case_id, "version": version, "content": content.to_dict(),
           "changed_by": changed_by, "changed_at": fields.iso(changed_at), "reason": reason, "prev_hash": prev_hash}
    body = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _version(case_id: str, version: int, content: CaseContent, changed_by: str, at: dt.datetime, reason: str,
             changes: Mapping[str, Any], prev_hash: str) -> CaseVersion:
    return CaseVersion(case_id, version, content, changed_by, at, reason, changes, prev_hash,
                       version_hash(case_id, version, content, changed_by, at, reason, prev_hash))


def open_from_body(body: Any, *, case_id: str, created_by: str, now: dt.datetime) -> tuple[CaseFile, CaseVersion]:
    """Check an open-case request; the file starts with its responsible officer, at version 1."""
    body = fields.obj(body, "body")
    fields.reject_unknown(body, _OPEN_KEYS)
    officer = fields.identifier(body.get("responsible_officer"), "responsible_officer")
    assert officer is not None
    content = CaseContent(title=fields.required_text(body.get("title"), "title", MAX_TITLE),
                          summary=fields.text(body.get("summary"), "summary", MAX_SUMMARY, required=False) or "",
                          items=_items(body.get("items")))
    case = CaseFile(id=case_id, number=check_case_number(body.get("number")),
                    incident_id=fields.identifier(body.get("incident_id"), "incident_id", required=False),
                    responsible_officer=officer, status="open", holder=Holder("officer", officer), held_since=now,
                    created_by=created_by, created_at=now)
    first = _version(case_id, 1, content, created_by, now, "opened", content_diff(None, content), GENESIS)
    return case, first


def content_diff(before: CaseContent | None, after: CaseContent) -> dict[str, Any]:
    """Which fields changed and which items were added or taken out, for the version's record."""
    if before is None:
        return {"fields": ["title", "summary"], "added": [i.to_dict() for i in after.items], "removed": []}
    old = {(i.kind, i.ref_id): i for i in before.items}
    new = {(i.kind, i.ref_id): i for i in after.items}
    changed = [f for f in ("title", "summary") if getattr(before, f) != getattr(after, f)]
    renoted = [new[k].to_dict() for k in new if k in old and old[k].note != new[k].note]
    return {"fields": changed, "added": [new[k].to_dict() for k in new if k not in old],
            "removed": [old[k].to_dict() for k in old if k not in new], "renoted": renoted}


def correct(case: CaseFile, current: CaseVersion, body: Any, *, changed_by: str, now: dt.datetime) -> tuple[
        CaseFile, CaseVersion]:
    """A correction: a new version with the given fields replaced and the reason recorded.

    Fields left out keep their value; ``items``, when given, is the whole new list. An item taken out
    stays in every earlier version. A correction that changes nothing is refused.
    """
    if current.case_id != case.id or current.version != case.version:
        raise Conflict(f"version {current.version} is not the current version ({case.version}) of case file {case.id}; "
                       "reload it and correct the current version", current=case.version)
    if case.status != "open":
        raise Conflict(f"case file {case.id} is {case.status}: reopen it before correcting it", status=case.status)
    body = fields.obj(body, "body")
    fields.reject_unknown(body, _CORRECT_KEYS)
    reason = fields.required_text(body.get("reason"), "reason", 2000)
    old = current.content
    content = CaseContent(
        title=fields.required_text(body["title"], "title", MAX_TITLE) if "title" in body else old.title,
        summary=(fields.text(body["summary"], "summary", MAX_SUMMARY, required=False) or "") if "summary" in body
        else old.summary,
        items=_items(body["items"]) if "items" in body else old.items)
    if content == old:
        raise InvalidInput("this correction changes nothing: give a new title, summary or items list", field="body")
    version = _version(case.id, current.version + 1, content, changed_by, now, reason, content_diff(old, content),
                       current.hash)
    return replace(case, version=version.version), version


def set_status(case: CaseFile, requested: str, *, reason: str | None, actor: str, now: dt.datetime) -> CaseFile:
    """Close or reopen a file; reopening needs a reason. Nothing else about the file changes."""
    if requested not in CASE_STATES:
        raise InvalidInput(f"status must be one of {', '.join(CASE_STATES)}, got {requested!r}", field="status")
    if requested not in CASE_TRANSITIONS[case.status]:
        raise IllegalTransition("case file", case.status, requested, CASE_TRANSITIONS[case.status])
    if requested == "open" and not (reason and reason.strip()):
        raise InvalidInput("reopening a closed case file needs a reason", field="reason")
    if requested == "closed" and case.awaiting_correction:
        raise Conflict(f"case file {case.id} was returned for correction and not handed back corrected; it cannot "
                       "be closed yet")
    entry = {"from": case.status, "to": requested, "reason": reason, "by": actor, "at": fields.iso(now)}
    return replace(case, status=requested, status_history=(*case.status_history, entry))


def verify_versions(versions: Sequence[CaseVersion]) -> tuple[bool, str]:
    """Walk versions 1..n and report the first one altered, missing or out of order."""
    prev, expected = GENESIS, 1
    for v in sorted(versions, key=lambda x: x.version):
        if v.version != expected:
            return False, f"version {expected} is missing (found version {v.version} next)"
        again = version_hash(v.case_id, v.version, v.content, v.changed_by, v.changed_at, v.reason, v.prev_hash)
        if again != v.hash:
            return False, f"version {v.version} was altered: its content no longer matches its hash"
        if v.prev_hash != prev:
            return False, f"version {v.version} does not chain to version {v.version - 1}"
        prev, expected = v.hash, expected + 1
    return True, f"{expected - 1} versions, chain intact"
