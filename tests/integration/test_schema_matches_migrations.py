"""The schema is written twice: as SQLAlchemy tables (``*/tables.py``, what the code queries) and as
Alembic revisions (``web/migrations/versions``, what start-up creates). This test upgrades an empty
database with the migrations exactly as start-up does and compares it with the tables, on SQLite and
on PostgreSQL, so the two cannot drift apart unnoticed.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from web.db import make_engine, migrate

REPO = Path(__file__).resolve().parents[2]


def _all_tables_metadata() -> list[sa.MetaData]:
    """Every package's ``tables.py`` (found on disk, so a new package's tables cannot be left out)."""
    found = []
    for path in sorted(REPO.glob("*/**/tables.py")):
        rel = path.relative_to(REPO)
        if rel.parts[0] in ("tests", "web", "bench", "build") or rel.parts[0].startswith("."):
            continue
        module = importlib.import_module(".".join(rel.with_suffix("").parts))
        found.append(module.metadata)
    return found


# Every package's tables: what the code reads and writes.
METADATA = _all_tables_metadata()
# Created by the migrations but deliberately without a Table object: web/app.py writes one row per
# start with plain SQL and nothing reads it back.
MIGRATION_ONLY_TABLES = {"server_starts"}


def _same_default(_context: Any, _inspected: Any, _column: Any, in_db: str | None, _default: Any,
                  in_code: str | None) -> bool | None:
    """False (no difference) when the defaults are equal once quotes and brackets are stripped, else
    None: alembic decides. SQLite reflects ``server_default=""`` as ``('')``, which alembic alone
    reports as a change."""
    def bare(text: str | None) -> str | None:
        return None if text is None else text.strip("()'\"")
    return False if bare(in_db) == bare(in_code) else None


def _differences(sync_conn: Connection) -> list[Any]:
    context = MigrationContext.configure(sync_conn, opts={"compare_type": True,
                                                          "compare_server_default": _same_default})
    diffs = compare_metadata(context, METADATA)  # type: ignore[arg-type]  # a sequence is accepted
    return [d for d in diffs if not (isinstance(d, tuple) and d[0] == "remove_table"
                                     and d[1].name in MIGRATION_ONLY_TABLES)]


def _show(value: Any) -> str:
    """A column type, nullability or server default as it would be written in a migration."""
    arg = getattr(value, "arg", None)  # a DefaultClause: show its SQL text, not the object
    if arg is not None:
        return repr(getattr(arg, "text", arg))
    return repr(value)


def _describe(diff: Any) -> str:
    """One readable line per difference (alembic gives tuples; changed columns come as lists of them)."""
    if isinstance(diff, list):
        return "\n".join(_describe(d) for d in diff)
    op = diff[0]
    if op.startswith("modify_"):  # (op, schema, table, column, existing, migrations' value, tables.py's)
        _op, _schema, table, column, _existing, in_db, in_code = diff
        return f"{op} {table}.{column}: migrations give {_show(in_db)}, tables.py says {_show(in_code)}"
    side = "tables.py only" if op.startswith("add_") else "migrations only"
    if op in ("add_column", "remove_column"):  # (op, schema, table, Column)
        return f"{op} ({side}): {diff[2]}.{diff[3].name}"
    obj = diff[1]  # a Table, Index or constraint
    table = getattr(getattr(obj, "table", None), "name", "")
    return f"{op} ({side}): {table + ' ' if table else ''}{obj.name}"


async def _assert_same(engine: AsyncEngine) -> None:
    await migrate(engine)
    async with engine.connect() as conn:
        diffs = await conn.run_sync(_differences)
    assert not diffs, ("the migrations and tables.py disagree (add a migration, or fix tables.py):\n"
                       + "\n".join(_describe(d) for d in diffs))


async def test_sqlite_schema_from_migrations_matches_tables(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'schema.db'}")
    try:
        await _assert_same(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def empty_pg_schema(pg_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine whose connections see only a private, empty schema of the session's test database."""
    url = pg_url.replace("postgresql://", "postgresql+asyncpg://", 1)
    schema = f"schema_check_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url)
    async with admin.begin() as conn:
        await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(url, connect_args={"server_settings": {"search_path": schema}})
    try:
        yield engine
    finally:
        await engine.dispose()
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.mark.postgres
async def test_postgresql_schema_from_migrations_matches_tables(empty_pg_schema: AsyncEngine) -> None:
    await _assert_same(empty_pg_schema)
