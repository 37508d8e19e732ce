"""Typed application state: every ``web.AppKey`` the server uses, in one place."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from web.metrics import Metrics
from web.readiness import Readiness
from web.settings import Settings

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
SECRET = web.AppKey("secret", str)
REDIS = web.AppKey("redis", Redis)
REDIS_URL = web.AppKey("redis_url", str)
DB = web.AppKey("db", AsyncEngine)
EXECUTOR = web.AppKey("executor", ThreadPoolExecutor)
METRICS_REGISTRY = web.AppKey("metrics_registry", CollectorRegistry)
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
READINESS: web.AppKey[Readiness] = web.AppKey("readiness")
WEBSOCKETS: web.AppKey[weakref.WeakSet[web.WebSocketResponse]] = web.AppKey("websockets")
BACKGROUND_TASKS = web.AppKey("background_tasks", set[asyncio.Task[Any]])
# async (request, principal | None, reason) -> None: the audit log's record of a denied attempt.
AUDIT_DENIED: web.AppKey[Callable[[web.Request, Any, str], Awaitable[None]]] = web.AppKey("audit_denied")
# Sub-system services, set by their web.api modules' cleanup contexts.
ASR_ENGINE = web.AppKey("asr_engine", object)
DISPATCH = web.AppKey("dispatch", object)
INTEL = web.AppKey("intel", object)
VOICE = web.AppKey("voice", object)
