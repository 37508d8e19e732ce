"""common.db.transaction: SQLite writers queue behind one lock per database file; PostgreSQL writers don't."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from common.db import transaction, writer_lock
from web.db import make_engine


async def _make_table(engine: AsyncEngine, name: str) -> sa.Table:
    table = sa.Table(name, sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("who", sa.Text))
    async with engine.begin() as conn:
        await conn.run_sync(table.metadata.create_all)
    return table


async def _overlap(engine_a: AsyncEngine, engine_b: AsyncEngine, table: sa.Table) -> list[str]:
    """Run two write transactions at once; the order in which they entered and left."""
    seen: list[str] = []
    a_inside = asyncio.Event()

    async def a() -> None:
        async with transaction(engine_a) as conn:
            seen.append("a in")
            a_inside.set()
            await conn.execute(table.insert().values(who="a"))
            await asyncio.sleep(0.1)
            seen.append("a out")

    async def b() -> None:
        await a_inside.wait()
        async with transaction(engine_b) as conn:
            seen.append("b in")
            await conn.execute(table.insert().values(who="b"))
        seen.append("b out")

    await asyncio.wait_for(asyncio.gather(a(), b()), 10)
    return seen


async def test_sqlite_writers_on_one_file_take_turns_even_through_two_engines(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'one.db'}"
    first, second = make_engine(url), make_engine(url)
    try:
        assert writer_lock(first) is writer_lock(second) is not None
        table = await _make_table(first, "turns")
        assert await _overlap(first, second, table) == ["a in", "a out", "b in", "b out"]
        async with first.connect() as conn:
            assert sorted((await conn.execute(sa.select(table.c.who))).scalars()) == ["a", "b"]
    finally:
        await first.dispose()
        await second.dispose()


async def test_sqlite_failed_transaction_rolls_back_and_frees_the_lock(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'rollback.db'}")
    try:
        table = await _make_table(engine, "rollback")
        with pytest.raises(RuntimeError):
            async with transaction(engine) as conn:
                await conn.execute(table.insert().values(who="lost"))
                raise RuntimeError("boom")
        lock = writer_lock(engine)
        assert lock is not None and not lock.locked()
        async with transaction(engine) as conn:
            await conn.execute(table.insert().values(who="kept"))
        async with engine.connect() as conn:
            assert list((await conn.execute(sa.select(table.c.who))).scalars()) == ["kept"]
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_postgresql_writers_run_side_by_side(pg_url: str) -> None:
    engine = make_engine(pg_url.replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        assert writer_lock(engine) is None
        table = await _make_table(engine, "side_by_side_check")
        try:
            assert await _overlap(engine, engine, table) == ["a in", "b in", "b out", "a out"]
        finally:
            async with engine.begin() as conn:
                await conn.run_sync(table.metadata.drop_all)
    finally:
        await engine.dispose()
