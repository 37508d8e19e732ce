"""The write transaction of the case stores, with its entries in the hash-chained audit log.

Every change to evidence or a case file is written together with its audit entry (custody event,
hand-over, correction) in one transaction (``common.db.transaction``: on SQLite one writer at a time,
on PostgreSQL the audit append takes its advisory lock), so a change is never recorded without its
entry or the other way round. After the commit the new head of the chain is handed to
``record_head`` (the dispatch bus keeps it in Redis as a cross-check of the chain's end), as the
dispatch store does; nothing here knows about Redis.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cases.errors import NotFound
from common.db import transaction
from dispatch import audit as auditlog
from dispatch.tables import audit_log

log = logging.getLogger("jingyun.cases")

HeadRecorder = Callable[[int, str], Awaitable[None]]
_HEADS = "case_audit_heads"


class Journal:
    """Transactions and audit entries over one engine."""

    def __init__(self, engine: AsyncEngine, record_head: HeadRecorder | None = None) -> None:
        self.engine = engine
        self.record_head = record_head
        self.sqlite = engine.dialect.name == "sqlite"

    @contextlib.asynccontextmanager
    async def tx(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction; the audit entries appended in it commit with it."""
        heads: list[tuple[int, str]] = []
        async with transaction(self.engine) as conn:
            conn.info[_HEADS] = heads
            yield conn
        if heads and self.record_head is not None:
            try:
                await self.record_head(*max(heads))
            except Exception:  # the head is a cross-check; the chain in SQL is the record
                log.warning("could not record the audit head %s", max(heads), exc_info=True)

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    async def audit(self, conn: AsyncConnection, *, actor: str, action: str, target: str, before: Any,
                    after: Any, at: dt.datetime | None = None) -> tuple[int, str]:
        """Append one entry inside the caller's :meth:`tx`; returns its (seq, hash)."""
        head = await auditlog.append(conn, actor=actor, action=action, target=target, before=before, after=after,
                                     at=at)
        conn.info.setdefault(_HEADS, []).append(head)
        return head

    async def one(self, conn: AsyncConnection, table: sa.Table, where: Any, *, lock: bool, noun: str,
                  ident: str, field: str | None = None) -> Mapping[Any, Any]:
        """One row, locked for update on PostgreSQL when ``lock`` (SQLite serialises writers anyway)."""
        q = sa.select(table).where(where)
        if lock and not self.sqlite:
            q = q.with_for_update()
        row = (await conn.execute(q)).first()
        if row is None:
            details = {"field": field} if field else {}
            raise NotFound(f"no {noun} with id {ident!r}", **details)
        return row._mapping

    async def entries(self, target: str) -> list[dict[str, Any]]:
        """The audit entries of one target (``evidence:<id>``, ``case:<id>``) in order."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(sa.select(audit_log).where(audit_log.c.target == target)
                                      .order_by(audit_log.c.seq))
            return [dict(r._mapping) for r in rows]
