"""Shared fixtures: real Redis, real PostgreSQL, the app built by the same factory as production.

* External Redis: ``JINGYUN_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``). Every test gets
  its own key prefix, so tests (and several developers' runs) never see each other's keys.
* PostgreSQL: ``JINGYUN_TEST_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``);
  one fresh database is created per test session and dropped at the end.
* ``stack``: the app runs on ``sqlite+embedded`` (SQLite, private Valkey) and on
  ``postgres+external`` (PostgreSQL, the Redis server), so both databases and both Redis modes
  are exercised by the same tests.
Sub-system fixtures live in ``tests/fixtures_*.py`` and are imported here.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from tests.fixtures_dispatch import dispatch_api  # noqa: F401
from tests.fixtures_voice import *  # noqa
from web.app import create_app
from web.auth import Role, issue_token
from web.settings import Settings

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("JINGYUN_SHARED_DIR", REPO.parent / "shared")).resolve()
REDIS_URL = os.environ.get("JINGYUN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PG_ADMIN_URL = os.environ.get("JINGYUN_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

STACKS = ("sqlite+embedded", "postgres+external")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"test data not found at {SHARED}; set JINGYUN_SHARED_DIR")
    return SHARED


@pytest.fixture(scope="session")
def redis_url() -> str:
    return REDIS_URL


@pytest.fixture
def redis_prefix() -> str:
    return f"jyt:{uuid.uuid4().hex[:10]}:"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (postgresql:// URL)."""
    import asyncpg

    name = f"jingyun_test_{uuid.uuid4().hex[:10]}"
    admin = PG_ADMIN_URL

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    base = admin.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def make_settings(tmp_path: Path, redis_prefix: str) -> Callable[..., Settings]:
    """Settings for a test app: a private data dir, external Redis with a private prefix, SQLite."""

    def make(**overrides: Any) -> Settings:
        env = {"JINGYUN_DATA_DIR": str(tmp_path / "data"), "REDIS_URL": REDIS_URL,
               "JINGYUN_REDIS_PREFIX": redis_prefix, "JINGYUN_SECRET": "t" * 40,
               "JINGYUN_LOAD_MODEL": "0", "JINGYUN_LOG_JSON": "0"}
        env.update({k: str(v) for k, v in overrides.pop("env", {}).items()})
        return Settings.from_env(env, **overrides)

    return make


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest, pg_url: str) -> dict[str, str]:
    """Environment overrides selecting a database and Redis mode; parametrised over both stacks."""
    if request.param == "sqlite+embedded":
        return {"REDIS_URL": ""}
    return {"DATABASE_URL": pg_url}


ClientFactory = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]


@pytest.fixture
async def make_client(make_settings: Callable[..., Settings]) -> AsyncIterator[ClientFactory]:
    """Start apps on a free port with the production factory; all are closed after the test."""
    clients: list[TestClient[web.Request, web.Application]] = []

    async def make(env: dict[str, str] | None = None, **services: Any) -> TestClient[web.Request, web.Application]:
        settings = make_settings(env=env or {})
        app = create_app(settings, **services)
        server = TestServer(app, host="127.0.0.1")
        # As `jingyun serve` does (web/commands/core.py): handlers still running 10 s into a graceful
        # shutdown are cancelled. aiohttp's default, 60 s, was the "intermittent shutdown hang".
        await server.start_server(shutdown_timeout=SERVE_SHUTDOWN_TIMEOUT_S)
        client = TestClient(server)
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for c in reversed(clients):
        await _close_bounded(c)


SERVE_SHUTDOWN_TIMEOUT_S = 10.0
SLOW_SHUTDOWN_S = 5.0
SHUTDOWN_BOUND_S = 60.0


async def _close_bounded(client: TestClient[web.Request, web.Application]) -> None:
    """Close a test app, but never wait forever. A close slower than SLOW_SHUTDOWN_S means a handler
    did not end when the server shut down: every pending task's stack is printed, so the handler that
    kept the server waiting is named in the test output."""
    closing = asyncio.ensure_future(client.close())
    done, _ = await asyncio.wait({closing}, timeout=SLOW_SHUTDOWN_S)
    if not done:
        _print_tasks(f"[slow shutdown] app still stopping after {SLOW_SHUTDOWN_S:g}s; tasks pending:")
        done, _ = await asyncio.wait({closing}, timeout=SHUTDOWN_BOUND_S - SLOW_SHUTDOWN_S)
    if done:
        closing.result()
        return
    _print_tasks(f"[shutdown hang] app did not stop within {SHUTDOWN_BOUND_S:g}s; tasks pending:")


def _print_tasks(title: str) -> None:
    import sys
    import traceback

    print("\n" + title, file=sys.stderr)
    for task in asyncio.all_tasks():
        if task.done():
            continue
        print(f"--- {task.get_name()}", file=sys.stderr)
        for frame in task.get_stack(limit=8):
            print("".join(traceback.format_stack(frame, limit=1)).rstrip(), file=sys.stderr)


@pytest.fixture
async def client(make_client: ClientFactory) -> TestClient[web.Request, web.Application]:
    """An app on SQLite and the external Redis, model not loaded."""
    return await make_client()


def token_for(app: web.Application, role: Role | str, unit_id: str | None = None, ttl: int = 600) -> str:
    from web import appkeys

    return issue_token(app[appkeys.SECRET], role, unit_id=unit_id, ttl=ttl)


def auth(app: web.Application, role: Role | str, unit_id: str | None = None) -> dict[str, str]:
    """Authorization header for a fresh token of ``role``."""
    return {"Authorization": f"Bearer {token_for(app, role, unit_id)}"}


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    # After pytest's own unraisable-exception hook is in place: a leaked socket's report names its origin.
    from tests import leaks

    leaks.install(config)
