"""Evidence items (视频档案袋): what a registration says, its checks, and its states.

An item is either **media** (video, photo, audio) pulled from a device, or a **reference** to a
record Jingyun already holds (a radio transmission, an interview record). Media is registered first
(``awaiting_file``), then either its file arrives (``kept``, with the sha256 and size measured on
receipt) or the person responsible signs a statement that it was ``lost`` or ``damaged``. A
reference is complete when registered (``referenced``). Final states allow nothing further:
corrections are new registrations, never edits, and every later look at the item is a custody
event (:mod:`cases.custody`).

The submitting officer's sign-off carries ``digest``: the sha256 of the registration's facts in
canonical JSON (:func:`registration_digest`), so any later change to those facts is detectable.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from cases import fields
from cases.errors import Conflict, IllegalTransition, InvalidInput

MEDIA_KINDS = ("video", "photo", "audio")
REFERENCE_KINDS = ("radio_transmission", "interview_record")
EVIDENCE_KINDS = MEDIA_KINDS + REFERENCE_KINDS
DEVICE_TYPES = ("cctv", "body_camera", "dashcam", "phone", "doorbell", "recorder", "computer", "other")
LOSS_CONDITIONS = ("lost", "damaged")

EVIDENCE_STATES = ("awaiting_file", "kept", "lost", "damaged", "referenced")
EVIDENCE_TRANSITIONS: Mapping[str, tuple[str, ...]] = {
    "awaiting_file": ("kept", "lost", "damaged"),
    "kept": (),
    "lost": (),
    "damaged": (),
    "referenced": (),
}
# Content types accepted for each media kind. Recorder exports are often proprietary (.dav, .264),
# so application/octet-stream is accepted for every kind: the hash, not the type, is what is kept.
MEDIA_TYPES: Mapping[str, tuple[str, ...]] = {
    "video": ("video/", "application/octet-stream"),
    "photo": ("image/", "application/octet-stream"),
    "audio": ("audio/", "application/octet-stream"),
}
HASH_SCHEME = "jingyun-evidence-v1"

MAX_TITLE = 200
MAX_TEXT = 4000
MAX_NAME = 200

_COMMON_KEYS = ("kind", "incident_id", "case_id", "title", "purpose", "sign_off")
_MEDIA_KEYS = (*_COMMON_KEYS, "source", "pulled_at", "pulled_place", "recorded_from", "recorded_to",
               "expected_sha256", "loss")
_REFERENCE_KEYS = (*_COMMON_KEYS, "reference_id")
_SOURCE_KEYS = ("device", "device_type", "place", "owner", "owner_contact", "lat", "lon")
_SIGN_OFF_KEYS = ("officer", "badge", "confirmed")
_LOSS_KEYS = ("condition", "statement", "responsible", "responsible_role", "confirmed", "statement_sha256")


@dataclass(frozen=True)
class Source:
    """Where the footage came from: the device, where it stands, who owns it."""

    device: str
    device_type: str
    place: str
    owner: str
    owner_contact: str | None = None
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class SignOff:
    """The submitting officer's confirmation of what they registered, bound to it by ``digest``."""

    officer: str
    badge: str
    signed_by: str          # the authenticated subject who sent it
    signed_at: dt.datetime
    digest: str             # registration_digest() at signing time


@dataclass(frozen=True)
class KeptFile:
    """The file as received: measured by the server, never taken from the client's word."""

    sha256: str
    size: int
    media_type: str
    filename: str | None
    received_at: dt.datetime
    received_by: str


@dataclass(frozen=True)
class LossStatement:
    """Why there is no file: lost or damaged, told and signed by the person responsible for it."""

    condition: str          # lost | damaged
    statement: str
    responsible: str        # name of the person responsible for the footage
    responsible_role: str   # e.g. property CCTV operator, the officer who pulled it
    recorded_by: str        # the authenticated subject who entered it
    signed_at: dt.datetime
    statement_sha256: str | None = None  # hash of the scanned signed paper, when one was uploaded


@dataclass(frozen=True)
class Evidence:
    id: str
    kind: str
    incident_id: str | None
    case_id: str | None
    title: str
    purpose: str             # what it is meant to prove
    submitted_by: str
    submitted_at: dt.datetime
    sign_off: SignOff
    state: str
    source: Source | None = None
    pulled_at: dt.datetime | None = None
    pulled_place: str | None = None
    recorded_from: dt.datetime | None = None
    recorded_to: dt.datetime | None = None
    expected_sha256: str | None = None
    reference_id: str | None = None
    file: KeptFile | None = None
    loss: LossStatement | None = None

    @property
    def is_media(self) -> bool:
        return self.kind in MEDIA_KINDS

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: times as ISO 8601 UTC with ``Z``."""
        return _jsonable(asdict(self))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return fields.iso(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def registration_digest(ev: Evidence) -> str:
    """sha256 over the registered facts (who, what, where from, when pulled, why), canonical JSON.

    State, file and loss statement are left out: they arrive later and carry their own hashes.
    """
    facts = {
        "scheme": HASH_SCHEME, "id": ev.id, "kind": ev.kind, "incident_id": ev.incident_id,
        "case_id": ev.case_id, "title": ev.title, "purpose": ev.purpose, "submitted_by": ev.submitted_by,
        "submitted_at": fields.iso(ev.submitted_at),
        "source": asdict(ev.source) if ev.source else None,
        "pulled_at": fields.iso(ev.pulled_at) if ev.pulled_at else None, "pulled_place": ev.pulled_place,
        "recorded_from": fields.iso(ev.recorded_from) if ev.recorded_from else None,
        "recorded_to": fields.iso(ev.recorded_to) if ev.recorded_to else None,
        "expected_sha256": ev.expected_sha256, "reference_id": ev.reference_id,
        "officer": ev.sign_off.officer, "badge": ev.sign_off.badge,
    }
    body = json.dumps(facts, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _source(value: Any) -> Source:
    body = fields.obj(value, "source")
    fields.reject_unknown(body, _SOURCE_KEYS, "source")
    lat, lon = fields.coordinates(body.get("lat"), body.get("lon"), "source")
    return Source(
        device=fields.required_text(body.get("device"), "source.device", MAX_NAME),
        device_type=fields.choice(body.get("device_type"), "source.device_type", DEVICE_TYPES),
        place=fields.required_text(body.get("place"), "source.place", MAX_NAME),
        owner=fields.required_text(body.get("owner"), "source.owner", MAX_NAME),
        owner_contact=fields.text(body.get("owner_contact"), "source.owner_contact", MAX_NAME, required=False),
        lat=lat, lon=lon)


def _sign_off_parts(value: Any) -> tuple[str, str]:
    body = fields.obj(value, "sign_off")
    fields.reject_unknown(body, _SIGN_OFF_KEYS, "sign_off")
    officer = fields.required_text(body.get("officer"), "sign_off.officer", MAX_NAME)
    badge = fields.required_text(body.get("badge"), "sign_off.badge", 32)
    fields.boolean_true(body.get("confirmed"), "sign_off.confirmed",
                        "the submitting officer confirms that what is registered is true and complete")
    return officer, badge


def loss_from_body(value: Any, *, recorded_by: str, now: dt.datetime) -> LossStatement:
    """Check a lost/damaged statement: condition, what happened, who is responsible, their confirmation."""
    body = fields.obj(value, "loss")
    fields.reject_unknown(body, _LOSS_KEYS, "loss")
    condition = fields.choice(body.get("condition"), "loss.condition", LOSS_CONDITIONS)
    statement = fields.required_text(body.get("statement"), "loss.statement", MAX_TEXT)
    responsible = fields.required_text(body.get("responsible"), "loss.responsible", MAX_NAME)
    role = fields.required_text(body.get("responsible_role"), "loss.responsible_role", MAX_NAME)
    fields.boolean_true(body.get("confirmed"), "loss.confirmed",
                        "the person responsible has signed the statement of loss or damage")
    paper = body.get("statement_sha256")
    return LossStatement(condition=condition, statement=statement, responsible=responsible, responsible_role=role,
                         recorded_by=recorded_by, signed_at=now,
                         statement_sha256=None if paper is None else fields.sha256(paper, "loss.statement_sha256"))


def registration_from_body(body: Any, *, evidence_id: str, submitted_by: str, now: dt.datetime) -> Evidence:
    """Check a registration request and build the item, signed off, in its first state.

    ``submitted_by`` comes from the caller's token, never from the body. At least one of
    ``incident_id`` and ``case_id`` is needed: evidence always belongs somewhere.
    """
    body = fields.obj(body, "body")
    kind = fields.choice(body.get("kind"), "kind", EVIDENCE_KINDS)
    media = kind in MEDIA_KINDS
    if not media:
        misplaced = sorted(set(body) & (set(_MEDIA_KEYS) - set(_COMMON_KEYS)))
        if misplaced:
            raise InvalidInput(f"a {kind} is attached by reference_id: its source, times and hash come from the "
                               f"referenced record, so {', '.join(misplaced)} cannot be given", field=misplaced[0])
    fields.reject_unknown(body, _MEDIA_KEYS if media else _REFERENCE_KEYS)
    incident_id = fields.identifier(body.get("incident_id"), "incident_id", required=False)
    case_id = fields.identifier(body.get("case_id"), "case_id", required=False)
    if incident_id is None and case_id is None:
        raise InvalidInput("give incident_id, case_id or both: the incident or case file this evidence belongs to",
                           field="incident_id")
    officer, badge = _sign_off_parts(body.get("sign_off"))
    common: dict[str, Any] = {
        "id": evidence_id, "kind": kind, "incident_id": incident_id, "case_id": case_id,
        "title": fields.required_text(body.get("title"), "title", MAX_TITLE),
        "purpose": fields.required_text(body.get("purpose"), "purpose", MAX_TEXT),
        "submitted_by": submitted_by, "submitted_at": now,
    }
    placeholder = SignOff(officer, badge, submitted_by, now, "")
    if not media:
        ev = Evidence(**common, sign_off=placeholder, state="referenced",
                      reference_id=fields.identifier(body.get("reference_id"), "reference_id"))
    else:
        pulled_at = fields.instant(body.get("pulled_at"), "pulled_at", now=now)
        recorded_from = _optional_instant(body.get("recorded_from"), "recorded_from", now)
        recorded_to = _optional_instant(body.get("recorded_to"), "recorded_to", now)
        if recorded_from and recorded_to and recorded_from > recorded_to:
            raise InvalidInput("recorded_from must not be after recorded_to (the footage's first and last moment)",
                               field="recorded_from")
        if recorded_to and recorded_to > pulled_at:
            raise InvalidInput(f"recorded_to ({fields.iso(recorded_to)}) is after pulled_at "
                               f"({fields.iso(pulled_at)}): footage cannot end after it was pulled; check both "
                               "times and their zones", field="recorded_to")
        expected = body.get("expected_sha256")
        loss_body = body.get("loss")
        if loss_body is not None and expected is not None:
            raise InvalidInput("give loss (no file will come) or expected_sha256 (the file's hash taken at the pull), "
                               "not both", field="loss")
        loss = None if loss_body is None else loss_from_body(loss_body, recorded_by=submitted_by, now=now)
        ev = Evidence(**common, sign_off=placeholder, state=loss.condition if loss else "awaiting_file",
                      source=_source(body.get("source")), pulled_at=pulled_at,
                      pulled_place=fields.required_text(body.get("pulled_place"), "pulled_place", MAX_NAME),
                      recorded_from=recorded_from, recorded_to=recorded_to,
                      expected_sha256=None if expected is None else fields.sha256(expected, "expected_sha256"),
                      loss=loss)
    return replace(ev, sign_off=replace(placeholder, digest=registration_digest(ev)))


def _optional_instant(value: Any, field: str, now: dt.datetime) -> dt.datetime | None:
    return None if value is None else fields.instant(value, field, now=now)


def _move(ev: Evidence, requested: str) -> None:
    if requested not in EVIDENCE_TRANSITIONS[ev.state]:
        raise IllegalTransition("evidence", ev.state, requested, EVIDENCE_TRANSITIONS[ev.state])


def check_media_type(kind: str, media_type: str | None) -> str:
    """The upload's content type, checked against the item's kind."""
    accepted = MEDIA_TYPES.get(kind)
    if accepted is None:
        raise InvalidInput(f"a {kind} is attached by reference and takes no file", field="file")
    mt = (media_type or "application/octet-stream").split(";")[0].strip().lower()
    if not any(mt == a or (a.endswith("/") and mt.startswith(a)) for a in accepted):
        names = " or ".join(a + "*" if a.endswith("/") else a for a in accepted)
        raise InvalidInput(f"a {kind} file must be sent as {names}, got {mt!r}", field="content_type")
    return mt


def with_file(ev: Evidence, *, sha256: str, size: int, media_type: str | None, filename: str | None,
              received_by: str, at: dt.datetime) -> Evidence:
    """The item once its file was received whole (see :mod:`cases.upload`): ``awaiting_file`` → ``kept``."""
    _move(ev, "kept")
    if ev.expected_sha256 is not None and sha256 != ev.expected_sha256:
        raise Conflict(f"the file received has sha256 {sha256}, but the registration says the file pulled had "
                       f"{ev.expected_sha256}; it was not kept. Upload the file that was pulled.",
                       expected=ev.expected_sha256, actual=sha256)
    kept = KeptFile(sha256=fields.sha256(sha256, "sha256"), size=size, media_type=check_media_type(ev.kind, media_type),
                    filename=fields.text(filename, "filename", 255, required=False), received_at=at,
                    received_by=received_by)
    return replace(ev, state="kept", file=kept)


def with_loss(ev: Evidence, body: Any, *, recorded_by: str, now: dt.datetime) -> Evidence:
    """The item once its file is declared lost or damaged: ``awaiting_file`` → ``lost`` | ``damaged``."""
    loss = loss_from_body(body, recorded_by=recorded_by, now=now)
    _move(ev, loss.condition)
    return replace(ev, state=loss.condition, loss=loss)
