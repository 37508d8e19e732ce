"""Incidents: created from a call, the radio or the kiosk, scored by the triage, amended, moved
through their states; closing one settles its orders (:mod:`dispatch.orders`).

Scoring runs ``analytics.triage.triage`` in the executor; when it fails or is absent the incident
stays ``new`` with no priority and an alert asks a dispatcher to rate it: nothing is invented.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from common.ids import new_id
from dispatch import alerts, duplicates, orders, views
from dispatch.closing import (
    ASSIGNED_ORDER_STATES,
    confirm_level,
    level_after_rescore,
    outcome_columns,
    outcome_for,
    settle_level,
)
from dispatch.context import Context
from dispatch.errors import Conflict, Forbidden, InvalidInput
from dispatch.intervals import summarize
from dispatch.model import (
    ENDED_INCIDENT_STATES,
    INCIDENT_TRANSITIONS,
    LEVELS,
    OPEN_ORDER_STATES,
    as_utc,
    check_choice,
    check_coords,
    check_lang,
    check_merge,
    check_priority,
    check_source,
    check_text,
    check_transition,
    iso,
    level_for_priority,
    stamps_for,
    utcnow,
)
from dispatch.tables import incidents
from dispatch.tables import orders as order_rows

log = logging.getLogger("jingyun.dispatch")


async def _score(ctx: Context, text: str, lang: str | None, source: str,
                 fields: dict[str, Any] | None) -> dict[str, Any] | None:
    """The triage result as a dict, or None when there is no scorer, it failed or it answered nonsense."""
    if ctx.triage is None:
        return None
    call = functools.partial(ctx.triage, text, lang=lang, source=source, fields=fields)
    try:
        result = await asyncio.get_running_loop().run_in_executor(ctx.executor, call)
        data: dict[str, Any] = result.to_dict() if hasattr(result, "to_dict") else dict(result)
    except Exception:
        log.exception("triage failed; the incident is kept unscored for a dispatcher to rate")
        return None
    prio = data.get("priority")
    if not isinstance(prio, int) or not 0 <= prio <= 10 or data.get("level") not in LEVELS:
        log.error("triage returned priority %r level %r; ignored", prio, data.get("level"))
        return None
    return data


def _report_fields(report: Any) -> dict[str, Any] | None:
    """A kiosk report's form fields (time, place, amount): evidence for the scorer."""
    if isinstance(report, dict) and isinstance(report.get("fields"), dict):
        return report["fields"]
    return None


async def create(ctx: Context, *, text: str, source: str, actor: str, lang: str | None = None,
                 location_text: str | None = None, lat: float | None = None, lon: float | None = None,
                 report: dict[str, Any] | None = None, created_at: dt.datetime | None = None) -> dict[str, Any]:
    """Store a new incident: score it, audit it, link possible duplicates, tell the consoles."""
    store = ctx.store
    text = check_text(text, "text", max_chars=ctx.settings.max_text_chars)
    check_source(source, "call, radio or kiosk")
    check_lang(lang)
    if location_text is not None:
        location_text = check_text(location_text, "location_text", max_chars=500, required=False) or None
    la, lo = check_coords(lat, lon)
    if report is not None and not isinstance(report, dict):
        raise InvalidInput("report must be a JSON object", field="report")
    now = utcnow()
    created = as_utc(created_at) if created_at else now
    assert created is not None
    scored = await _score(ctx, text, lang, source, _report_fields(report))
    if scored:
        loc = (scored.get("facts") or {}).get("location") or {}
        if la is None and isinstance(loc.get("lat"), int | float) and isinstance(loc.get("lon"), int | float):
            la, lo = float(loc["lat"]), float(loc["lon"])
        if not location_text and isinstance(loc.get("text"), str) and loc["text"]:
            location_text = loc["text"]
    incident_id = new_id()
    number = await _next_number(ctx, created.strftime("%Y%m%d"), incident_id)
    row = {
        "id": incident_id, "number": number, "source": source, "text": text,
        "lang": (scored or {}).get("lang") or lang, "category": (scored or {}).get("category"),
        "priority": (scored or {}).get("priority"), "level": (scored or {}).get("level"),
        "triage": scored, "machine_level": (scored or {}).get("level"), "priority_override": None,
        "location_text": location_text, "lat": la, "lon": lo,
        "report": report, "status": "new", "merged_into": None, "created_by": actor,
        "created_at": created, "updated_at": now,
    }
    async with store.tx() as conn:
        await conn.execute(incidents.insert().values(**row))
        await store.incident_event(conn, incident_id, "status", actor, {"from": None, "to": "new"}, now)
        await store.incident_event(conn, incident_id, "text", actor, {"text": text, "source": source}, now)
        if scored:
            await conn.execute(incidents.update().where(incidents.c.id == incident_id).values(status="triaged"))
            await store.incident_event(conn, incident_id, "status", "triage",
                                       {"from": "new", "to": "triaged",
                                        "reason": f"scored {scored['level']} ({scored['priority']})"}, now)
        await store.audit(conn, actor, "incident.create", f"incident:{incident_id}", None,
                          {k: v for k, v in row.items() if k not in ("created_at", "updated_at")})
    if not scored:
        await alerts.raise_alert(ctx, "triage_unavailable", "warning",
                                 f"incident {number} could not be scored automatically; set its priority",
                                 message_zh=f"警情 {number} 无法自动评级；请设置优先级", incident_id=incident_id)
    incident = await store.get_incident(incident_id)
    await ctx.console.publish({"type": "incident", "action": "created", "incident": incident})
    await duplicates.link(ctx, incident)
    if ctx.settings.auto_dispatch_p1 and incident["level"] == "P1":
        await orders.auto_dispatch(ctx, incident_id)
    return await store.get_incident(incident_id)


async def _next_number(ctx: Context, day: str, incident_id: str) -> str:
    """``JY-YYYYMMDD-NNNNN`` from a Redis counter, re-seeded from SQL if Redis lost its count."""
    try:
        for _ in range(5):
            number = f"JY-{day}-{await ctx.bus.next_incident_number(day):05d}"
            async with ctx.store.engine.connect() as conn:
                taken = (await conn.execute(sa.select(incidents.c.id).where(incidents.c.number == number))).first()
                if taken is None:
                    return number
                top = (await conn.execute(sa.select(sa.func.max(incidents.c.number))
                                          .where(incidents.c.number.like(f"JY-{day}-%")))).scalar()
            if top and top.rsplit("-", 1)[1].isdigit():
                await ctx.bus.raise_incident_number(day, int(top.rsplit("-", 1)[1]))
    except Exception:
        log.exception("incident counter unavailable; numbering by id")
    return f"JY-{day}-X{incident_id[:8].upper()}"  # still unique, still recorded


async def add_text(ctx: Context, incident_id: str, *, text: str, source: str, actor: str) -> dict[str, Any]:
    """Append text (a later call, a radio update, a transcript) and score the whole text again."""
    store = ctx.store
    text = check_text(text, "text", max_chars=ctx.settings.max_text_chars)
    check_source(source, "call or radio")
    current = await store.incident_row(incident_id)
    if current["status"] in ENDED_INCIDENT_STATES:
        raise Conflict(f"incident {current['number']} is {current['status']}; text can only be added "
                       "to open incidents", current=current["status"])
    full = f"{current['text']}\n{text}"
    if len(full) > ctx.settings.max_text_chars:
        raise InvalidInput(f"the incident text would grow to {len(full)} characters; at most "
                           f"{ctx.settings.max_text_chars} are accepted", field="text")
    # A kiosk report's form fields stay evidence when text is added later.
    scored = await _score(ctx, full, current["lang"], current["source"], _report_fields(current.get("report")))
    values: dict[str, Any] = {"text": full, "updated_at": utcnow()}
    if scored:
        values.update(triage=scored, category=scored["category"], **level_after_rescore(current, scored["level"]))
        if not current["priority_override"]:
            values.update(priority=scored["priority"], level=scored["level"])
    async with store.tx() as conn:
        await conn.execute(incidents.update().where(incidents.c.id == incident_id).values(**values))
        await store.incident_event(conn, incident_id, "text", actor, {"text": text, "source": source})
        if scored and current["status"] == "new":
            await conn.execute(incidents.update().where(incidents.c.id == incident_id).values(status="triaged"))
            await store.incident_event(conn, incident_id, "status", "triage", {"from": "new", "to": "triaged"})
        await store.audit(conn, actor, "incident.add_text", f"incident:{incident_id}",
                          {"priority": current["priority"], "level": current["level"],
                           "category": current["category"]},
                          {"text": text, "source": source, "priority": values.get("priority", current["priority"]),
                           "level": values.get("level", current["level"]),
                           "category": values.get("category", current["category"])})
    incident = await store.get_incident(incident_id)
    await ctx.console.publish({"type": "incident", "action": "updated", "incident": incident})
    await tell_units(ctx, incident_id)
    return incident


async def tell_units(ctx: Context, incident_id: str) -> None:
    """Every unit with an open order for the incident gets what the caller added (text, level, place):
    an officer on the way must not miss "he has a knife" said after the dispatch. A notice on the unit
    channel reaches the phones connected now; a phone that reconnects gets the latest with
    :func:`unit_updates`."""
    row = await ctx.store.incident_row(incident_id)
    async with ctx.store.engine.connect() as conn:
        held = (await conn.execute(sa.select(order_rows.c.id, order_rows.c.unit_id).where(
            order_rows.c.incident_id == incident_id, order_rows.c.state.in_(OPEN_ORDER_STATES)))).all()
    for order_id, unit_id in held:
        try:
            await ctx.bus.notify_unit(unit_id, "incident", order_id, incident=views.unit_incident(row))
        except Exception as exc:  # Redis down: the phone gets the latest when it reconnects
            log.warning("could not tell unit %s of incident %s's update: %s", unit_id, incident_id, exc)


async def unit_updates(ctx: Context, unit_id: str) -> list[dict[str, Any]]:
    """For a phone that (re)connects: the current incident of each of its open orders, as the
    ``order_incident`` messages it would have got live."""
    async with ctx.store.engine.connect() as conn:
        rows = (await conn.execute(sa.select(order_rows.c.id.label("held_order_id"), incidents).join(
            incidents, incidents.c.id == order_rows.c.incident_id).where(
            order_rows.c.unit_id == unit_id, order_rows.c.state.in_(OPEN_ORDER_STATES)))).all()
    return [{"type": "order_incident", "order_id": r.held_order_id, "incident": views.unit_incident(dict(r._mapping))}
            for r in rows]


async def link_transcript(ctx: Context, incident_id: str, *, transcript_id: str, actor: str,
                          text: str | None = None) -> dict[str, Any]:
    """Link a voice transcript to an incident (and, when given, add its text)."""
    store = ctx.store
    check_text(transcript_id, "transcript_id", max_chars=64)
    row = await store.incident_row(incident_id)
    async with store.tx() as conn:
        await store.incident_event(conn, incident_id, "transcript", actor, {"transcript_id": transcript_id})
        await store.audit(conn, actor, "incident.link_transcript", f"incident:{incident_id}", None,
                          {"transcript_id": transcript_id})
    if text and row["status"] not in ENDED_INCIDENT_STATES:
        return await add_text(ctx, incident_id, text=text, source="voice", actor=actor)
    incident = await store.get_incident(incident_id)
    await ctx.console.publish({"type": "incident", "action": "updated", "incident": incident})
    return incident


async def override_priority(ctx: Context, incident_id: str, *, priority: int, reason: str,
                            actor: str) -> dict[str, Any]:
    """A dispatcher sets the priority by hand; the reason is kept and later re-scoring won't undo it."""
    store = ctx.store
    priority = check_priority(priority)
    reason = check_text(reason, "reason", max_chars=1000)
    row = await store.incident_row(incident_id)
    level = level_for_priority(priority)
    override = {"priority": priority, "level": level, "reason": reason, "by": actor, "at": iso(utcnow()),
                "previous": {"priority": row["priority"], "level": row["level"]}}
    now = utcnow()
    async with store.tx() as conn:
        # The dispatcher's own level is the final level (dispatch.closing), whatever was recorded before.
        values: dict[str, Any] = {"priority": priority, "level": level, "priority_override": override,
                                  "updated_at": now, "final_level": level, "final_level_by": actor,
                                  "final_level_at": now}
        if row["status"] == "new":
            values["status"] = "triaged"
            await store.incident_event(conn, incident_id, "status", actor,
                                       {"from": "new", "to": "triaged", "reason": "priority set by dispatcher"})
        await conn.execute(incidents.update().where(incidents.c.id == incident_id).values(**values))
        await store.incident_event(conn, incident_id, "priority", actor, override)
        await store.audit(conn, actor, "incident.override_priority", f"incident:{incident_id}",
                          {"priority": row["priority"], "level": row["level"]},
                          {"priority": priority, "level": level, "reason": reason})
    incident = await store.get_incident(incident_id)
    await ctx.console.publish({"type": "incident", "action": "updated", "incident": incident})
    await tell_units(ctx, incident_id)  # the officer on the way sees the level the dispatcher set
    return incident


async def confirm_priority_level(ctx: Context, incident_id: str, *, actor: str) -> dict[str, Any]:
    """A dispatcher confirms the level shown: it is recorded as the final level beside the scorer's."""
    store = ctx.store
    now = utcnow()
    async with store.tx() as conn:
        row = await store.incident_row(incident_id, conn, lock=True)
        values = confirm_level(row, actor, now)
        await conn.execute(incidents.update().where(incidents.c.id == incident_id).values(updated_at=now, **values))
        await store.incident_event(conn, incident_id, "priority", actor,
                                   {"confirmed": True, "level": row["level"], "priority": row["priority"]}, now)
        await store.audit(conn, actor, "incident.confirm_level", f"incident:{incident_id}",
                          {"final_level": row["final_level"], "machine_level": row["machine_level"]},
                          {"final_level": row["level"], "priority": row["priority"]})
    incident = await store.get_incident(incident_id)
    await ctx.console.publish({"type": "incident", "action": "updated", "incident": incident})
    return incident


async def set_status(ctx: Context, incident_id: str, status: str, *, actor: str, reason: str = "",
                     merged_into: str | None = None, outcome_code: Any = None,
                     outcome_note: Any = None) -> dict[str, Any]:
    """Move an incident through its states; closing or cancelling settles its open orders.

    Closing records the outcome (``outcome_code`` from the outcome table and ``outcome_note``, both
    required) and the final level; cancelling or merging may record an outcome (dispatch.closing)."""
    store = ctx.store
    check_choice(status, INCIDENT_TRANSITIONS, "status")
    check_merge(incident_id, status, merged_into)
    if not isinstance(reason, str):
        raise InvalidInput("reason must be a string", field="reason")
    outcome = outcome_for(status, outcome_code, outcome_note, ctx.outcomes)
    if status == "merged":
        assert merged_into is not None
        await store.incident_row(merged_into)
    now = utcnow()
    settled: list[dict[str, Any]] = []
    async with store.tx() as conn:
        row = await store.incident_row(incident_id, conn, lock=True)
        check_transition("incident", INCIDENT_TRANSITIONS, row["status"], status)
        values: dict[str, Any] = {"status": status, "updated_at": now, **stamps_for(status, row, now),
                                  **outcome_columns(outcome, status, actor)}
        if status == "closed":
            values.update(settle_level(row, actor, now))
        if merged_into:
            values["merged_into"] = merged_into
        await conn.execute(incidents.update().where(incidents.c.id == incident_id).values(**values))
        await store.incident_event(conn, incident_id, "status", actor,
                                   {"from": row["status"], "to": status, "reason": reason,
                                    **({"into": merged_into} if merged_into else {}),
                                    **({"outcome_code": outcome[0].code} if outcome else {})}, now)
        if merged_into:
            await store.incident_event(conn, merged_into, "duplicate", actor,
                                       {"incident_id": incident_id, "merged": True, "reason": reason}, now)
        if status in ENDED_INCIDENT_STATES:
            settled = await orders.settle_for_incident(ctx, conn, incident_id, status, actor, now)
        after: dict[str, Any] = {"status": status, "reason": reason, "merged_into": merged_into}
        if outcome:
            after.update(outcome_code=outcome[0].code, outcome_note=outcome[1])
        if "final_level" in values:
            after.update(final_level=values["final_level"], machine_level=row["machine_level"])
        await store.audit(conn, actor, "incident.status", f"incident:{incident_id}", {"status": row["status"]}, after)
    await orders.after_settle(ctx, settled)
    incident = await store.get_incident(incident_id)
    await ctx.console.publish({"type": "incident", "action": "status", "incident": incident})
    return incident


async def search(ctx: Context, *, status: Sequence[str] | None = None, since: dt.datetime | None = None,
                 until: dt.datetime | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Incidents newest first, optionally filtered by status and creation time."""
    for s in status or ():
        check_choice(s, INCIDENT_TRANSITIONS, "status", wording="among")
    q = sa.select(incidents).order_by(incidents.c.created_at.desc())
    if status:
        q = q.where(incidents.c.status.in_(list(status)))
    if since:
        q = q.where(incidents.c.created_at >= since)
    if until:
        q = q.where(incidents.c.created_at < until)
    q = q.limit(min(limit or ctx.settings.max_list, ctx.settings.max_list))
    async with ctx.store.engine.connect() as conn:
        rows = (await conn.execute(q)).all()
    return [views.incident_json(dict(r._mapping)) for r in rows]


async def between(ctx: Context, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """Every incident created in [start, end), oldest first (analysis and the daily brief)."""
    async with ctx.store.engine.connect() as conn:
        rows = (await conn.execute(sa.select(incidents).where(incidents.c.created_at >= start,
                                                              incidents.c.created_at < end)
                                   .order_by(incidents.c.created_at))).all()
    return [views.incident_json(dict(r._mapping)) for r in rows]


async def response_intervals(ctx: Context, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    """Per-incident response intervals and their p50/p90 for incidents created in [start, end)."""
    result = summarize(await between(ctx, start, end))
    result.update(start=iso(start), end=iso(end))
    return result


async def close(ctx: Context, incident_id: str, *, outcome_code: Any, note: Any, actor: str,
                unit_id: str | None = None, reason: str = "") -> dict[str, Any]:
    """Close an incident with its outcome. ``unit_id``: the officer's unit, which must be one the incident
    was given to (403 otherwise, before anything is read or checked); None for dispatchers."""
    if unit_id is not None and not await unit_assigned(ctx, incident_id, unit_id):
        raise Forbidden(f"only an officer of a unit this incident was given to may close it; your unit "
                        f"({unit_id}) holds no order for incident {incident_id}")
    return await set_status(ctx, incident_id, "closed", actor=actor, reason=reason, outcome_code=outcome_code,
                            outcome_note=note)


async def unit_assigned(ctx: Context, incident_id: str, unit_id: str) -> bool:
    """Whether the incident was given to the unit and the unit did not lose it (an order offered,
    acknowledged or completed): what lets an officer close it and write its field notes."""
    return await unit_has_order_for(ctx, incident_id, unit_id, states=ASSIGNED_ORDER_STATES)


async def unit_has_order_for(ctx: Context, incident_id: str, unit_id: str,
                             states: Sequence[str] | None = None) -> bool:
    """Whether the unit holds or held an order for the incident (in one of ``states``; any state when
    None: what lets an officer read the incident)."""
    q = sa.select(order_rows.c.id).where(order_rows.c.incident_id == incident_id, order_rows.c.unit_id == unit_id)
    if states is not None:
        q = q.where(order_rows.c.state.in_(states))
    async with ctx.store.engine.connect() as conn:
        row = (await conn.execute(q.limit(1))).first()
    return row is not None
