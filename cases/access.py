"""Who may see and act on which evidence item and case file (pure; the stores call it, the web
layer only reduces a token to an :class:`~cases.holders.Actor`).

* The offices (``case_centre``, ``legal_review``) and the supervisors (``admin``, ``dispatcher``)
  see every file and item. Supervisors read; they do not hold files.
* An officer sees the files they are responsible for, hold, or are asked to take (a hand-over to them
  waits), and the evidence they submitted or that belongs to such a file. They act only for
  themselves: an officer cannot open a file for another officer or act on another's file.
* Hand-over steps are decided by :mod:`cases.handover` (only the holder proposes, only the receiver
  confirms or refuses); corrections and status changes are for the holder, or an admin.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from cases.casefile import CaseFile
from cases.errors import Forbidden
from cases.evidence import Evidence
from cases.holders import Actor, acts_for

OFFICER = "officer"
SEE_ALL = frozenset({"admin", "dispatcher", "case_centre", "legal_review"})
SUPERVISORS = frozenset({"admin", "dispatcher"})
# Who may open a file: an officer (for themselves), the case centre or an admin (for any officer).
OPENERS = frozenset({"officer", "case_centre", "admin"})
# Who may complete an item (its file, or the statement that it was lost) besides its submitter.
EVIDENCE_KEEPERS = frozenset({"case_centre", "admin"})


def sees_all(actor: Actor) -> bool:
    return actor.role in SEE_ALL


def officer_on_case(actor: Actor, case: CaseFile, waiting_for: Collection[str] = ()) -> bool:
    """An officer responsible for, holding, or asked to take (``waiting_for``: pending receivers) the file."""
    if actor.role != OFFICER:
        return False
    me = f"officer:{actor.id}"
    return actor.id == case.responsible_officer or str(case.holder) == me or me in waiting_for


def check_read_case(actor: Actor, case: CaseFile, waiting_for: Collection[str] = ()) -> None:
    if sees_all(actor) or officer_on_case(actor, case, waiting_for):
        return
    raise Forbidden(f"case file {case.number} is not yours: an officer sees the files they are responsible for, "
                    "hold, or are asked to take", case_id=case.id)


def check_open(actor: Actor, case: CaseFile) -> None:
    if actor.role not in OPENERS:
        raise Forbidden(f"a {actor.role} cannot open case files; officers, the case centre and admins can")
    if actor.role == OFFICER and case.responsible_officer != actor.id:
        raise Forbidden(f"an officer opens case files for themselves: responsible_officer must be {actor.id!r}, "
                        f"not {case.responsible_officer!r}", field="responsible_officer")


def check_edit_case(actor: Actor, case: CaseFile, what: str) -> None:
    """Corrections and status changes: the current holder (or an admin)."""
    if actor.role == "admin" or acts_for(actor, case.holder):
        return
    raise Forbidden(f"only the current holder of case file {case.number} ({case.holder}) or an admin may {what} it",
                    holder=str(case.holder))


@dataclass(frozen=True)
class OfficerScope:
    """What an officer's case files reach: the files, their incidents, and the items their current
    versions list (a file reassigned to them brings its evidence with it, whoever registered it)."""

    case_ids: frozenset[str] = frozenset()
    incident_ids: frozenset[str] = frozenset()
    evidence_ids: frozenset[str] = frozenset()

    def covers(self, ev: Evidence) -> bool:
        return (ev.id in self.evidence_ids or (ev.case_id is not None and ev.case_id in self.case_ids)
                or (ev.incident_id is not None and ev.incident_id in self.incident_ids))


def check_read_evidence(actor: Actor, ev: Evidence, scope: OfficerScope | None) -> None:
    if sees_all(actor) or ev.submitted_by == actor.id or (scope is not None and scope.covers(ev)):
        return
    raise Forbidden(f"evidence {ev.id} is not yours: an officer sees the evidence they submitted and that of "
                    "their case files", evidence_id=ev.id)


def check_complete_evidence(actor: Actor, ev: Evidence) -> None:
    """Upload the file or record its loss: the submitter, the case centre or an admin."""
    if ev.submitted_by == actor.id or actor.role in EVIDENCE_KEEPERS:
        return
    raise Forbidden(f"only the officer who registered evidence {ev.id} ({ev.submitted_by}), the case centre or an "
                    "admin may add its file or statement of loss", evidence_id=ev.id)


def check_attach_to_case(actor: Actor, case: CaseFile) -> None:
    """Registering evidence for a file: someone who may edit it, or an officer on it."""
    if actor.role in ("admin", "case_centre") or acts_for(actor, case.holder) or officer_on_case(actor, case):
        return
    raise Forbidden(f"evidence for case file {case.number} is registered by an officer on the file, its holder, "
                    "the case centre or an admin", case_id=case.id)
