"""The database engine and its schema migrations (Alembic), one code path for SQLite and PostgreSQL.

SQLite runs in WAL mode with a busy timeout so readers never block the writer; PostgreSQL is
used through asyncpg. Migrations live in ``web/migrations`` and are applied at start-up; each
core package owns a migration branch (``heads`` upgrades them all), so their schemas evolve
independently.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create the async engine; SQLite gets WAL, foreign keys and a busy timeout on every connection."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def _upgrade(sync_conn: Connection) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = sync_conn
    command.upgrade(cfg, "heads")


async def migrate(engine: AsyncEngine) -> list[str]:
    """Apply every pending migration; returns the revisions now applied (the heads)."""
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Several server processes may start together: one migrates, the others wait.
            await conn.execute(text("SELECT pg_advisory_xact_lock(7420110)"))
        await conn.run_sync(_upgrade)
        heads = await conn.run_sync(lambda c: sorted(MigrationContext.configure(c).get_current_heads()))
    log.info("database schema at %s", ",".join(heads))
    return list(heads)


async def pending_migrations(engine: AsyncEngine) -> list[str]:
    """Heads in the code that the database has not reached (for ``jingyun doctor``)."""
    script = ScriptDirectory.from_config(alembic_config())
    async with engine.connect() as conn:
        current = await conn.run_sync(lambda c: set(MigrationContext.configure(c).get_current_heads()))
    return sorted(set(script.get_heads()) - current)
