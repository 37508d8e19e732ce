"""Probes and metrics: ``/healthz`` (alive), ``/readyz`` (dependencies), ``/metrics`` (Prometheus)."""

from __future__ import annotations

import asyncio

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from web import appkeys, diskspace
from web.auth import Role, public, requires

PROBE_TIMEOUT_S = 2.0


@public
async def healthz(request: web.Request) -> web.Response:
    """The process is alive and its event loop answers."""
    return web.json_response({"status": "ok"})


@public
async def readyz(request: web.Request) -> web.Response:
    """Redis, database, model, disk, ... each with a status and detail; 503 until every one is ready.

    Public (load balancers, status lights); the dispatcher console polls it for its status strip."""
    app = request.app
    readiness = app[appkeys.READINESS]
    if appkeys.REDIS in app:
        try:
            await asyncio.wait_for(app[appkeys.REDIS].ping(), PROBE_TIMEOUT_S)
            prev = readiness.components.get("redis")
            readiness.set("redis", True, prev.detail if prev else "", **(prev.info if prev else {}))
        except Exception as exc:
            readiness.set("redis", False, f"ping failed: {exc.__class__.__name__}: {exc}")
    if appkeys.DB in app:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S), app[appkeys.DB].connect() as conn:
                await conn.execute(text("SELECT 1"))
            prev = readiness.components.get("database")
            readiness.set("database", True, prev.detail if prev else "", **(prev.info if prev else {}))
        except Exception as exc:
            readiness.set("database", False, f"query failed: {exc.__class__.__name__}: {exc}")
    disk = readiness.components.get("disk")
    if disk is not None:
        # Free space is read on every probe (one statvfs), so a disk that fills up between audio
        # uploads, or gets space back, shows here and on the console without waiting for the next upload.
        min_free_mb = app[appkeys.SETTINGS].radio.audio_min_free_mb
        try:
            diskspace.report(app, min_free_mb)
        except OSError as exc:
            readiness.set("disk", False, f"cannot read free space: {exc}", min_free_mb=min_free_mb)
    body = readiness.snapshot()
    return web.json_response(body, status=200 if body["ready"] else 503)


@requires(Role.ADMIN, Role.SERVICE)
async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format; scrape with a service token."""
    payload = generate_latest(request.app[appkeys.METRICS_REGISTRY])
    resp = web.Response(body=payload)
    resp.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return resp


@requires(*Role)
async def whoami(request: web.Request) -> web.Response:
    """Who the token says the caller is (pages use it to show the signed-in role)."""
    from web.auth import principal

    who = principal(request)
    return web.json_response({"subject": who.subject, "role": who.role.value, "unit_id": who.unit_id,
                              "expires_at": who.expires_at})


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/api/whoami", whoami)
