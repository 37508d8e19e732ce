"""The application factory: the composition root that wires every sub-system into one server.

``create_app(settings)`` is used by ``jingyun serve`` and by the tests alike. Redis, the
database and the executors live in cleanup contexts, so start-up and shutdown run in order and
a failure in one stops start-up with its reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import uuid
import weakref
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import WSCloseCode, web
from redis.asyncio import Redis
from sqlalchemy import text

from web import appkeys, guards, middleware
from web.api import calls as calls_api
from web.api import cases as cases_api
from web.api import dispatch as dispatch_api
from web.api import evidence as evidence_api
from web.api import health as health_api
from web.api import inspections as inspections_api
from web.api import intel as intel_api
from web.api import interview as interview_api
from web.api import openapi as openapi_api
from web.api import pages as pages_api
from web.api import radio as radio_api
from web.api import voice as voice_api
from web.auth import route_roles
from web.db import make_engine, migrate
from web.embedded_redis import EmbeddedRedis
from web.metrics import Metrics
from web.readiness import Readiness
from web.settings import Settings

log = logging.getLogger("jingyun")

VERSION = "0.1.0"
INSTANCE_ID = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    """Connect to REDIS_URL, or start the private embedded Valkey when it is unset."""
    settings = app[appkeys.SETTINGS]
    embedded: EmbeddedRedis | None = None
    url = settings.redis_url
    if not url:
        embedded = EmbeddedRedis(settings.data_dir, start_timeout=settings.embedded_redis_start_timeout)
        # Popen from the loop's thread: PR_SET_PDEATHSIG is tied to the thread that forks.
        url = embedded.start()
    client = Redis.from_url(url, decode_responses=False, health_check_interval=15,
                            socket_keepalive=True, retry_on_timeout=True)
    app[appkeys.REDIS] = client
    app[appkeys.REDIS_URL] = url
    readiness = app[appkeys.READINESS]
    try:
        info = await client.info("server")
        readiness.set("redis", True, "embedded Valkey" if embedded else "external Redis",
                      version=str(info.get("valkey_version") or info.get("redis_version", "?")))
    except Exception as exc:
        readiness.set("redis", False, f"cannot reach Redis: {exc}")
        if embedded:
            embedded.stop()
        raise
    try:
        yield
    finally:
        await client.aclose()
        if embedded:
            embedded.stop()


async def db_ctx(app: web.Application) -> AsyncIterator[None]:
    """Open the database (SQLite WAL by default, PostgreSQL by URL) and apply migrations."""
    settings = app[appkeys.SETTINGS]
    engine = make_engine(settings.sqlalchemy_url)
    try:
        heads = await migrate(engine)
        async with engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO server_starts (instance, version, started_at) VALUES (:i, :v, :t)"),
                {"i": INSTANCE_ID, "v": VERSION, "t": dt.datetime.now(dt.UTC)})
    except Exception as exc:
        await engine.dispose()
        app[appkeys.READINESS].set("database", False, f"cannot open database: {exc}")
        raise
    app[appkeys.DB] = engine
    app[appkeys.READINESS].set("database", True, settings.database_kind, schema=",".join(heads))
    try:
        yield
    finally:
        await engine.dispose()


async def executor_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[appkeys.SETTINGS]
    pool = ThreadPoolExecutor(settings.executor_threads, thread_name_prefix="jingyun-io")
    app[appkeys.EXECUTOR] = pool
    try:
        yield
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


async def background_ctx(app: web.Application) -> AsyncIterator[None]:
    """Background tasks are cancelled and awaited on shutdown, after sockets are closed."""
    tasks: set[asyncio.Task[Any]] = app[appkeys.BACKGROUND_TASKS]
    yield
    for task in list(tasks):
        task.cancel()
    for task in list(tasks):
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def spawn(app: web.Application, coro: Any, name: str) -> asyncio.Task[Any]:
    """Start a background task owned by the app (cancelled on shutdown, errors logged)."""
    task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(coro, name=name)
    tasks = app[appkeys.BACKGROUND_TASKS]
    tasks.add(task)

    def done(t: asyncio.Task[Any]) -> None:
        tasks.discard(t)
        if not t.cancelled() and t.exception() is not None:
            log.error("background task %s failed", name, exc_info=t.exception())

    task.add_done_callback(done)
    return task


async def close_websockets(app: web.Application) -> None:
    """Graceful shutdown: every open WebSocket is closed with GOING_AWAY so clients reconnect elsewhere."""
    sockets: weakref.WeakSet[web.WebSocketResponse] = app[appkeys.WEBSOCKETS]
    for ws in list(sockets):
        with contextlib.suppress(Exception):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")


def check_routes_declare_roles(app: web.Application) -> None:
    """Refuse to start if any route forgot to declare its roles: nothing is open by accident."""
    missing = []
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        try:
            route_roles(route)
        except LookupError:
            missing.append(f"{route.method} {route.resource.canonical if route.resource else '?'}")
    if missing:
        raise RuntimeError("routes without a role declaration: " + ", ".join(missing))


SubsystemSetup = Callable[[web.Application], None]
SUBSYSTEMS: tuple[SubsystemSetup, ...] = (health_api.setup, dispatch_api.setup, voice_api.setup,
                                          intel_api.setup, radio_api.setup, calls_api.setup, interview_api.setup,
                                          cases_api.setup, evidence_api.setup, inspections_api.setup,
                                          openapi_api.setup, pages_api.setup)


def create_app(settings: Settings, **services: Any) -> web.Application:
    """Build the server. ``services`` lets tests inject shared heavy objects (e.g. ``asr_engine``)."""
    app = web.Application(
        client_max_size=settings.max_request_bytes,
        middlewares=[middleware.observe, middleware.json_errors, guards.malformed_input, middleware.authenticate],
    )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app[appkeys.SETTINGS] = settings
    app[appkeys.SECRET] = settings.resolved_secret()
    app[appkeys.METRICS] = metrics = Metrics.create()
    app[appkeys.METRICS_REGISTRY] = metrics.registry
    app[appkeys.READINESS] = Readiness()
    sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
    app[appkeys.WEBSOCKETS] = sockets
    app[appkeys.BACKGROUND_TASKS] = set()
    if services.get("asr_engine") is not None:
        app[appkeys.ASR_ENGINE] = services["asr_engine"]
    app.cleanup_ctx.extend([executor_ctx, redis_ctx, db_ctx])
    for setup in SUBSYSTEMS:
        setup(app)
    # Last in, first out: background tasks stop before the sub-systems, Redis and the database close.
    app.cleanup_ctx.append(background_ctx)
    app.on_shutdown.append(close_websockets)
    check_routes_declare_roles(app)
    return app
