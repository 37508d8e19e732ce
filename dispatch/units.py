"""Patrol units: registration, status (which moves their order and incident along), location.

A unit moving to the job (``en_route``, ``on_scene``) acknowledges its offered order implicitly and
carries its incident forward; a unit freed (``available``, ``returning``, ``out_of_service``)
completes or withdraws its open order. What follows from which move is in :mod:`dispatch.model`;
the order side effects are written through :mod:`dispatch.orders` in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from dispatch import orders, views
from dispatch.context import Context
from dispatch.errors import Conflict, InvalidInput
from dispatch.model import (
    FREED_UNIT_STATUSES,
    MOVING_UNIT_STATUSES,
    OPEN_ORDER_STATES,
    UNIT_STATUSES,
    as_utc,
    check_capabilities,
    check_choice,
    check_coords,
    check_shift,
    check_text,
    incident_status_after_unit_move,
    iso,
    order_state_when_unit_freed,
    stamps_for,
    utcnow,
)
from dispatch.store import new_id
from dispatch.tables import incidents, unit_events, units
from dispatch.tables import orders as order_rows


async def create(ctx: Context, *, callsign: str, unit_type: str, capabilities: list[str], lat: Any = None,
                 lon: Any = None, actor: str, shift_start: dt.datetime | None = None,
                 shift_end: dt.datetime | None = None, status: str = "available") -> dict[str, Any]:
    """Register a patrol unit; its order Stream and consumer group are created at once."""
    callsign = check_text(callsign, "callsign", max_chars=64)
    check_choice(unit_type, sorted(ctx.table.unit_types), "unit_type")
    caps = check_capabilities(capabilities, ctx.table.capabilities)
    check_choice(status, UNIT_STATUSES, "status")
    la, lo = check_coords(lat, lon)
    check_shift(shift_start, shift_end)
    now = utcnow()
    unit_id = new_id()
    row = {"id": unit_id, "callsign": callsign, "unit_type": unit_type, "capabilities": caps,
           "status": status, "lat": la, "lon": lo, "location_at": now if la is not None else None,
           "shift_start": shift_start, "shift_end": shift_end, "created_at": now, "updated_at": now}
    async with ctx.store.tx() as conn:
        exists = (await conn.execute(sa.select(units.c.id).where(units.c.callsign == callsign))).first()
        if exists:
            raise Conflict(f"a unit with callsign {callsign!r} already exists (id {exists.id})",
                           unit_id=exists.id)
        await conn.execute(units.insert().values(**row))
        await conn.execute(unit_events.insert().values(unit_id=unit_id, at=now, from_status=None,
                                                       to_status=status, actor=actor, source="dispatcher",
                                                       note="unit created"))
        await ctx.store.audit(conn, actor, "unit.create", f"unit:{unit_id}", None,
                              {k: (iso(v) if isinstance(v, dt.datetime) else v) for k, v in row.items()})
    await ctx.bus.ensure_group(unit_id)
    unit = await ctx.store.get_unit(unit_id)
    await ctx.console.publish({"type": "unit", "action": "created", "unit": unit})
    return unit


async def search(ctx: Context, *, status: str | None = None) -> list[dict[str, Any]]:
    """Every unit (or those in ``status``), by callsign."""
    if status is not None:
        check_choice(status, UNIT_STATUSES, "status")
    q = sa.select(units).order_by(units.c.callsign)
    if status:
        q = q.where(units.c.status == status)
    async with ctx.store.engine.connect() as conn:
        return [views.unit_json(dict(r._mapping)) for r in (await conn.execute(q)).all()]


async def history(ctx: Context, unit_id: str) -> list[dict[str, Any]]:
    """Every status change of a unit, each timestamped, oldest first."""
    await ctx.store.unit_row(unit_id)
    async with ctx.store.engine.connect() as conn:
        rows = (await conn.execute(sa.select(unit_events).where(unit_events.c.unit_id == unit_id)
                                   .order_by(unit_events.c.id))).all()
    return [views.unit_event_json(r) for r in rows]


async def correct_status(ctx: Context, unit_id: str, status: str, *, actor: str, note: str) -> dict[str, Any]:
    """Undo a wrong status (e.g. a mis-heard radio "on scene"): set it without the forward-only check.

    Live changes go through :func:`set_status`; a correction moves no order or incident (a
    dispatcher adjusts those) and is recorded as its own event (source ``correction``) and audit entry.
    """
    check_choice(status, UNIT_STATUSES, "status")
    note = check_text(note, "note", max_chars=1000, required=False)
    now = utcnow()
    async with ctx.store.tx() as conn:
        unit = await ctx.store.unit_row(unit_id, conn, lock=True)
        before = unit["status"]
        await conn.execute(units.update().where(units.c.id == unit_id).values(status=status, updated_at=now))
        await conn.execute(unit_events.insert().values(unit_id=unit_id, at=now, from_status=before,
                                                       to_status=status, actor=actor, source="correction",
                                                       note=note))
        await ctx.store.audit(conn, actor, "unit.status.correct", f"unit:{unit_id}", {"status": before},
                              {"status": status, "source": "correction", "note": note})
    unit_now = await ctx.store.get_unit(unit_id)
    await ctx.console.publish({"type": "unit", "action": "status", "unit": unit_now})
    return unit_now


async def set_status(ctx: Context, unit_id: str, status: str, *, actor: str, source: str = "officer",
                     note: str = "") -> dict[str, Any]:
    """Change a unit's status (validated, timestamped) and move its order and incident along."""
    check_choice(status, UNIT_STATUSES, "status")
    note = check_text(note, "note", max_chars=1000, required=False)
    store = ctx.store
    now = utcnow()
    touched_orders: list[tuple[str, str]] = []
    incident_ids: set[str] = set()
    settled: list[dict[str, Any]] = []
    async with store.tx() as conn:
        unit = await store.unit_row(unit_id, conn, lock=True)
        before = unit["status"]
        await store.move_unit(conn, unit_id, before, status, actor, source, note, now)
        open_orders = (await conn.execute(sa.select(order_rows).where(
            order_rows.c.unit_id == unit_id, order_rows.c.state.in_(OPEN_ORDER_STATES)))).all()
        for o in open_orders:
            incident_ids.add(o.incident_id)
            if status in MOVING_UNIT_STATUSES and o.state == "offered":
                # Moving to the job proves the order arrived: treat it as acknowledged.
                await orders.ack_in_tx(ctx, conn, o.id, actor, now, via=f"status {status}")
                touched_orders.append((o.id, o.incident_id))
            elif status in FREED_UNIT_STATUSES:
                state = order_state_when_unit_freed(o.state, before)
                await conn.execute(order_rows.update().where(order_rows.c.id == o.id).values(
                    state=state, closed_at=now, close_reason=f"unit {status}"))
                settled.append({"id": o.id, "unit_id": unit_id, "state": state})
            if status in MOVING_UNIT_STATUSES:
                inc = await store.incident_row(o.incident_id, conn, lock=True)
                to = incident_status_after_unit_move(inc["status"], status)
                if to is not None:
                    vals: dict[str, Any] = {"status": to, "updated_at": now, **stamps_for(to, inc, now)}
                    await conn.execute(incidents.update().where(incidents.c.id == inc["id"]).values(**vals))
                    await store.incident_event(conn, inc["id"], "status", actor,
                                               {"from": inc["status"], "to": to,
                                                "reason": f"unit {unit['callsign']} {status}"}, now)
        await store.audit(conn, actor, "unit.status", f"unit:{unit_id}", {"status": before},
                          {"status": status, "source": source, "note": note})
    for oid, iid in touched_orders:
        await orders.after_ack(ctx, oid, unit_id, iid)
    await orders.after_settle(ctx, settled)
    ctx.console.emit("unit", unit_id, "status")
    for iid in incident_ids:
        ctx.console.emit("incident", iid)
    return await store.get_unit(unit_id)


async def update_location(ctx: Context, unit_id: str, *, lat: Any, lon: Any, actor: str,
                          at: dt.datetime | None = None) -> dict[str, Any]:
    """Record a position fix (the fix time drives the stale-location cutoff)."""
    la, lo = check_coords(lat, lon)
    if la is None:
        raise InvalidInput("a location needs lat and lon", field="lat")
    when = as_utc(at) or utcnow()
    async with ctx.store.tx() as conn:
        await ctx.store.unit_row(unit_id, conn)
        await conn.execute(units.update().where(units.c.id == unit_id).values(
            lat=la, lon=lo, location_at=when, updated_at=utcnow()))
    unit = await ctx.store.get_unit(unit_id)
    await ctx.console.publish({"type": "unit", "action": "location", "unit": unit})
    return unit
