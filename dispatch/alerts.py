"""Alerts for dispatchers (an order nobody acknowledged, an incident that could not be scored, a P1
that found no unit): stored, audited, pushed to every console, exportable as CAP."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from common.ids import new_id
from dispatch.context import Context
from dispatch.errors import NotFound
from dispatch.model import iso, utcnow
from dispatch.tables import alerts
from dispatch.views import alert_json


async def raise_alert(ctx: Context, kind: str, severity: str, message: str, *, message_zh: str | None = None,
                      incident_id: str | None = None, order_id: str | None = None, **details: Any) -> dict[str, Any]:
    """Store an alert for dispatchers (in both languages, with its JSON ``details``) and push it to every
    console; a console loading alerts later gets the same object as the live event."""
    now = utcnow()
    row = {"id": new_id(), "kind": kind, "severity": severity, "incident_id": incident_id,
           "order_id": order_id, "message": message, "message_zh": message_zh, "details": details or None,
           "created_at": now}
    async with ctx.store.tx() as conn:
        await conn.execute(alerts.insert().values(**row))
        await ctx.store.audit(conn, "system", "alert.raise", f"alert:{row['id']}", None,
                              {**row, "created_at": iso(now)})
    alert = alert_json(row)
    await ctx.console.publish({"type": "alert", "alert": alert})
    return alert


async def recent(ctx: Context, *, limit: int | None = None) -> list[dict[str, Any]]:
    """Newest first, at most ``limit`` (capped by JINGYUN_MAX_LIST)."""
    q = sa.select(alerts).order_by(alerts.c.created_at.desc()).limit(
        min(limit or ctx.settings.max_list, ctx.settings.max_list))
    async with ctx.store.engine.connect() as conn:
        return [alert_json(dict(r._mapping)) for r in (await conn.execute(q)).all()]


async def get(ctx: Context, alert_id: str) -> dict[str, Any]:
    async with ctx.store.engine.connect() as conn:
        row = (await conn.execute(sa.select(alerts).where(alerts.c.id == alert_id))).first()
    if row is None:
        raise NotFound(f"no alert with id {alert_id!r}")
    return alert_json(dict(row._mapping))
