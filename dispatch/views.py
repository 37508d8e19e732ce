"""Rows as the API shows them: pure functions from database rows (mappings) to JSON-ready dicts.

Times become ISO 8601 UTC with ``Z``; the triage result is split into reasons and facts; the
incident's history, texts, duplicate links and transcripts are derived from its event rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from dispatch.model import iso


def incident_json(row: Mapping[str, Any], events: Sequence[Mapping[str, Any]] | None = None,
                  order_list: Sequence[dict[str, Any]] | None = None,
                  notes: Sequence[dict[str, Any]] | None = None) -> dict[str, Any]:
    """An incident; with ``events`` also its history, texts, duplicates and transcripts, with
    ``order_list`` its orders, with ``notes`` its field notes."""
    triage = row.get("triage") or {}
    out: dict[str, Any] = {
        "id": row["id"], "number": row["number"], "source": row["source"], "status": row["status"],
        "text": row["text"], "lang": row["lang"], "category": row["category"],
        "priority": row["priority"], "level": row["level"],
        "reasons": triage.get("reasons", []), "facts": triage.get("facts", {}),
        "triage": ({"category": triage.get("category"), "priority": triage.get("priority"),
                    "level": triage.get("level")} if triage else None),
        "priority_override": row["priority_override"],
        "location": {"text": row["location_text"], "lat": row["lat"], "lon": row["lon"]},
        "report": row["report"], "merged_into": row["merged_into"], "created_by": row["created_by"],
        "created_at": iso(row["created_at"]), "updated_at": iso(row["updated_at"]),
        "dispatched_at": iso(row["dispatched_at"]), "acknowledged_at": iso(row["acknowledged_at"]),
        "en_route_at": iso(row["en_route_at"]), "on_scene_at": iso(row["on_scene_at"]),
        "closed_at": iso(row["closed_at"]), "closed_by": row["closed_by"],
        "outcome": ({"code": row["outcome_code"], "note": row["outcome_note"], "by": row["closed_by"]}
                    if row["outcome_code"] else None),
        # The scorer's level (rows from before 0040 have it only in the triage result) beside the level
        # a dispatcher settled on (dispatch.closing).
        "machine_level": row["machine_level"] or triage.get("level"),
        "final_level": row["final_level"], "final_level_by": row["final_level_by"],
        "final_level_at": iso(row["final_level_at"]),
    }
    if events is not None:
        out["history"] = [{"at": iso(e["at"]), "from": e["data"].get("from"), "to": e["data"].get("to"),
                           "actor": e["actor"], "reason": e["data"].get("reason", "")}
                          for e in events if e["kind"] == "status"]
        out["texts"] = [{"at": iso(e["at"]), "text": e["data"]["text"], "source": e["data"].get("source"),
                         "actor": e["actor"]} for e in events if e["kind"] == "text"]
        out["duplicates"] = duplicate_links(events)
        out["transcripts"] = [e["data"]["transcript_id"] for e in events if e["kind"] == "transcript"]
    if order_list is not None:
        out["orders"] = list(order_list)
    if notes is not None:
        out["field_notes"] = list(notes)
    return out


def duplicate_links(events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The incident's live duplicate links: each link event adds one, an unlink event removes it."""
    dups: dict[str, dict[str, Any]] = {}
    for e in events:
        if e["kind"] != "duplicate":
            continue
        d = e["data"]
        if d.get("unlinked"):  # a dispatcher said "not a duplicate": the link is gone
            dups.pop(d["incident_id"], None)
            continue
        dups[d["incident_id"]] = {"incident_id": d["incident_id"], "score": d.get("score"),
                                  "evidence": d.get("evidence", []), "merged": d.get("merged", False)}
    return list(dups.values())


def unit_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "callsign": row["callsign"], "unit_type": row["unit_type"],
            "capabilities": list(row["capabilities"] or []), "status": row["status"],
            "location": {"lat": row["lat"], "lon": row["lon"], "at": iso(row["location_at"])},
            "shift": {"start": iso(row["shift_start"]), "end": iso(row["shift_end"])},
            "created_at": iso(row["created_at"]), "updated_at": iso(row["updated_at"])}


def unit_event_json(row: Any) -> dict[str, Any]:
    """One status change of a unit (a row of ``dispatch_unit_events``)."""
    return {"at": iso(row.at), "from": row.from_status, "to": row.to_status, "actor": row.actor,
            "source": row.source, "note": row.note}


def order_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "incident_id": row["incident_id"], "unit_id": row["unit_id"],
            "state": row["state"], "attempt": row["attempt"], "note": row["note"],
            "created_by": row["created_by"], "created_at": iso(row["created_at"]),
            "deadline_at": iso(row["deadline_at"]), "delivered_at": iso(row["delivered_at"]),
            "acknowledged_at": iso(row["acknowledged_at"]), "closed_at": iso(row["closed_at"]),
            "close_reason": row["close_reason"],
            # What the service recommended when the order was made (null on orders from before 0040).
            "recommendation": ({"recommended": list(row["recommended"]), "rank": row["recommended_rank"],
                                "verdict": row["verdict"]} if row["verdict"] is not None else None)}


def without_ranking(order: dict[str, Any]) -> dict[str, Any]:
    """An order as an officer sees it: the ranking of other units is the dispatchers' business."""
    return {k: v for k, v in order.items() if k != "recommendation"}


def field_note_json(row: Mapping[str, Any], incident_id: str | None = None) -> dict[str, Any]:
    """A note from the field; ``photo`` (with its URL) once the whole file is kept."""
    iid = incident_id or row["incident_id"]
    photo = None
    if row["photo_path"]:
        photo = {"url": f"/api/incidents/{iid}/notes/{row['id']}/photo", "content_type": row["photo_type"],
                 "size": row["photo_size"], "sha256": row["photo_sha256"], "at": iso(row["photo_at"])}
    return {"id": row["id"], "incident_id": iid, "unit_id": row["unit_id"], "author": row["author"],
            "text": row["text"], "created_at": iso(row["created_at"]), "photo": photo}


def order_message(order: dict[str, Any], inc: Mapping[str, Any],
                  committed_at: dt.datetime | None = None) -> dict[str, Any]:
    """What the officer's phone gets: the order plus what they need to go (no internal scoring data).

    ``committed_at`` (live pushes only) is the instant the order became durable: taken right after
    its transaction committed, before anything is sent. ``created_at`` is taken when that
    transaction starts."""
    extra = {"committed_at": iso(committed_at)} if committed_at is not None else {}
    return {**without_ranking(order), **extra, "incident": unit_incident(inc)}


def unit_incident(inc: Mapping[str, Any]) -> dict[str, Any]:
    """The incident as an officer's phone shows it with an order. ``updated_at`` orders the versions:
    a phone keeps the newest it has seen (an order re-sent from the stream carries the text of its
    push)."""
    return {"id": inc["id"], "number": inc["number"], "category": inc["category"], "priority": inc["priority"],
            "level": inc["level"], "text": inc["text"][-2000:], "updated_at": iso(inc.get("updated_at")),
            "location": {"text": inc["location_text"], "lat": inc["lat"], "lon": inc["lon"]}}


def alert_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """An alert as the console gets it, live or after a reload: its details beside the stored fields."""
    return {**(row.get("details") or {}),
            "id": row["id"], "kind": row["kind"], "severity": row["severity"],
            "incident_id": row["incident_id"], "order_id": row["order_id"], "message": row["message"],
            "message_zh": row.get("message_zh"), "created_at": iso(row["created_at"])}
