"""Acknowledgement deadlines: an order nobody acknowledged in time expires and its job is offered
to the next recommended unit, or handed back to the dispatchers.

Run by the timer lease holder (``dispatch.live.Hub.timers``). Safe with several processes anyway:
the conditional UPDATE ``offered -> expired`` is the claim, so exactly one process acts on each
order. Whether to re-offer, and the alert's severity and words, are decided in :mod:`dispatch.model`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging

import sqlalchemy as sa

from dispatch import alerts, orders
from dispatch.context import Context
from dispatch.errors import Conflict, NotFound
from dispatch.model import OPEN_ORDER_STATES, escalation_alert, falls_back_to_triaged, iso, may_reoffer, utcnow
from dispatch.tables import incidents
from dispatch.tables import orders as order_rows

log = logging.getLogger("jingyun.dispatch")


async def expire_due(ctx: Context, now: dt.datetime | None = None) -> list[str]:
    """Expire orders whose deadline passed and re-offer each to the next recommended unit.
    Returns the ids expired by this call."""
    now = now or utcnow()
    done: list[str] = []
    for order_id in await ctx.bus.due_orders(now.timestamp()):
        try:
            if await _expire_one(ctx, order_id, now):
                done.append(order_id)
        except Exception:
            log.exception("could not escalate order %s; will retry", order_id)
            continue
    return done


async def _expire_one(ctx: Context, order_id: str, now: dt.datetime) -> bool:
    store = ctx.store
    try:
        order = await store.order_row(order_id)
    except NotFound:
        await ctx.bus.clear_deadline(order_id)
        return False
    if order["state"] != "offered":
        await ctx.bus.clear_deadline(order_id)
        return False
    async with store.tx() as conn:
        result = await conn.execute(order_rows.update().where(order_rows.c.id == order_id,
                                                              order_rows.c.state == "offered")
                                    .values(state="expired", closed_at=now,
                                            close_reason="not acknowledged before the deadline"))
        if result.rowcount != 1:
            return False
        unit = await store.unit_row(order["unit_id"], conn, lock=True)
        if unit["status"] == "dispatched":
            await store.move_unit(conn, unit["id"], "dispatched", "available", "system", "system",
                                  f"order {order_id} not acknowledged in time", now)
        await store.audit(conn, "system", "order.expire", f"order:{order_id}", {"state": "offered"},
                          {"state": "expired", "deadline_at": iso(order["deadline_at"])})
    await ctx.bus.clear_deadline(order_id)
    with contextlib.suppress(Exception):  # the expiry is committed; the phone's poll re-checks the database
        await ctx.bus.ack_order(order["unit_id"], order_id)
        await ctx.bus.notify_unit(order["unit_id"], "withdrawn", order_id, reason="acknowledgement deadline passed")
    inc = await store.incident_row(order["incident_id"])
    unit_now = await store.get_unit(order["unit_id"])
    await ctx.console.publish({"type": "order", "action": "expired", "order": await store.get_order(order_id)})
    await ctx.console.publish({"type": "unit", "action": "status", "unit": unit_now})
    next_unit = None
    if may_reoffer(order["attempt"], ctx.settings.max_reoffers, inc["status"]):
        rec = await orders.recommend(ctx, order["incident_id"], exclude_tried=True)
        ranked = [r["unit_id"] for r in rec["recommendations"]]
        for cand in rec["recommendations"]:
            try:
                await orders.dispatch(ctx, order["incident_id"], cand["unit_id"], actor=orders.ESCALATION_ACTOR,
                                      note=f"re-offered: unit {unit_now['callsign']} did not acknowledge in time",
                                      attempt=order["attempt"] + 1, recommended=ranked, automatic=True)
            except Conflict:
                continue
            next_unit = cand
            break
    if next_unit is None:
        await _back_to_triaged_if_unassigned(ctx, order["incident_id"])
    severity, msg, msg_zh = escalation_alert(inc["level"], unit_now["callsign"], inc["number"],
                                             next_unit["callsign"] if next_unit else None)
    await alerts.raise_alert(ctx, "ack_timeout", severity, msg, message_zh=msg_zh, incident_id=order["incident_id"],
                             order_id=order_id, reoffered_to=next_unit["unit_id"] if next_unit else None)
    return True


async def _back_to_triaged_if_unassigned(ctx: Context, incident_id: str) -> None:
    store = ctx.store
    async with store.tx() as conn:
        inc = await store.incident_row(incident_id, conn, lock=True)
        still = (await conn.execute(sa.select(order_rows.c.id).where(
            order_rows.c.incident_id == incident_id, order_rows.c.state.in_(OPEN_ORDER_STATES)))).first()
        if falls_back_to_triaged(inc["status"], has_open_order=still is not None):
            await conn.execute(incidents.update().where(incidents.c.id == incident_id)
                               .values(status="triaged", updated_at=utcnow()))
            await store.incident_event(conn, incident_id, "status", "system",
                                       {"from": inc["status"], "to": "triaged", "reason": "no unit holds the job"})
    await ctx.console.publish({"type": "incident", "action": "updated",
                               "incident": await store.get_incident(incident_id)})
