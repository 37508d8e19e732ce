"""Between the pure cores' values and the rows of :mod:`cases.tables`, both ways.

Rows read back from SQLite carry naive datetimes; they were written in UTC, so they are read as UTC
(``fields.moment``). A value read back must hash as it did when written: the evidence sign-off digest
and the case-version chain are recomputed from these rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from cases import fields
from cases.casefile import CaseContent, CaseFile, CaseItem, CaseVersion
from cases.evidence import Evidence, KeptFile, LossStatement, SignOff, Source
from cases.handover import Handover
from cases.holders import Holder, parse_holder

Row = Mapping[Any, Any]


def _t(value: Any) -> dt.datetime | None:
    return None if value is None else fields.moment(value)


def _tt(value: Any) -> dt.datetime:
    return fields.moment(value)


# ---- evidence -----------------------------------------------------------------------------------------
def evidence_values(ev: Evidence, *, file_path: str | None = None) -> dict[str, Any]:
    """The row of an item (``file_path``: where its file is, relative to the evidence directory)."""
    src, kept, loss = ev.source, ev.file, ev.loss
    return {
        "id": ev.id, "kind": ev.kind, "state": ev.state, "incident_id": ev.incident_id, "case_id": ev.case_id,
        "title": ev.title, "purpose": ev.purpose, "submitted_by": ev.submitted_by, "submitted_at": ev.submitted_at,
        "sign_officer": ev.sign_off.officer, "sign_badge": ev.sign_off.badge, "signed_by": ev.sign_off.signed_by,
        "signed_at": ev.sign_off.signed_at, "sign_digest": ev.sign_off.digest,
        "source_device": src.device if src else None, "source_device_type": src.device_type if src else None,
        "source_place": src.place if src else None, "source_owner": src.owner if src else None,
        "source_owner_contact": src.owner_contact if src else None, "source_lat": src.lat if src else None,
        "source_lon": src.lon if src else None,
        "pulled_at": ev.pulled_at, "pulled_place": ev.pulled_place, "recorded_from": ev.recorded_from,
        "recorded_to": ev.recorded_to, "expected_sha256": ev.expected_sha256, "reference_id": ev.reference_id,
        "file_sha256": kept.sha256 if kept else None, "file_size": kept.size if kept else None,
        "file_media_type": kept.media_type if kept else None, "file_name": kept.filename if kept else None,
        "file_path": file_path, "file_received_at": kept.received_at if kept else None,
        "file_received_by": kept.received_by if kept else None,
        "loss_condition": loss.condition if loss else None, "loss_statement": loss.statement if loss else None,
        "loss_responsible": loss.responsible if loss else None,
        "loss_responsible_role": loss.responsible_role if loss else None,
        "loss_recorded_by": loss.recorded_by if loss else None, "loss_signed_at": loss.signed_at if loss else None,
        "loss_statement_sha256": loss.statement_sha256 if loss else None,
    }


def evidence_from_row(r: Row) -> Evidence:
    source = None
    if r["source_device"] is not None:
        source = Source(device=r["source_device"], device_type=r["source_device_type"], place=r["source_place"],
                        owner=r["source_owner"], owner_contact=r["source_owner_contact"], lat=r["source_lat"],
                        lon=r["source_lon"])
    kept = None
    if r["file_sha256"] is not None:
        kept = KeptFile(sha256=r["file_sha256"], size=int(r["file_size"]), media_type=r["file_media_type"],
                        filename=r["file_name"], received_at=_tt(r["file_received_at"]),
                        received_by=r["file_received_by"])
    loss = None
    if r["loss_condition"] is not None:
        loss = LossStatement(condition=r["loss_condition"], statement=r["loss_statement"],
                             responsible=r["loss_responsible"], responsible_role=r["loss_responsible_role"],
                             recorded_by=r["loss_recorded_by"], signed_at=_tt(r["loss_signed_at"]),
                             statement_sha256=r["loss_statement_sha256"])
    return Evidence(
        id=r["id"], kind=r["kind"], incident_id=r["incident_id"], case_id=r["case_id"], title=r["title"],
        purpose=r["purpose"], submitted_by=r["submitted_by"], submitted_at=_tt(r["submitted_at"]),
        sign_off=SignOff(officer=r["sign_officer"], badge=r["sign_badge"], signed_by=r["signed_by"],
                         signed_at=_tt(r["signed_at"]), digest=r["sign_digest"]),
        state=r["state"], source=source, pulled_at=_t(r["pulled_at"]), pulled_place=r["pulled_place"],
        recorded_from=_t(r["recorded_from"]), recorded_to=_t(r["recorded_to"]),
        expected_sha256=r["expected_sha256"], reference_id=r["reference_id"], file=kept, loss=loss)


# ---- case files -----------------------------------------------------------------------------------------
def case_values(case: CaseFile, title: str) -> dict[str, Any]:
    return {"id": case.id, "number": case.number, "incident_id": case.incident_id, "title": title,
            "responsible_officer": case.responsible_officer, "status": case.status,
            "holder_kind": case.holder.kind, "holder_id": case.holder.id, "held_since": case.held_since,
            "created_by": case.created_by, "created_at": case.created_at, "version": case.version,
            "awaiting_correction": case.awaiting_correction, "returns": case.returns,
            "status_history": [dict(h) for h in case.status_history]}


def case_from_row(r: Row) -> CaseFile:
    return CaseFile(id=r["id"], number=r["number"], incident_id=r["incident_id"],
                    responsible_officer=r["responsible_officer"], status=r["status"],
                    holder=Holder(r["holder_kind"], r["holder_id"]), held_since=_tt(r["held_since"]),
                    created_by=r["created_by"], created_at=_tt(r["created_at"]), version=int(r["version"]),
                    awaiting_correction=bool(r["awaiting_correction"]), returns=int(r["returns"]),
                    status_history=tuple(r["status_history"] or ()))


def monitoring_row(r: Row) -> dict[str, Any]:
    """What :mod:`cases.monitoring` reads, plus the fields the board shows beside it."""
    return {k: r[k] for k in ("id", "number", "title", "status", "responsible_officer", "holder_kind", "holder_id",
                              "held_since", "awaiting_correction", "returns", "incident_id", "version")}


def version_values(v: CaseVersion) -> dict[str, Any]:
    return {"case_id": v.case_id, "version": v.version, "title": v.content.title, "summary": v.content.summary,
            "items": [i.to_dict() for i in v.content.items], "changed_by": v.changed_by, "changed_at": v.changed_at,
            "reason": v.reason, "changes": dict(v.changes), "prev_hash": v.prev_hash, "hash": v.hash}


def version_from_row(r: Row) -> CaseVersion:
    items = tuple(CaseItem(i["kind"], i["ref_id"], i.get("note")) for i in (r["items"] or ()))
    return CaseVersion(case_id=r["case_id"], version=int(r["version"]),
                       content=CaseContent(title=r["title"], summary=r["summary"], items=items),
                       changed_by=r["changed_by"], changed_at=_tt(r["changed_at"]), reason=r["reason"],
                       changes=dict(r["changes"] or {}), prev_hash=r["prev_hash"], hash=r["hash"])


# ---- hand-overs -----------------------------------------------------------------------------------------
def handover_values(h: Handover) -> dict[str, Any]:
    return {"id": h.id, "case_id": h.case_id, "from_holder": str(h.from_holder), "to_holder": str(h.to_holder),
            "purpose": h.purpose, "note": h.note, "corrections": list(h.corrections), "proposed_by": h.proposed_by,
            "proposed_at": h.proposed_at, "state": h.state, "decided_by": h.decided_by, "decided_at": h.decided_at,
            "decision_note": h.decision_note}


def handover_from_row(r: Row) -> Handover:
    return Handover(id=r["id"], case_id=r["case_id"], from_holder=parse_holder(r["from_holder"], "from"),
                    to_holder=parse_holder(r["to_holder"], "to"), purpose=r["purpose"], note=r["note"],
                    corrections=tuple(r["corrections"] or ()), proposed_by=r["proposed_by"],
                    proposed_at=_tt(r["proposed_at"]), state=r["state"], decided_by=r["decided_by"],
                    decided_at=_t(r["decided_at"]), decision_note=r["decision_note"])
