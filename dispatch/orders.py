"""Orders: a job offered to a unit, pushed on its Redis Stream, acknowledged or settled.

The path of an order: :func:`recommend` ranks the units; :func:`dispatch` takes a short Redis lock
on (incident, unit), writes the order, the unit's and the incident's new status and the audit entry
in one transaction, and only then pushes the order to the unit's Stream (one Lua round trip, see
``dispatch.bus``); :func:`acknowledge` is one conditional UPDATE (the idempotency point) plus one
round trip to settle the Stream entry. :mod:`dispatch.expiry` handles the deadline; an incident's end
and a unit's release settle its open orders through :func:`settle_for_incident` and
:func:`after_settle`. The decisions themselves (who may be dispatched, the deadline, what an ack that
changed nothing means) are in :mod:`dispatch.model`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import math
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncConnection

from analytics.accountability import recommendation_verdict
from common.ids import new_id
from dispatch import alerts, keys, views
from dispatch.closing import settle_level
from dispatch.context import Context
from dispatch.errors import Conflict, InvalidInput, NotFound
from dispatch.model import (
    OPEN_ORDER_STATES,
    ack_deadline,
    acknowledged_already,
    as_utc,
    auto_dispatch_choice,
    check_dispatchable,
    check_text,
    iso,
    order_state_when_incident_ends,
    utcnow,
)
from dispatch.recommend import best_ids, rank_units
from dispatch.store import AuditHeads
from dispatch.tables import incidents, orders, units

log = logging.getLogger("jingyun.dispatch")

# Who makes the orders the service gives by itself (not a dispatcher's choice of unit).
AUTO_DISPATCH_ACTOR = "auto-dispatch"
ESCALATION_ACTOR = "system:escalation"
AUTOMATIC_ACTORS = (AUTO_DISPATCH_ACTOR, ESCALATION_ACTOR)


# ---- recommendations -------------------------------------------------------------------------------
async def recommend(ctx: Context, incident_id: str, *, exclude_tried: bool = False) -> dict[str, Any]:
    """Rank available units for the incident, with the reasons for each place."""
    inc = await ctx.store.incident_row(incident_id)
    async with ctx.store.engine.connect() as conn:
        unit_rows = [dict(r._mapping) for r in (await conn.execute(sa.select(units))).all()]
        tried = set()
        if exclude_tried:
            tried = {r.unit_id for r in (await conn.execute(
                sa.select(orders.c.unit_id).where(orders.c.incident_id == incident_id))).all()}
    ranked, excluded = rank_units({"category": inc["category"], "lat": inc["lat"], "lon": inc["lon"]},
                                  unit_rows, ctx.table, now=utcnow(),
                                  stale_after_s=ctx.settings.stale_location_s, exclude=frozenset(tried))
    return {"incident_id": incident_id, "category": inc["category"],
            "required_capabilities": list(ctx.table.required(inc["category"])),
            "stale_after_s": ctx.settings.stale_location_s,
            "recommendations": [r.to_dict() for r in ranked], "excluded": excluded}


def _ranking_select(ctx: Context, category: str | None, lat: float | None, lon: float | None) -> sa.Select[Any]:
    """The available units lean, best first as far as SQL can tell: capabilities and freshness judged in
    SQL and a flat-earth distance, with a margin of rows that :func:`dispatch.recommend.best_ids` ranks
    exactly as :func:`recommend` does (this runs on every dispatch: no unit row is decoded, no reason
    worded)."""
    depth = ctx.settings.recommended_units
    cutoff = utcnow() - dt.timedelta(seconds=ctx.settings.stale_location_s)
    caps = sa.cast(units.c.capabilities, sa.Text)  # a JSON list of names: '"name"' matches one exactly
    missing = sum((sa.case((caps.contains(f'"{c}"', autoescape=True), 0), else_=1)
                   for c in ctx.table.required(category)), sa.literal(0))
    fixed = sa.and_(units.c.lat.is_not(None), units.c.lon.is_not(None), units.c.location_at.is_not(None))
    stale = sa.case((sa.and_(fixed, units.c.location_at >= cutoff), 0), else_=1)
    near: sa.ColumnElement[Any] = sa.literal(0.0)
    if lat is not None and lon is not None:
        # Squared equirectangular distance: the same order as haversine at a district's scale; the margin
        # of rows absorbs where the two could differ, and best_ids ranks by haversine.
        coslat = math.cos(math.radians(float(lat)))
        flat = ((units.c.lat - float(lat)) * (units.c.lat - float(lat))
                + (units.c.lon - float(lon)) * (units.c.lon - float(lon)) * (coslat * coslat))
        near = sa.case((fixed, flat), else_=1e18)
    missing_col, stale_col = missing.label("missing"), stale.label("stale")
    return (sa.select(units.c.id, units.c.callsign, sa.case((fixed, units.c.lat)), sa.case((fixed, units.c.lon)),
                      missing_col, stale_col)
            .where(units.c.status == "available")
            .order_by(missing_col, stale_col, near, units.c.callsign)
            .limit(max(3 * depth, depth + 20)))


async def _ranked(ctx: Context, conn: AsyncConnection, category: str | None, lat: float | None,
                  lon: float | None) -> list[str]:
    rows = [tuple(r) for r in (await conn.execute(_ranking_select(ctx, category, lat, lon))).all()]
    return best_ids(lat, lon, rows, ctx.settings.recommended_units)


async def recommended_ids(ctx: Context, incident_id: str) -> list[str]:
    """The ids of the best-ranked available units (``JINGYUN_RECOMMENDED_UNITS`` of them), in the order
    :func:`recommend` shows them: what an order records. One connection, two short statements."""
    async with ctx.store.engine.connect() as conn:
        inc = (await conn.execute(sa.select(incidents.c.category, incidents.c.lat, incidents.c.lon)
                                  .where(incidents.c.id == incident_id))).first()
        if inc is None:
            raise NotFound(f"no incident with id {incident_id!r}")
        return await _ranked(ctx, conn, inc.category, inc.lat, inc.lon)


# ---- dispatch ---------------------------------------------------------------------------------------
async def dispatch(ctx: Context, incident_id: str, unit_id: str, *, actor: str, note: str = "",
                   attempt: int = 1, recommended: Sequence[str] | None = None,
                   automatic: bool = False) -> dict[str, Any]:
    """Offer the incident to a unit: one order, pushed on the unit's Stream, with an ack deadline.

    The order records the units the service recommends at this moment, best first (the first
    ``JINGYUN_RECOMMENDED_UNITS`` of the ranking; ``recommended`` when the caller has just ranked them,
    otherwise ranked here) and where the chosen unit stood among them. ``automatic``: a choice made by the
    service itself (P1 auto-dispatch, a re-offer), which is not a dispatcher's decision on the level either.

    Idempotent: if the unit already holds an open order for this incident, that order is returned.
    """
    note = check_text(note, "note", max_chars=1000, required=False)
    if recommended is None and ctx.store.sqlite:
        # SQLite: before the lock and the transaction, whose single writer must not wait for a read of
        # the units (a unit moving meanwhile is the same race a dispatcher's screen already has).
        # PostgreSQL ranks inside the transaction, on its connection, once the incident is read.
        recommended = await recommended_ids(ctx, incident_id)
    lock_key = keys.dispatch_lock(ctx.prefix, incident_id, unit_id)
    holder = new_id()
    locked = False
    for _ in range(50):  # two dispatchers clicking at once on two processes: one creates, one waits
        try:
            locked = await ctx.bus.lock(lock_key, holder, 5000)
        except RedisError:
            # Redis is down: the order must still be given. The transaction below locks the
            # incident and unit rows and checks for an open order, which keeps it idempotent.
            log.warning("Redis unreachable: dispatching without the Redis lock")
            break
        if locked:
            break
        await asyncio.sleep(0.05)
    else:
        raise Conflict("another dispatch of this unit to this incident is in progress; try again")
    try:
        return await _dispatch_locked(ctx, incident_id, unit_id, actor=actor, note=note, attempt=attempt,
                                      recommended=recommended, automatic=automatic)
    finally:
        if locked:
            with contextlib.suppress(RedisError):
                await ctx.bus.unlock(lock_key, holder)


async def _dispatch_locked(ctx: Context, incident_id: str, unit_id: str, *, actor: str, note: str,
                           attempt: int, recommended: Sequence[str] | None, automatic: bool) -> dict[str, Any]:
    store = ctx.store
    heads: AuditHeads = []
    async with store.tx(heads) as conn:
        now = utcnow()
        # The unit's status and callsign and its open order for this incident, if any, come with
        # the incident (SQLite: one statement, its single writer serialises dispatches) or with
        # the locked unit row (PostgreSQL: the incident row is locked first, by its own statement,
        # so a concurrent dispatch of this incident has committed before the unit statement and
        # its snapshot start, and its order is seen).
        open_order = (sa.select(orders.c.id).where(orders.c.incident_id == incident_id,
                                                   orders.c.unit_id == unit_id,
                                                   orders.c.state.in_(OPEN_ORDER_STATES))
                      .limit(1).scalar_subquery().label("open_order_id"))
        unit_cols = (units.c.callsign, units.c.status, open_order)
        if store.sqlite:
            found = (await conn.execute(sa.select(incidents, *(c.label(f"unit_{c.name}") for c in unit_cols))
                                        .join_from(incidents, units, sa.true())
                                        .where(incidents.c.id == incident_id, units.c.id == unit_id))).first()
            if found is None:  # say which one is missing
                await store.incident_row(incident_id, conn)
                await store.unit_row(unit_id, conn)
            inc = dict(found._mapping) if found is not None else {}
        else:
            inc = await store.incident_row(incident_id, conn, lock=True)
            found = (await conn.execute(sa.select(*(c.label(f"unit_{c.name}") for c in unit_cols))
                                        .where(units.c.id == unit_id).with_for_update(of=units))).first()
            if found is None:
                raise NotFound(f"no unit with id {unit_id!r}")
            inc.update(found._mapping)
        callsign, unit_status = inc["unit_callsign"], inc["unit_status"]
        if inc["unit_open_order_id"] is not None:
            existing = await store.order_row(inc["unit_open_order_id"], conn)
            return {**views.order_json(existing), "duplicate": True}
        check_dispatchable(inc, callsign, unit_status)
        if recommended is None:
            recommended = await _ranked(ctx, conn, inc["category"], inc["lat"], inc["lon"])
        verdict = recommendation_verdict(list(recommended)[:ctx.settings.recommended_units], unit_id)
        order_id = new_id()
        deadline = ack_deadline(now, inc["level"], ctx.settings)
        row = {"id": order_id, "incident_id": incident_id, "unit_id": unit_id, "state": "offered",
               "attempt": attempt, "note": note, "created_by": actor, "created_at": now,
               "deadline_at": deadline, "delivered_at": None, "acknowledged_at": None, "closed_at": None,
               "close_reason": None, "recommended": verdict["recommended_units"],
               "recommended_rank": verdict["rank"], "verdict": verdict["verdict"]}
        await conn.execute(orders.insert().values(**row))
        await store.move_unit(conn, unit_id, unit_status, "dispatched", actor, "dispatcher",
                              f"order {order_id} for incident {inc['number']}", now)
        vals: dict[str, Any] = {"updated_at": now}
        if inc["status"] in ("new", "triaged"):
            vals["status"] = "dispatched"
            await store.incident_event(conn, incident_id, "status", actor,
                                       {"from": inc["status"], "to": "dispatched",
                                        "reason": f"unit {callsign} dispatched"}, now)
        if inc["dispatched_at"] is None:
            vals["dispatched_at"] = now
        if not automatic:  # a dispatcher sending a unit at the level shown accepts that level
            vals.update(settle_level(inc, actor, now))
        await conn.execute(incidents.update().where(incidents.c.id == incident_id).values(**vals))
        await store.audit(conn, actor, "order.create", f"order:{order_id}", None,
                          {"incident_id": incident_id, "unit_id": unit_id, "attempt": attempt,
                           "deadline_at": iso(deadline), "note": note, "automatic": automatic,
                           "recommended": verdict["recommended_units"], "rank": verdict["rank"],
                           "verdict": verdict["verdict"], "final_level": vals.get("final_level")})
    committed = utcnow()  # the order is durable from here: what "created" means for delivery latency
    order = views.order_json(row)
    try:
        await ctx.bus.push_order(unit_id, views.order_message(order, inc, committed), deadline.timestamp(),
                                 audit_head=max(heads) if heads else None)
    except RedisError:
        # Committed, so not lost: push_unpushed() sends it as soon as Redis answers again.
        log.warning("Redis unreachable: order %s is kept in the database and sent when Redis is back",
                    order_id)
        order = {**order, "queued": True}
        if heads:
            with contextlib.suppress(Exception):  # the push would have recorded it
                await ctx.bus.record_audit_head(*max(heads))
    ctx.console.emit("order", order_id, "offered")
    ctx.console.emit("unit", unit_id, "status")
    ctx.console.emit("incident", incident_id)
    return order


async def auto_dispatch(ctx: Context, incident_id: str) -> None:
    """Send a new P1 incident to the best capable unit with a fresh location (JINGYUN_AUTO_DISPATCH_P1)."""
    rec = await recommend(ctx, incident_id)
    best = auto_dispatch_choice(rec["recommendations"])
    ranked = [r["unit_id"] for r in rec["recommendations"]]
    if best is None:
        await alerts.raise_alert(ctx, "auto_dispatch_failed", "severe",
                                 "P1 incident: no available unit with the required capabilities and a fresh "
                                 "location; dispatch by hand",
                                 message_zh="P1 警情：没有具备所需能力且位置最新的可用单位；请人工派警",
                                 incident_id=incident_id)
        return
    with contextlib.suppress(Conflict):
        await dispatch(ctx, incident_id, best["unit_id"], actor=AUTO_DISPATCH_ACTOR,
                       note="automatic P1 dispatch (JINGYUN_AUTO_DISPATCH_P1)", recommended=ranked, automatic=True)


# ---- acknowledgement ----------------------------------------------------------------------------------
async def ack_in_tx(ctx: Context, conn: AsyncConnection, order_id: str, actor: str, now: dt.datetime, via: str, *,
                    unit_id: str | None = None) -> dict[str, Any] | None:
    """offered -> acknowledged (the idempotency point); the order as updated, or None if it is not
    an offered order (of ``unit_id``, when given): another ack, an expiry or a withdrawal won, or
    the caller may not acknowledge it."""
    q = orders.update().where(orders.c.id == order_id, orders.c.state == "offered")
    if unit_id is not None:
        q = q.where(orders.c.unit_id == unit_id)
    updated = (await conn.execute(q.values(state="acknowledged", acknowledged_at=now,
                                           delivered_at=sa.func.coalesce(orders.c.delivered_at, now))
                                  .returning(*orders.c))).first()
    if updated is None:
        return None
    await conn.execute(incidents.update().where(incidents.c.id == updated.incident_id,
                                                incidents.c.acknowledged_at.is_(None))
                       .values(acknowledged_at=now, updated_at=now))
    await ctx.store.audit(conn, actor, "order.acknowledge", f"order:{order_id}", {"state": "offered"},
                          {"state": "acknowledged", "via": via})
    return dict(updated._mapping)


async def after_ack(ctx: Context, order_id: str, unit_id: str, incident_id: str,
                    audit_head: tuple[int, str] | None = None) -> None:
    """After the commit: settle the Stream entry and the deadline in Redis, tell the consoles."""
    with contextlib.suppress(Exception):
        await ctx.bus.ack_order(unit_id, order_id, audit_head=audit_head)  # XACK, deadline, head
    ctx.console.emit("order", order_id, "acknowledged")
    ctx.console.emit("incident", incident_id)


async def acknowledge(ctx: Context, order_id: str, *, unit_id: str | None, actor: str,
                      via: str = "ws") -> dict[str, Any]:
    """Acknowledge an order. ``unit_id`` is the caller's unit (officers); None for dispatch roles.

    Repeating an acknowledgement is harmless: the order is returned with ``"duplicate": true``.
    """
    if not isinstance(order_id, str) or not order_id:
        raise InvalidInput("order_id must be a non-empty string", field="order_id")
    # The normal case first, in one statement: an offered order of the caller's unit.
    heads: AuditHeads = []
    async with ctx.store.tx(heads) as conn:
        won = await ack_in_tx(ctx, conn, order_id, actor, utcnow(), via, unit_id=unit_id)
    if won is not None:
        await after_ack(ctx, order_id, won["unit_id"], won["incident_id"], max(heads) if heads else None)
        return views.order_json(won)
    # Not acknowledged: say why (not found, not yours, already acknowledged, expired or withdrawn).
    order = await ctx.store.order_row(order_id)
    acknowledged_already(order, unit_id)  # raises unless it is a repeat
    return {**views.order_json(order), "duplicate": True}


# ---- settling orders when their incident ends or their unit is freed ----------------------------------
async def settle_for_incident(ctx: Context, conn: AsyncConnection, incident_id: str, status: str, actor: str,
                              now: dt.datetime) -> list[dict[str, Any]]:
    """Close the incident's open orders: acknowledged ones complete, offered ones are withdrawn.
    Returns what :func:`after_settle` needs once the transaction has committed."""
    rows = (await conn.execute(sa.select(orders).where(orders.c.incident_id == incident_id,
                                                       orders.c.state.in_(OPEN_ORDER_STATES)))).all()
    out = []
    for r in rows:
        new_state = order_state_when_incident_ends(r.state, status)
        await conn.execute(orders.update().where(orders.c.id == r.id).values(
            state=new_state, closed_at=now, close_reason=f"incident {status}"))
        unit = (await conn.execute(sa.select(units.c.status).where(units.c.id == r.unit_id))).first()
        if new_state == "withdrawn" and unit and unit.status == "dispatched":
            await ctx.store.move_unit(conn, r.unit_id, unit.status, "available", actor, "system",
                                      f"order withdrawn: incident {status}", now)
        out.append({"id": r.id, "unit_id": r.unit_id, "state": new_state})
    return out


async def after_settle(ctx: Context, settled: Sequence[dict[str, Any]]) -> None:
    """After the commit: take settled orders off their Streams, tell phones of withdrawals and consoles."""
    for o in settled:
        with contextlib.suppress(Exception):
            await ctx.bus.ack_order(o["unit_id"], o["id"])  # also drops its deadline
            if o["state"] == "withdrawn":
                await ctx.bus.notify_unit(o["unit_id"], "withdrawn", o["id"])
        ctx.console.emit("order", o["id"], o["state"])
        ctx.console.emit("unit", o["unit_id"], "status")


# ---- reading orders, delivery bookkeeping ----------------------------------------------------------------
async def for_unit(ctx: Context, unit_id: str, *, open_only: bool = False) -> list[dict[str, Any]]:
    """A unit's orders, newest first."""
    await ctx.store.unit_row(unit_id)
    q = sa.select(orders).where(orders.c.unit_id == unit_id).order_by(orders.c.created_at.desc())
    if open_only:
        q = q.where(orders.c.state.in_(OPEN_ORDER_STATES))
    async with ctx.store.engine.connect() as conn:
        rows = (await conn.execute(q.limit(ctx.settings.max_list))).all()
    return [views.order_json(dict(r._mapping)) for r in rows]


async def open_orders(ctx: Context) -> list[dict[str, Any]]:
    """Every offered or acknowledged order (the console snapshot)."""
    async with ctx.store.engine.connect() as conn:
        return [views.order_json(dict(r._mapping)) for r in (await conn.execute(
            sa.select(orders).where(orders.c.state.in_(OPEN_ORDER_STATES)))).all()]


async def message(ctx: Context, order_id: str) -> dict[str, Any]:
    """The message a unit gets for an order (used when re-sending pending orders)."""
    order = await ctx.store.get_order(order_id)
    inc = await ctx.store.incident_row(order["incident_id"])
    return views.order_message(order, inc)


async def push_unpushed(ctx: Context, min_age_s: float = 2.0, limit: int = 500) -> int:
    """Push offered orders that are in the database but on no unit's Stream: committed while
    Redis was down, lost with a Redis that came back empty, or the process died between commit
    and push. Orders younger than ``min_age_s`` are left to the request still pushing them (a
    rare double push is harmless: phones de-duplicate by order id). Returns orders pushed."""
    cutoff = utcnow() - dt.timedelta(seconds=min_age_s)
    async with ctx.store.engine.connect() as conn:
        rows = (await conn.execute(sa.select(orders).where(orders.c.state == "offered",
                                                           orders.c.created_at <= cutoff)
                                   .order_by(orders.c.created_at).limit(limit))).all()
    if not rows:
        return 0
    known = await ctx.bus.order_entries([r.id for r in rows])
    pushed = 0
    for row, entry in zip(rows, known, strict=True):
        if entry is not None:
            continue
        order = views.order_json(dict(row._mapping))
        inc = await ctx.store.incident_row(row.incident_id)
        deadline = as_utc(row.deadline_at) or utcnow()
        await ctx.bus.push_order(row.unit_id, views.order_message(order, inc), deadline.timestamp())
        pushed += 1
    if pushed:
        log.warning("pushed %d orders that were only in the database (Redis was unavailable or lost them)",
                    pushed)
    return pushed


async def mark_delivered(ctx: Context, order_ids: Sequence[str]) -> None:
    """Remember first delivery to a unit's connection (for the response-interval record)."""
    if not order_ids:
        return
    async with ctx.store.tx() as conn:
        await conn.execute(orders.update().where(orders.c.id.in_(list(order_ids)),
                                                 orders.c.delivered_at.is_(None)).values(delivered_at=utcnow()))


async def open_ids(ctx: Context, order_ids: Sequence[str]) -> set[str]:
    """Which of these orders are still open (offered or acknowledged)."""
    if not order_ids:
        return set()
    async with ctx.store.engine.connect() as conn:
        rows = (await conn.execute(sa.select(orders.c.id).where(orders.c.id.in_(list(order_ids)),
                                                                orders.c.state.in_(OPEN_ORDER_STATES)))).all()
    return {r.id for r in rows}
