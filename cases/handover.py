"""Hand-over of a case file between holders: proposed by one side, confirmed by the other.

States::

    proposed ──confirm (receiver)──▶ confirmed   the file moves: new holder, held_since = now
        │──────refuse (receiver)───▶ refused     a reason is required; the file stays
        └──────cancel (proposer)───▶ cancelled   the file stays

Only ``confirmed`` moves the file, so a file is never "in transit" without an owner: until the receiver
confirms, the sender still holds it. One proposal at a time per file. A hand-over from the case
centre or legal review back to an officer may be a **return for correction** (退回补正), which needs
the list of what to correct and marks the file ``awaiting_correction`` until the officer hands it back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from cases import fields
from cases.casefile import CaseFile
from cases.errors import Conflict, Forbidden, IllegalTransition, InvalidInput
from cases.holders import HOLDER_ROLES, OFFICE_KINDS, Actor, Holder, acts_for, parse_holder

HANDOVER_STATES = ("proposed", "confirmed", "refused", "cancelled")
HANDOVER_TRANSITIONS: Mapping[str, tuple[str, ...]] = {
    "proposed": ("confirmed", "refused", "cancelled"),
    "confirmed": (),
    "refused": (),
    "cancelled": (),
}
PURPOSES = ("transfer", "return_for_correction")
# Where a file may go from each kind of holder. Legal review sees files only through the centre.
ROUTES: Mapping[str, tuple[str, ...]] = {
    "officer": ("officer", "case_centre"),
    "case_centre": ("officer", "legal_review"),
    "legal_review": ("case_centre", "officer"),
}
MAX_NOTE = 2000
_PROPOSE_KEYS = ("to", "purpose", "note", "corrections")


@dataclass(frozen=True)
class Handover:
    id: str
    case_id: str
    from_holder: Holder
    to_holder: Holder
    purpose: str
    note: str | None
    corrections: tuple[str, ...]      # what to correct, for a return_for_correction
    proposed_by: str
    proposed_at: dt.datetime
    state: str = "proposed"
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    decision_note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "case_id": self.case_id, "from": str(self.from_holder), "to": str(self.to_holder),
                "purpose": self.purpose, "note": self.note, "corrections": list(self.corrections),
                "proposed_by": self.proposed_by, "proposed_at": fields.iso(self.proposed_at), "state": self.state,
                "decided_by": self.decided_by,
                "decided_at": fields.iso(self.decided_at) if self.decided_at else None,
                "decision_note": self.decision_note}


def _corrections(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise InvalidInput("a return_for_correction needs corrections: a non-empty list of what must be corrected",
                           field="corrections")
    return tuple(fields.required_text(v, f"corrections[{i}]", 1000) for i, v in enumerate(value))


def propose(case: CaseFile, body: Any, *, handover_id: str, actor: Actor, now: dt.datetime,
            pending: Handover | None) -> Handover:
    """Check a hand-over request from the file's current holder and record it as ``proposed``."""
    if case.status != "open":
        raise Conflict(f"case file {case.id} is {case.status}; reopen it before handing it over", status=case.status)
    if pending is not None and pending.state == "proposed":
        raise Conflict(f"case file {case.id} already has a hand-over waiting ({pending.id}, to {pending.to_holder}); "
                       "it must be confirmed, refused or cancelled first", pending=pending.id)
    if not acts_for(actor, case.holder):
        raise Forbidden(f"only the current holder of case file {case.id} ({case.holder}) may hand it over",
                        holder=str(case.holder))
    body = fields.obj(body, "body")
    fields.reject_unknown(body, _PROPOSE_KEYS)
    to = parse_holder(body.get("to"), "to")
    if to == case.holder:
        raise InvalidInput(f"case file {case.id} is already held by {to}", field="to")
    if to.kind not in ROUTES[case.holder.kind]:
        raise InvalidInput(f"a file held by {case.holder.kind} may be handed to {', '.join(ROUTES[case.holder.kind])}; "
                           f"not to {to.kind}", field="to", accepted=list(ROUTES[case.holder.kind]))
    purpose = fields.choice(body.get("purpose", "transfer"), "purpose", PURPOSES)
    corrections: tuple[str, ...] = ()
    if purpose == "return_for_correction":
        if case.holder.kind not in OFFICE_KINDS or to.kind != "officer":
            raise InvalidInput("only the case centre or legal review returns a file for correction, and only to an "
                               "officer", field="purpose")
        if to.id != case.responsible_officer:
            raise InvalidInput(f"a file is returned for correction to its responsible officer "
                               f"(officer:{case.responsible_officer}), not to {to}", field="to")
        corrections = _corrections(body.get("corrections"))
    elif body.get("corrections") is not None:
        raise InvalidInput("corrections are given only with purpose return_for_correction", field="corrections")
    return Handover(id=handover_id, case_id=case.id, from_holder=case.holder, to_holder=to, purpose=purpose,
                    note=fields.text(body.get("note"), "note", MAX_NOTE, required=False), corrections=corrections,
                    proposed_by=actor.id, proposed_at=now)


def _decide(h: Handover, requested: str, actor: Actor, now: dt.datetime, note: str | None) -> Handover:
    if requested not in HANDOVER_TRANSITIONS[h.state]:
        raise IllegalTransition("hand-over", h.state, requested, HANDOVER_TRANSITIONS[h.state])
    return replace(h, state=requested, decided_by=actor.id, decided_at=now, decision_note=note)


def confirm(h: Handover, case: CaseFile, *, actor: Actor, now: dt.datetime, note: str | None = None) -> tuple[
        Handover, CaseFile]:
    """The receiver takes the file: the hand-over is ``confirmed`` and the file moves to them."""
    if not acts_for(actor, h.to_holder):
        raise Forbidden(f"only the receiver ({h.to_holder}) confirms this hand-over; a {actor.role} "
                        f"({actor.id}) cannot", receiver=str(h.to_holder))
    decided = _decide(h, "confirmed", actor, now, fields.text(note, "note", MAX_NOTE, required=False))
    if case.id != h.case_id or case.holder != h.from_holder or case.status != "open":
        # The file moved or closed since the proposal (a bug or a race in the caller): refuse, don't guess.
        raise Conflict(f"case file {case.id} is no longer held by {h.from_holder} or not open; this hand-over is stale")
    returned = h.purpose == "return_for_correction"
    # Officer to officer is a reassignment: the receiver becomes responsible. A file returned for
    # correction goes back to whoever holds responsibility; it stays theirs.
    responsible = h.to_holder.id if h.from_holder.kind == h.to_holder.kind == "officer" else case.responsible_officer
    moved = replace(case, holder=h.to_holder, held_since=now, awaiting_correction=returned,
                    returns=case.returns + (1 if returned else 0), responsible_officer=responsible)
    return decided, moved


def refuse(h: Handover, *, actor: Actor, now: dt.datetime, reason: Any) -> Handover:
    """The receiver declines; the file stays where it is. A reason is required: the sender must know why."""
    if not acts_for(actor, h.to_holder):
        raise Forbidden(f"only the receiver ({h.to_holder}) may refuse this hand-over", receiver=str(h.to_holder))
    return _decide(h, "refused", actor, now, fields.required_text(reason, "reason", MAX_NOTE))


def cancel(h: Handover, *, actor: Actor, now: dt.datetime, reason: Any = None) -> Handover:
    """The sender withdraws the proposal (an admin may too, for one stuck with a receiver who left)."""
    if not (acts_for(actor, h.from_holder) or actor.role == "admin"):
        raise Forbidden(f"only the sender ({h.from_holder}) or an admin may cancel this hand-over",
                        sender=str(h.from_holder))
    return _decide(h, "cancelled", actor, now, fields.text(reason, "reason", MAX_NOTE, required=False))


def roles_for(holder: Holder) -> str:
    """The role a caller needs to act for ``holder`` (for the page and the 403 message)."""
    return HOLDER_ROLES[holder.kind]
