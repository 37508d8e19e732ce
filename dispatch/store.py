"""The SQL side shared by every dispatch module: the write transaction with its audit entries, rows
by id, incident events, unit status writes, and the objects as the API shows them.

Every write goes through :meth:`Store.tx` (``common.db.transaction``: on SQLite one writer at a
time, which also keeps the audit chain in order; on PostgreSQL the audit append takes an advisory
lock). The audit entries appended in a transaction are committed with it, and the new head of the
chain is then recorded in Redis as a cross-check.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from common.db import transaction
from dispatch import audit as auditlog
from dispatch import views
from dispatch.bus import Bus
from dispatch.errors import InvalidInput, NotFound
from dispatch.model import UNIT_TRANSITIONS, check_transition, utcnow
from dispatch.tables import field_notes, incident_events, incidents, orders, unit_events, units

AuditHeads = list[tuple[int, str]]


class Store:
    """SQL reads and writes over one engine; the bus only records the audit head after commit."""

    def __init__(self, engine: AsyncEngine, bus: Bus) -> None:
        self.engine = engine
        self.bus = bus
        self.sqlite = engine.dialect.name == "sqlite"

    # ---- transactions and the audit log ----------------------------------------------------------
    @contextlib.asynccontextmanager
    async def tx(self, heads_out: AuditHeads | None = None) -> AsyncIterator[AsyncConnection]:
        """A write transaction; appends to the audit chain made in it are committed with it.

        The new audit head is recorded in Redis after the commit, unless the caller passes
        ``heads_out``: then the (seq, hash) of its entries are left there for the caller to record
        in the same round trip as its own Redis work (the order push, the ack).
        """
        heads: AuditHeads = heads_out if heads_out is not None else []
        async with transaction(self.engine) as conn:
            conn.info["audit_heads"] = heads
            yield conn
        if heads and heads_out is None:
            with contextlib.suppress(Exception):  # the head is a cross-check; the chain is the record
                await self.bus.record_audit_head(*max(heads))

    async def audit(self, conn: AsyncConnection, actor: str, action: str, target: str, before: Any,
                    after: Any) -> None:
        """Append one audit entry inside the caller's transaction (see :meth:`tx`)."""
        seq, digest = await auditlog.append(conn, actor=actor, action=action, target=target,
                                            before=before, after=after)
        conn.info.setdefault("audit_heads", []).append((seq, digest))

    # ---- rows by id --------------------------------------------------------------------------------
    async def row(self, table: sa.Table, noun: str, field: str, row_id: str, conn: AsyncConnection | None,
                  lock: bool, *, label: str = "") -> dict[str, Any]:
        """One row by id, optionally locked for update (PostgreSQL; SQLite serialises writers anyway)."""
        if not isinstance(row_id, str) or not row_id:
            raise InvalidInput(f"{label or noun + ' id'} must be a non-empty string", field=field)
        q = sa.select(table).where(table.c.id == row_id)
        if lock and not self.sqlite:
            q = q.with_for_update()
        if conn is None:
            async with self.engine.connect() as c:
                row = (await c.execute(q)).first()
        else:
            row = (await conn.execute(q)).first()
        if row is None:
            raise NotFound(f"no {noun} with id {row_id!r}")
        return dict(row._mapping)

    async def incident_row(self, incident_id: str, conn: AsyncConnection | None = None,
                           lock: bool = False) -> dict[str, Any]:
        return await self.row(incidents, "incident", "incident_id", incident_id, conn, lock)

    async def unit_row(self, unit_id: str, conn: AsyncConnection | None = None, lock: bool = False) -> dict[str, Any]:
        return await self.row(units, "unit", "unit_id", unit_id, conn, lock)

    async def order_row(self, order_id: str, conn: AsyncConnection | None = None) -> dict[str, Any]:
        return await self.row(orders, "order", "order_id", order_id, conn, lock=False, label="order_id")

    # ---- writes shared by several modules ------------------------------------------------------------
    async def incident_event(self, conn: AsyncConnection, incident_id: str, kind: str, actor: str,
                             data: dict[str, Any], at: dt.datetime | None = None) -> None:
        await conn.execute(incident_events.insert().values(incident_id=incident_id, at=at or utcnow(),
                                                           kind=kind, actor=actor, data=data))

    async def move_unit(self, conn: AsyncConnection, unit_id: str, current: str, status: str, actor: str,
                        source: str, note: str, now: dt.datetime) -> None:
        """Change a unit's status along its transition table, with a timestamped event."""
        check_transition("unit", UNIT_TRANSITIONS, current, status)
        await conn.execute(units.update().where(units.c.id == unit_id).values(status=status, updated_at=now))
        await conn.execute(unit_events.insert().values(unit_id=unit_id, at=now, from_status=current,
                                                       to_status=status, actor=actor, source=source, note=note))

    # ---- objects as the API shows them ------------------------------------------------------------------
    async def get_incident(self, incident_id: str) -> dict[str, Any]:
        """The incident as API JSON, with its history, texts, duplicates, transcripts, orders and field notes."""
        row = await self.incident_row(incident_id)
        async with self.engine.connect() as conn:
            evs = (await conn.execute(sa.select(incident_events).where(incident_events.c.incident_id == incident_id)
                                      .order_by(incident_events.c.id))).all()
            ords = (await conn.execute(sa.select(orders).where(orders.c.incident_id == incident_id)
                                       .order_by(orders.c.created_at))).all()
            notes = (await conn.execute(sa.select(field_notes).where(field_notes.c.incident_id == incident_id)
                                        .order_by(field_notes.c.created_at, field_notes.c.id))).all()
        return views.incident_json(row, [dict(e._mapping) for e in evs],
                                   [views.order_json(dict(o._mapping)) for o in ords],
                                   [views.field_note_json(dict(n._mapping), incident_id) for n in notes])

    async def get_unit(self, unit_id: str) -> dict[str, Any]:
        return views.unit_json(await self.unit_row(unit_id))

    async def get_order(self, order_id: str) -> dict[str, Any]:
        return views.order_json(await self.order_row(order_id))
