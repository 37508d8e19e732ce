"""The SQL side of the AI accountability report: one plain row per incident, as
:func:`analytics.accountability.accountability` takes them, and the report over a period.

Counted as a dispatcher's choice of unit: orders made by a person. Orders the service made itself (P1
auto-dispatch, re-offers after an expired acknowledgement) and orders from before rankings were recorded
are not, and the report says how many of each it left out (``not_counted``), like every row the pure
report could not count.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import sqlalchemy as sa

from analytics.accountability import accountability
from dispatch.context import Context
from dispatch.model import iso
from dispatch.orders import AUTOMATIC_ACTORS
from dispatch.tables import incidents, orders

NOT_COUNTED_AUTOMATIC = "unit: automatic dispatch (P1 auto-dispatch or a re-offer), not a dispatcher's choice"
NOT_COUNTED_UNRECORDED = "unit: order made before recommendations were recorded"


def outcome_key(outcome_code: str | None, status: str) -> str | None:
    """What an incident's outcome counts as: its code; ``status:<status>`` when it ended without one
    (cancelled or merged without an outcome, or closed before outcomes were recorded); None while open."""
    if outcome_code:
        return outcome_code
    if status in ("closed", "cancelled", "merged"):
        return f"status:{status}"
    return None


async def rows(ctx: Context, start: dt.datetime, end: dt.datetime) -> tuple[list[dict[str, Any]], Counter[str]]:
    """One row per incident created in [start, end), and the dispatches left out of them, by reason."""
    async with ctx.store.engine.connect() as conn:
        incs = (await conn.execute(
            sa.select(incidents.c.id, incidents.c.category, incidents.c.status, incidents.c.machine_level,
                      incidents.c.triage, incidents.c.final_level, incidents.c.outcome_code)
            .where(incidents.c.created_at >= start, incidents.c.created_at < end)
            .order_by(incidents.c.created_at))).all()
        ords = (await conn.execute(
            sa.select(orders.c.incident_id, orders.c.unit_id, orders.c.recommended, orders.c.verdict,
                      orders.c.created_by)
            .join_from(orders, incidents, orders.c.incident_id == incidents.c.id)
            .where(incidents.c.created_at >= start, incidents.c.created_at < end)
            .order_by(orders.c.created_at))).all()
    left_out: Counter[str] = Counter()
    dispatches: dict[str, list[dict[str, Any]]] = {}
    for o in ords:
        if o.created_by in AUTOMATIC_ACTORS:
            left_out[NOT_COUNTED_AUTOMATIC] += 1
        elif o.verdict is None:
            left_out[NOT_COUNTED_UNRECORDED] += 1
        else:
            dispatches.setdefault(o.incident_id, []).append({"recommended_units": list(o.recommended or []),
                                                             "chosen_unit": o.unit_id})
    out = [{"id": r.id, "category": r.category,
            "machine_level": r.machine_level or (r.triage or {}).get("level"), "final_level": r.final_level,
            "dispatches": dispatches.get(r.id, []), "outcome_code": outcome_key(r.outcome_code, r.status)}
           for r in incs]
    return out, left_out


async def report(ctx: Context, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    """Acceptance and override rates of the machine's levels and unit recommendations for incidents created
    in [start, end), with the outcomes of accepted vs overridden suggestions."""
    found, left_out = await rows(ctx, start, end)
    result = accountability(found)
    result["not_counted"] = dict(sorted((Counter(result["not_counted"]) + left_out).items()))
    return {"from": iso(start), "to": iso(end), **result}
