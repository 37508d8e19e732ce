"""Typed application state: every ``web.AppKey`` the server uses, in one place.

Each key is typed with the class it holds. The services defined in route modules (``VoiceService``,
``IntelState``) and the core services are imported for type checking only: their modules import this
one, and a key needs only its name at run time.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from web.metrics import Metrics
from web.page_settings import PageSettings
from web.readiness import Readiness
from web.settings import Settings

if TYPE_CHECKING:
    from analytics.rules import RuleBook
    from cases.service import CaseService
    from dispatch.live import Hub
    from dispatch.service import DispatchService
    from inspections.service import InspectionService
    from voice.calls.service import CallService
    from voice.engine import AsrEngine
    from voice.interview.store import InterviewStore
    from voice.radio.service import RadioService
    from voice.radio.settings import RadioSettings
    from web.api.intel import IntelState
    from web.api.voice import VoiceService

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
SECRET: web.AppKey[str] = web.AppKey("secret")
REDIS: web.AppKey[Redis] = web.AppKey("redis")
REDIS_URL: web.AppKey[str] = web.AppKey("redis_url")
DB: web.AppKey[AsyncEngine] = web.AppKey("db")
EXECUTOR: web.AppKey[ThreadPoolExecutor] = web.AppKey("executor")
METRICS_REGISTRY: web.AppKey[CollectorRegistry] = web.AppKey("metrics_registry")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
READINESS: web.AppKey[Readiness] = web.AppKey("readiness")
WEBSOCKETS: web.AppKey[weakref.WeakSet[web.WebSocketResponse]] = web.AppKey("websockets")
BACKGROUND_TASKS: web.AppKey[set[asyncio.Task[Any]]] = web.AppKey("background_tasks")
# async (request, principal | None, reason) -> None: the audit log's record of a denied attempt.
AUDIT_DENIED: web.AppKey[Callable[[web.Request, Any, str], Awaitable[None]]] = web.AppKey("audit_denied")
OPENAPI: web.AppKey[dict[str, Any]] = web.AppKey("openapi_document")
PAGE_SETTINGS: web.AppKey[PageSettings] = web.AppKey("page_settings")
PAGE_HTML: web.AppKey[dict[str, str]] = web.AppKey("page_html")  # page name -> rendered HTML

# Sub-system services, set by their web.api modules' cleanup contexts (tests may inject ASR_ENGINE).
ASR_ENGINE: web.AppKey[AsrEngine] = web.AppKey("asr_engine")
VOICE: web.AppKey[VoiceService] = web.AppKey("voice")
DISPATCH: web.AppKey[DispatchService] = web.AppKey("dispatch")
HUB: web.AppKey[Hub] = web.AppKey("dispatch_hub")
INTEL: web.AppKey[IntelState] = web.AppKey("intel")
# The triage rules in force for this app (set by web.api.intel.setup, loaded by its cleanup context):
# every scorer and analysis of the app reads them here, so a reload changes this app only.
RULES: web.AppKey[RuleBook] = web.AppKey("rules")
RADIO: web.AppKey[RadioService] = web.AppKey("radio")
RADIO_SETTINGS: web.AppKey[RadioSettings] = web.AppKey("radio_settings")  # settings.radio, for the gateway
INTERVIEWS: web.AppKey[InterviewStore] = web.AppKey("interviews")
CALLS: web.AppKey[CallService] = web.AppKey("calls")
CASES: web.AppKey[CaseService] = web.AppKey("cases")  # evidence bag and case files (web.api.cases)
INSPECTIONS: web.AppKey[InspectionService] = web.AppKey("inspections")
