"""Write transactions over the one database engine, the same for every store.

SQLite has a single writer: two writers at once means one of them waits inside SQLite (busy
timeout) while holding a connection, and the dispatch audit chain needs its appends in order. So on
SQLite every write transaction of every package (dispatch, interviews, radio, transcripts) first
takes one asyncio lock per database file, and writers queue in the event loop instead. Readers take
no lock (WAL lets them run beside the writer). On PostgreSQL nothing extra is done: row locks
(``FOR UPDATE``) and advisory locks order what must be ordered, and writers run side by side.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

# Keyed by the database URL, not the engine object: two apps on one file in one process (tests,
# a command next to a server's engine) must still queue behind each other.
_WRITER_LOCKS: dict[str, asyncio.Lock] = {}


def writer_lock(engine: AsyncEngine) -> asyncio.Lock | None:
    """The lock every writer to this SQLite database holds for its transaction; None on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return None
    return _WRITER_LOCKS.setdefault(str(engine.url), asyncio.Lock())


@asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """``engine.begin()`` for a write: committed on exit, rolled back on an exception, and on SQLite
    serialised with every other writer to the same file. Never nest two on one SQLite database: the
    lock is not re-entrant."""
    lock = writer_lock(engine)
    if lock is None:
        async with engine.begin() as conn:
            yield conn
        return
    async with lock, engine.begin() as conn:
        yield conn
