"""The inspection chain: building manager → grid worker → fire office → (fire police).

States and who acts in each::

    (manager submits a self-check with photos)
            │
            ▼
       submitted ──return (grid worker)──▶ returned ──resubmit (manager)──▶ submitted
            │ accept (grid worker)              ▲
            ▼                                   │
      grid_accepted ──return (fire office)──────┘
            │ close (fire office)          ──▶ closed
            │ escalate (fire office)
            ▼
       escalated ──link_incident (fire police; stays escalated)
            │ resolve (fire police)        ──▶ closed

An admin may take any review step (accept, return, close, escalate, link_incident, resolve) as cover;
only the building's manager submits or resubmits, because the self-check is their declaration. Every
actor must also see the building (:mod:`inspections.access`). Each step returns the new inspection
with a :class:`Decision` appended; a decision's :meth:`~Decision.audit_kwargs` is what goes into the
hash-chained audit. Nothing is overwritten: every self-check round and every decision is kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from cases import fields
from cases.errors import Conflict, Forbidden, IllegalTransition, InvalidInput
from inspections.access import ADMIN, BUILDING_MANAGER, FIRE_OFFICE, FIRE_POLICE, GRID_WORKER, Viewer, can_see_building
from inspections.rules import ChecklistItem

STATES = ("submitted", "returned", "grid_accepted", "escalated", "closed")
OPEN_STATES = ("submitted", "returned", "grid_accepted", "escalated")
# (state, action) -> (next state, roles that may take it)
ACTIONS: Mapping[tuple[str, str], tuple[str, frozenset[str]]] = {
    ("submitted", "accept"): ("grid_accepted", frozenset({GRID_WORKER, ADMIN})),
    ("submitted", "return"): ("returned", frozenset({GRID_WORKER, ADMIN})),
    ("returned", "resubmit"): ("submitted", frozenset({BUILDING_MANAGER})),
    ("grid_accepted", "close"): ("closed", frozenset({FIRE_OFFICE, ADMIN})),
    ("grid_accepted", "escalate"): ("escalated", frozenset({FIRE_OFFICE, ADMIN})),
    ("grid_accepted", "return"): ("returned", frozenset({FIRE_OFFICE, ADMIN})),
    ("escalated", "link_incident"): ("escalated", frozenset({FIRE_POLICE, ADMIN})),
    ("escalated", "resolve"): ("closed", frozenset({FIRE_POLICE, ADMIN})),
}
ACTION_NAMES = ("submit", *sorted({a for _, a in ACTIONS}))
# Whom an inspection waits for in each open state (for the page, the alerts and the deadlines).
WAITING_FOR: Mapping[str, str] = {"submitted": GRID_WORKER, "returned": BUILDING_MANAGER,
                                  "grid_accepted": FIRE_OFFICE, "escalated": FIRE_POLICE}
ANSWERS = ("ok", "hazard", "not_applicable")
SEVERITIES = ("general", "major")          # 一般隐患 | 重大隐患
MEASURES = ("rectified_on_site", "rectification_order", "fine", "temporary_seal", "suspension", "referred")
MAX_PHOTOS = 50
MAX_NOTE = 4000


def actions_from(state: str) -> list[str]:
    return [a for (s, a) in ACTIONS if s == state]


@dataclass(frozen=True)
class PhotoRef:
    """A photo already uploaded (cases.upload): referenced by the sha256 measured on receipt."""

    sha256: str
    size: int
    name: str | None = None


@dataclass(frozen=True)
class Answer:
    item: str
    result: str
    note: str | None = None
    photos: tuple[str, ...] = ()   # sha256 of photos in the same self-check that show this item


@dataclass(frozen=True)
class SelfCheck:
    round: int
    answers: tuple[Answer, ...]
    photos: tuple[PhotoRef, ...]
    note: str | None
    submitted_by: str
    submitted_at: dt.datetime

    @property
    def hazards(self) -> list[Answer]:
        return [a for a in self.answers if a.result == "hazard"]


@dataclass(frozen=True)
class Decision:
    seq: int
    action: str
    actor: str
    role: str
    at: dt.datetime
    from_state: str | None
    to_state: str
    details: Mapping[str, Any]

    def audit_kwargs(self, inspection_id: str) -> dict[str, Any]:
        """Keyword arguments for ``dispatch.audit.append(conn, **kwargs)``."""
        return {"actor": self.actor, "action": f"inspection.{self.action}", "target": f"inspection:{inspection_id}",
                "before": {"state": self.from_state}, "after": {"state": self.to_state, "role": self.role,
                                                                **self.details}, "at": self.at}


@dataclass(frozen=True)
class Escalation:
    hazard: str
    severity: str
    by: str
    at: dt.datetime


@dataclass(frozen=True)
class Inspection:
    id: str
    building_id: str
    state: str
    state_since: dt.datetime
    self_checks: tuple[SelfCheck, ...]
    decisions: tuple[Decision, ...] = ()
    escalation: Escalation | None = None
    incident_id: str | None = None
    result: Mapping[str, Any] | None = None

    @property
    def round(self) -> int:
        return len(self.self_checks)

    @property
    def current(self) -> SelfCheck:
        return self.self_checks[-1]

    @property
    def waiting_for(self) -> str | None:
        return WAITING_FOR.get(self.state)

    def to_dict(self) -> dict[str, Any]:
        def conv(v: Any) -> Any:
            if isinstance(v, dt.datetime):
                return fields.iso(v)
            if isinstance(v, Mapping):
                return {k: conv(x) for k, x in v.items()}
            if isinstance(v, list | tuple):
                return [conv(x) for x in v]
            if hasattr(v, "__dataclass_fields__"):
                return {k: conv(getattr(v, k)) for k in v.__dataclass_fields__}
            return v
        out = conv(self)
        out.update(round=self.round, waiting_for=self.waiting_for, actions=actions_from(self.state))
        return out


def _photos(value: Any) -> tuple[PhotoRef, ...]:
    if not isinstance(value, list) or not value:
        raise InvalidInput('photos is required: a non-empty list of {"sha256", "size", "name"} of photos already '
                           "uploaded", field="photos")
    if len(value) > MAX_PHOTOS:
        raise InvalidInput(f"photos has {len(value)} entries; at most {MAX_PHOTOS} are accepted", field="photos")
    out: list[PhotoRef] = []
    for i, raw in enumerate(value):
        body = fields.obj(raw, f"photos[{i}]")
        fields.reject_unknown(body, ("sha256", "size", "name"), f"photos[{i}]")
        sha = fields.sha256(body.get("sha256"), f"photos[{i}].sha256")
        if any(p.sha256 == sha for p in out):
            raise InvalidInput(f"photos[{i}] is the same photo as an earlier one (sha256 {sha})", field=f"photos[{i}]")
        size = fields.integer(body.get("size"), f"photos[{i}].size", 1, 1 << 40)
        assert size is not None
        out.append(PhotoRef(sha, size, fields.text(body.get("name"), f"photos[{i}].name", 255, required=False)))
    return tuple(out)


def _answers(value: Any, checklist: Sequence[ChecklistItem], photos: tuple[PhotoRef, ...]) -> tuple[Answer, ...]:
    active = [c.id for c in checklist if not c.retired]
    if not isinstance(value, list):
        raise InvalidInput('answers must be a list of {"item", "result", "note"}, one per checklist item: '
                           + ", ".join(active), field="answers")
    known = {p.sha256 for p in photos}
    out: dict[str, Answer] = {}
    for i, raw in enumerate(value):
        body = fields.obj(raw, f"answers[{i}]")
        fields.reject_unknown(body, ("item", "result", "note", "photos"), f"answers[{i}]")
        item = fields.choice(body.get("item"), f"answers[{i}].item", active)
        if item in out:
            raise InvalidInput(f"answers[{i}]: item {item} is answered twice", field=f"answers[{i}].item")
        result = fields.choice(body.get("result"), f"answers[{i}].result", ANSWERS)
        note = fields.text(body.get("note"), f"answers[{i}].note", 1000, required=result == "hazard")
        refs = body.get("photos") or []
        if not isinstance(refs, list):
            raise InvalidInput(f"answers[{i}].photos must be a list of sha256 of photos in this self-check",
                               field=f"answers[{i}].photos")
        shas = tuple(fields.sha256(r, f"answers[{i}].photos") for r in refs)
        if set(shas) - known:
            raise InvalidInput(f"answers[{i}].photos names a photo that is not in photos", field=f"answers[{i}].photos")
        out[item] = Answer(item, result, note, shas)
    missing = [c for c in active if c not in out]
    if missing:
        raise InvalidInput(f"every checklist item must be answered (ok, hazard or not_applicable); missing: "
                           f"{', '.join(missing)}", field="answers", missing=missing)
    return tuple(out[c] for c in active)


def self_check_from_body(body: Any, *, round_no: int, checklist: Sequence[ChecklistItem], submitted_by: str,
                         now: dt.datetime) -> SelfCheck:
    if not any(not c.retired for c in checklist):
        # A programming error, not bad input: an empty checklist would accept a self-check that says nothing.
        raise ValueError("a self-check is checked against the checklist: pass inspections.rules.load_checklist()")
    body = fields.obj(body, "body")
    fields.reject_unknown(body, ("answers", "photos", "note"))
    photos = _photos(body.get("photos"))
    return SelfCheck(round_no, _answers(body.get("answers"), checklist, photos), photos,
                     fields.text(body.get("note"), "note", MAX_NOTE, required=False), submitted_by, now)


def _check_actor(viewer: Viewer, building: Mapping[str, Any], roles: frozenset[str], what: str) -> None:
    if viewer.role not in roles:
        raise Forbidden(f"{what} is for {' or '.join(sorted(roles))}; a {viewer.role} cannot", roles=sorted(roles))
    if not can_see_building(viewer, building):
        raise Forbidden(f"building {building.get('id')} is not one of yours", building_id=building.get("id"))


def submit(body: Any, *, inspection_id: str, building: Mapping[str, Any], viewer: Viewer,
           checklist: Sequence[ChecklistItem], now: dt.datetime, open_inspection: Inspection | None) -> Inspection:
    """The building's manager submits a self-check: a new inspection, waiting for the grid worker."""
    _check_actor(viewer, building, frozenset({BUILDING_MANAGER}), "submitting a self-check")
    if open_inspection is not None and open_inspection.state in OPEN_STATES:
        raise Conflict(f"building {building.get('id')} already has an inspection in progress ({open_inspection.id}, "
                       f"{open_inspection.state}); finish it first", inspection_id=open_inspection.id)
    check = self_check_from_body(body, round_no=1, checklist=checklist, submitted_by=viewer.subject, now=now)
    decision = Decision(1, "submit", viewer.subject, viewer.role, now, None, "submitted",
                        _check_summary(check))
    return Inspection(inspection_id, str(building["id"]), "submitted", now, (check,), (decision,))


def _check_summary(check: SelfCheck) -> dict[str, Any]:
    return {"round": check.round, "photos": [p.sha256 for p in check.photos],
            "hazards": [a.item for a in check.hazards]}


def _reasons(body: Mapping[str, Any]) -> list[str]:
    value = body.get("reasons")
    if not isinstance(value, list) or not value:
        raise InvalidInput("reasons is required: a non-empty list of what must be put right", field="reasons")
    return [fields.required_text(v, f"reasons[{i}]", 1000) for i, v in enumerate(value)]


_BODY_KEYS: Mapping[str, tuple[str, ...]] = {
    "accept": ("note",), "return": ("reasons", "note"), "resubmit": ("answers", "photos", "note"),
    "close": ("note",), "escalate": ("hazard", "severity", "note"), "link_incident": ("incident_id",),
    "resolve": ("result", "measures", "note"),
}


def apply(insp: Inspection, action: str, body: Any, *, viewer: Viewer, building: Mapping[str, Any],
          now: dt.datetime, checklist: Sequence[ChecklistItem] = ()) -> Inspection:
    """Take one step of the chain; refuses a step the state, the role or the building does not allow."""
    if action not in _BODY_KEYS:
        raise InvalidInput(f"action must be one of {', '.join(_BODY_KEYS)}, got {action!r}", field="action")
    step = ACTIONS.get((insp.state, action))
    if step is None:
        raise IllegalTransition("inspection", insp.state, action, actions_from(insp.state))
    if str(building.get("id")) != insp.building_id:
        raise Conflict(f"inspection {insp.id} is of building {insp.building_id}, not {building.get('id')}")
    to_state, roles = step
    _check_actor(viewer, building, roles, f"{action} of an inspection in state {insp.state}")
    body = fields.obj(body if body is not None else {}, "body")
    fields.reject_unknown(body, _BODY_KEYS[action])
    note = fields.text(body.get("note"), "note", MAX_NOTE, required=False)
    details: dict[str, Any] = {"note": note} if note else {}
    changes: dict[str, Any] = {}
    if action == "return":
        details["reasons"] = _reasons(body)
    elif action == "resubmit":
        check = self_check_from_body(body, round_no=insp.round + 1, checklist=checklist, submitted_by=viewer.subject,
                                     now=now)
        changes["self_checks"] = (*insp.self_checks, check)
        details = _check_summary(check)
    elif action == "close":
        if insp.current.hazards and not note:
            raise InvalidInput("the self-check reports hazards ("
                               + ", ".join(a.item for a in insp.current.hazards)
                               + "): closing without escalation needs a note saying how each was resolved",
                               field="note")
    elif action == "escalate":
        hazard = fields.required_text(body.get("hazard"), "hazard", MAX_NOTE)
        severity = fields.choice(body.get("severity"), "severity", SEVERITIES)
        changes["escalation"] = Escalation(hazard, severity, viewer.subject, now)
        details.update(hazard=hazard, severity=severity)
    elif action == "link_incident":
        if insp.incident_id is not None:
            raise Conflict(f"inspection {insp.id} is already linked to incident {insp.incident_id}",
                           incident_id=insp.incident_id)
        incident = fields.identifier(body.get("incident_id"), "incident_id")
        changes["incident_id"] = incident
        details["incident_id"] = incident
    elif action == "resolve":
        result = fields.required_text(body.get("result"), "result", MAX_NOTE)
        measures = body.get("measures") or []
        if not isinstance(measures, list):
            raise InvalidInput("measures must be a list of " + ", ".join(MEASURES), field="measures")
        chosen = [fields.choice(m, f"measures[{i}]", MEASURES) for i, m in enumerate(measures)]
        changes["result"] = {"result": result, "measures": chosen, "by": viewer.subject, "at": fields.iso(now)}
        details.update(result=result, measures=chosen)
    decision = Decision(len(insp.decisions) + 1, action, viewer.subject, viewer.role, now, insp.state, to_state,
                        details)
    # A self-loop (link_incident) keeps the step's clock running: the deadline is for the enforcement.
    since = insp.state_since if to_state == insp.state else now
    return replace(insp, state=to_state, state_since=since, decisions=(*insp.decisions, decision), **changes)


def incident_draft(insp: Inspection, building: Mapping[str, Any]) -> dict[str, Any]:
    """What the dispatch side needs to open an incident for an escalated hazard (the fire police decide)."""
    if insp.state != "escalated" or insp.escalation is None:
        raise Conflict(f"inspection {insp.id} is {insp.state}: only an escalated hazard becomes an incident")
    where = building.get("name") or building.get("address")
    return {"source": "inspection", "category": "hazard",
            "text": f"[{insp.escalation.severity}] {insp.escalation.hazard} — {where}",
            "location_text": building.get("address"), "lat": building.get("lat"), "lon": building.get("lon"),
            "inspection_id": insp.id, "building_id": insp.building_id}
