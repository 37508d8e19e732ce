"""Possible duplicates: a new incident is linked to the likeliest of the open incidents near it in
time and place (scored by ``analytics.duplicates.find_duplicates``), and a dispatcher may unlink them.

Bounded however many incidents are open (reliability defect D7): SQL keeps only open incidents inside
the time window and inside a box around the new one's coordinates (plus those without coordinates,
which may still match on a plate, phone or place), at most ``DUPLICATE_MAX_CANDIDATES`` of them,
nearest in time first; the best ``DUPLICATE_MAX_LINKS`` matches are written in one transaction.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from typing import Any

import sqlalchemy as sa

from dispatch.context import Context
from dispatch.errors import Conflict, InvalidInput, NotFound
from dispatch.model import OPEN_INCIDENT_STATES, as_utc, utcnow
from dispatch.recommend import bounding_box
from dispatch.tables import incident_events, incidents

log = logging.getLogger("jingyun.dispatch")

DUPLICATE_MAX_CANDIDATES = 500
DUPLICATE_MAX_LINKS = 10


async def link(ctx: Context, incident: dict[str, Any]) -> None:
    """Link the new incident to its likeliest duplicates among the open ones nearby."""
    if ctx.find_duplicates is None:
        return
    intel = ctx.intel_settings
    max_minutes = float(getattr(intel, "duplicate_max_minutes", 30.0))
    max_meters = float(getattr(intel, "duplicate_max_meters", 500.0))
    created = as_utc(dt.datetime.fromisoformat(incident["created_at"].replace("Z", "+00:00")))
    assert created is not None
    window = dt.timedelta(minutes=max_minutes)
    lat, lon = incident["location"]["lat"], incident["location"]["lon"]
    c = incidents.c
    q = (sa.select(c.id, c.text, c.category, c.lat, c.lon, c.created_at)
         .where(c.status.in_(OPEN_INCIDENT_STATES), c.created_at >= max(utcnow(), created) - window,
                c.created_at <= created + window, c.id != incident["id"]))
    if lat is not None and lon is not None:
        lat_lo, lat_hi, lon_lo, lon_hi = bounding_box(lat, lon, max_meters)
        near = sa.and_(c.lat.between(lat_lo, lat_hi),
                       c.lon.between(lon_lo, lon_hi) if lon_lo is not None else sa.true())
        q = q.where(sa.or_(c.lat.is_(None), c.lon.is_(None), near))
    q = q.order_by(c.created_at.desc()).limit(DUPLICATE_MAX_CANDIDATES)
    async with ctx.store.engine.connect() as conn:
        rows = (await conn.execute(q)).all()
    if not rows:
        return
    candidate = {"id": incident["id"], "text": incident["text"], "category": incident["category"],
                 "lat": lat, "lon": lon, "created_at": created}
    others = [{"id": r.id, "text": r.text, "category": r.category, "lat": r.lat, "lon": r.lon,
               "created_at": as_utc(r.created_at)} for r in rows]
    call = functools.partial(ctx.find_duplicates, candidate, others, max_minutes=max_minutes,
                             max_meters=max_meters,
                             min_similarity=float(getattr(intel, "duplicate_min_similarity", 0.45)))
    try:  # text similarity over the candidates: off the event loop
        matches = await asyncio.get_running_loop().run_in_executor(ctx.executor, call)
    except Exception:
        log.exception("duplicate search failed for incident %s", incident["id"])
        return
    links = [(str(m.incident_id), {"score": float(m.score), "evidence": list(m.evidence)})
             for m in list(matches)[:DUPLICATE_MAX_LINKS]]
    if not links:
        return
    now = utcnow()
    async with ctx.store.tx() as conn:
        await conn.execute(incident_events.insert(), [
            row for other, data in links for row in (
                {"incident_id": incident["id"], "at": now, "kind": "duplicate", "actor": "duplicates",
                 "data": {"incident_id": other, **data}},
                {"incident_id": other, "at": now, "kind": "duplicate", "actor": "duplicates",
                 "data": {"incident_id": incident["id"], **data}})])
        for other, data in links:
            await ctx.store.audit(conn, "duplicates", "incident.link_duplicate", f"incident:{incident['id']}",
                                  None, {"duplicate_of": other, **data})
    for other, data in links:
        await ctx.console.publish({"type": "duplicate", "incident_id": incident["id"],
                                   "duplicate_of": other, **data})


async def unlink(ctx: Context, incident_id: str, other_id: str, *, actor: str, reason: str = "") -> dict[str, Any]:
    """A dispatcher says two incidents linked as possible duplicates are not: drop the link on both.

    The history keeps the link and its removal (events and audit), only the live view forgets it.
    """
    if not isinstance(reason, str) or len(reason) > 500:
        raise InvalidInput("reason must be a string of at most 500 characters", field="reason")
    store = ctx.store
    current = await store.get_incident(incident_id)
    await store.incident_row(other_id)  # 404 for an unknown id
    found = next((d for d in current.get("duplicates", []) if d["incident_id"] == other_id), None)
    if found is None:
        raise NotFound(f"incident {current['number']} is not linked to {other_id} as a possible duplicate")
    if found.get("merged"):
        raise Conflict(f"incident {current['number']} was merged with {other_id}; a merge is not undone here",
                       current="merged")
    data = {"unlinked": True, "reason": reason}
    async with store.tx() as conn:
        await store.incident_event(conn, incident_id, "duplicate", actor, {"incident_id": other_id, **data})
        await store.incident_event(conn, other_id, "duplicate", actor, {"incident_id": incident_id, **data})
        await store.audit(conn, actor, "incident.unlink_duplicate", f"incident:{incident_id}",
                          {"duplicate_of": other_id, "score": found.get("score")}, {"duplicate_of": None,
                                                                                    "reason": reason})
    await ctx.console.publish({"type": "duplicate", "incident_id": incident_id, "duplicate_of": other_id,
                               "unlinked": True, "actor": actor})
    return await store.get_incident(incident_id)
