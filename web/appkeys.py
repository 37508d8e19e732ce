"""Typed application state: every ``web.AppKey`` the server uses, in one place."""

from __future__ import annotations

import asyncio
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from web.metrics import Metrics
    from web.readiness import Readiness
    from web.settings import Settings

SETTINGS = web.AppKey("settings", "Settings")
SECRET = web.AppKey("secret", str)
REDIS = web.AppKey("redis", Redis)
REDIS_URL = web.AppKey("redis_url", str)
DB = web.AppKey("db", AsyncEngine)
EXECUTOR = web.AppKey("executor", ThreadPoolExecutor)
METRICS_REGISTRY = web.AppKey("metrics_registry", CollectorRegistry)
METRICS = web.AppKey("metrics", "Metrics")
READINESS = web.AppKey("readiness", "Readiness")
WEBSOCKETS = web.AppKey("websockets", weakref.WeakSet[web.WebSocketResponse])
BACKGROUND_TASKS = web.AppKey("background_tasks", set[asyncio.Task[Any]])
# async (request, principal | None, reason) -> None: the audit log's record of a denied attempt.
AUDIT_DENIED = web.AppKey("audit_denied", object)
# Sub-system services, set by their web.api modules' cleanup contexts.
ASR_ENGINE = web.AppKey("asr_engine", object)
DISPATCH = web.AppKey("dispatch", object)
INTEL = web.AppKey("intel", object)
VOICE = web.AppKey("voice", object)
