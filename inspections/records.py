"""Rows of ``inspections.tables`` to the pure core's values and to the API's JSON, and back.

Pure: no database access. The store reads rows and hands them here, so the shape the API shows is
decided in one place, and the chain (``inspections.chain``) always works on the values it defines.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from common.times import as_utc, iso_exact
from inspections.access import BUILDING_MANAGER, Viewer, can_see_building
from inspections.buildings import Building
from inspections.chain import (
    ACTIONS,
    OPEN_STATES,
    Answer,
    Decision,
    Escalation,
    Inspection,
    PhotoRef,
    SelfCheck,
    actions_from,
)
from inspections.overdue import step_due
from inspections.rules import StepDeadlines

iso = iso_exact  # the case files' format: inspections share their journal

# Not a step of the chain: the fire police open a dispatch incident for the hazard, which then
# records link_incident. Offered wherever link_incident is.
CREATE_INCIDENT = "create_incident"


# ---- buildings -------------------------------------------------------------------------------------------
def building_model(row: Mapping[str, Any]) -> Building:
    return Building(id=row["id"], address=row["address"], lat=row["lat"], lon=row["lon"],
                    building_type=row["building_type"], floors_above=row["floors_above"],
                    floors_below=row["floors_below"], grid_id=row["grid_id"], manager_id=row["manager_id"],
                    manager_name=row["manager_name"], manager_phone=row["manager_phone"],
                    created_at=as_utc(row["created_at"]), name=row["name"], building_code=row["building_code"],
                    version=row["version"])


def building_values(b: Building) -> dict[str, Any]:
    """The columns of ``inspection_buildings`` that the record itself decides."""
    return {"id": b.id, "version": b.version, "name": b.name, "building_code": b.building_code,
            "address": b.address, "lat": b.lat, "lon": b.lon, "building_type": b.building_type,
            "floors_above": b.floors_above, "floors_below": b.floors_below, "grid_id": b.grid_id,
            "manager_id": b.manager_id, "manager_name": b.manager_name, "manager_phone": b.manager_phone}


def record_of(b: Building | Mapping[str, Any]) -> dict[str, Any]:
    """The record in the shape a registration or a correction is sent in (what a version keeps)."""
    get = (lambda k: getattr(b, k)) if isinstance(b, Building) else b.__getitem__
    return {"name": get("name"), "building_code": get("building_code"), "address": get("address"),
            "lat": get("lat"), "lon": get("lon"), "building_type": get("building_type"),
            "floors_above": get("floors_above"), "floors_below": get("floors_below"), "grid_id": get("grid_id"),
            "manager": {"id": get("manager_id"), "name": get("manager_name"), "phone": get("manager_phone")}}


def building_json(row: Mapping[str, Any], deadlines: StepDeadlines | None = None,
                  now: dt.datetime | None = None) -> dict[str, Any]:
    """A building as the API shows it: the record plus who registered and last corrected it."""
    out: dict[str, Any] = {"id": row["id"], "version": row["version"], **record_of(row),
                           "created_at": iso(row["created_at"]), "created_by": row["created_by"],
                           "updated_at": iso(row["updated_at"]), "updated_by": row["updated_by"],
                           "last_self_check_at": iso(row["last_self_check_at"])}
    if deadlines is not None and now is not None:
        last = row["last_self_check_at"]
        due_at = None if last is None else as_utc(last) + deadlines.self_check_every
        out["self_check_due"] = due_at is None or now > due_at
        out["self_check_due_at"] = iso(due_at)
    return out


def version_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"version": row["version"], "record": row["record"], "changed": row["changed"], "by": row["actor"],
            "at": iso(row["at"])}


# ---- inspections ---------------------------------------------------------------------------------------
def self_check_model(row: Mapping[str, Any]) -> SelfCheck:
    answers = tuple(Answer(a["item"], a["result"], a.get("note"), tuple(a.get("photos") or ()))
                    for a in row["answers"])
    photos = tuple(PhotoRef(p["sha256"], int(p["size"]), p.get("name")) for p in row["photos"])
    return SelfCheck(row["round"], answers, photos, row["note"], row["submitted_by"], as_utc(row["submitted_at"]))


def self_check_values(inspection_id: str, check: SelfCheck) -> dict[str, Any]:
    return {"inspection_id": inspection_id, "round": check.round,
            "answers": [{"item": a.item, "result": a.result, "note": a.note, "photos": list(a.photos)}
                        for a in check.answers],
            "photos": [{"sha256": p.sha256, "size": p.size, "name": p.name} for p in check.photos],
            "note": check.note, "submitted_by": check.submitted_by, "submitted_at": check.submitted_at}


def decision_model(row: Mapping[str, Any]) -> Decision:
    return Decision(row["seq"], row["action"], row["actor"], row["role"], as_utc(row["at"]), row["from_state"],
                    row["to_state"], dict(row["details"] or {}))


def decision_values(inspection_id: str, d: Decision, audit_seq: int) -> dict[str, Any]:
    return {"inspection_id": inspection_id, "seq": d.seq, "action": d.action, "actor": d.actor, "role": d.role,
            "at": d.at, "from_state": d.from_state, "to_state": d.to_state, "details": dict(d.details),
            "audit_seq": audit_seq}


def inspection_model(row: Mapping[str, Any], checks: Iterable[Mapping[str, Any]],
                     decisions: Iterable[Mapping[str, Any]], task: Mapping[str, Any] | None) -> Inspection:
    escalation = None if task is None else Escalation(task["hazard"], task["severity"], task["escalated_by"],
                                                      as_utc(task["escalated_at"]))
    return Inspection(
        id=row["id"], building_id=row["building_id"], state=row["state"], state_since=as_utc(row["state_since"]),
        self_checks=tuple(self_check_model(c) for c in sorted(checks, key=lambda c: c["round"])),
        decisions=tuple(decision_model(d) for d in sorted(decisions, key=lambda d: d["seq"])),
        escalation=escalation, incident_id=None if task is None else task["incident_id"],
        result=None if task is None else task["result"])


def my_actions(state: str, incident_id: str | None, viewer: Viewer, building: Mapping[str, Any]) -> list[str]:
    """The steps ``viewer`` may take now (what the page offers), in the chain's order."""
    if not can_see_building(viewer, building):
        return []
    out = [a for a in actions_from(state) if viewer.role in ACTIONS[(state, a)][1]]
    if "link_incident" in out:
        if incident_id:
            out.remove("link_incident")
        else:
            out.insert(out.index("link_incident") + 1, CREATE_INCIDENT)
    return out


def can_submit(viewer: Viewer, building: Mapping[str, Any], open_state: str | None) -> bool:
    """A self-check may be started: the building's own manager, and no inspection of it is open."""
    return viewer.role == BUILDING_MANAGER and can_see_building(viewer, building) and open_state is None


def inspection_json(insp: Inspection, *, building: Mapping[str, Any], viewer: Viewer, deadlines: StepDeadlines,
                    now: dt.datetime, audit_seqs: Sequence[int] = ()) -> dict[str, Any]:
    """One inspection in full: every self-check round, every decision (with its audit entry), the task,
    the current step's deadline and what the caller may do next."""
    out = insp.to_dict()
    for d, seq in zip(out["decisions"], audit_seqs, strict=False):
        d["audit_seq"] = seq
    due = step_due({"id": insp.id, "building_id": insp.building_id, "state": insp.state,
                    "state_since": insp.state_since}, now, deadlines)
    out["due"] = None if due is None else due.to_dict()
    out["my_actions"] = my_actions(insp.state, insp.incident_id, viewer, building)
    return out


def inspection_summary(row: Mapping[str, Any], building: Mapping[str, Any], incident_id: str | None, *,
                       viewer: Viewer, deadlines: StepDeadlines, now: dt.datetime) -> dict[str, Any]:
    """One inspection in a list: where it stands, whom it waits for and since when."""
    due = step_due(row, now, deadlines)
    return {"id": row["id"], "building_id": row["building_id"],
            "building": {"name": building["name"], "address": building["address"], "grid_id": building["grid_id"]},
            "state": row["state"], "state_since": iso(row["state_since"]), "round": row["round"],
            "open": row["state"] in OPEN_STATES, "waiting_for": None if due is None else due.waiting_for,
            "due": None if due is None else due.to_dict(), "incident_id": incident_id,
            "created_at": iso(row["created_at"]), "closed_at": iso(row["closed_at"]),
            "my_actions": my_actions(row["state"], incident_id, viewer, building)}


def photo_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "building_id": row["building_id"], "sha256": row["sha256"], "size": row["size"],
            "content_type": row["content_type"], "name": row["name"], "uploaded_by": row["uploaded_by"],
            "uploaded_at": iso(row["uploaded_at"]),
            "url": f"/api/buildings/{row['building_id']}/photos/{row['sha256']}"}
