"""Routes of the call sub-system (issue 12, item 5); see docs/voice.md and docs/dispatch.md.

* ``/ws/transcribe`` with ``"kind": "call"``: the stream opens its call with ``CallService.open_for_stream``.
* ``/api/calls/...``: live and recent calls, one call, its audio, duplicate suggestions, and the
  dispatcher's decision: a new incident, or attached to an open one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator

from aiohttp import web

from dispatch.model import OPEN_INCIDENT_STATES
from voice.calls.model import STATES
from voice.calls.service import LOST_AFTER_S, CallService
from web import appkeys, diskspace
from web.api.common import audio_response, handles_errors, json_body, limit_param, scorers, since_param
from web.auth import Role, principal, requires
from web.errors import NOT_FOUND, ApiError, bad_request

log = logging.getLogger("jingyun.calls.api")

ROLES = (Role.DISPATCHER, Role.ADMIN)

# Ids are ours (16 hex digits) or dispatch's; anything else is answered without touching the database.
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


# ---- routes ---------------------------------------------------------------------------------------------
def _limit(request: web.Request) -> int:
    return limit_param(request, default=50, hi=500)


def calls(request: web.Request) -> CallService:
    return request.app[appkeys.CALLS]


def _call_id(request: web.Request) -> str:
    call_id = request.match_info["id"]
    if not _ID.match(call_id):
        raise ApiError(404, NOT_FOUND, f"no call with id {call_id[:80]!r}")
    return call_id


@requires(*ROLES)
async def list_calls(request: web.Request) -> web.Response:
    """Live calls first, then recent ones: ``?state=live|ended|incident|attached&since=&incident_id=&limit=``."""
    state = request.query.get("state")
    if state is not None and state not in STATES:
        raise bad_request(f"state must be one of {', '.join(STATES)}, got {state!r}")
    incident_id = request.query.get("incident_id") or None
    if incident_id is not None and not _ID.match(incident_id):
        raise bad_request(f"incident_id {incident_id[:80]!r} is not an incident id", field="incident_id")
    items = await calls(request).list_calls(state=state, since=since_param(request), incident_id=incident_id,
                                            limit=_limit(request))
    return web.json_response({"calls": items})


@requires(*ROLES)
@handles_errors
async def get_call(request: web.Request) -> web.Response:
    return web.json_response(await calls(request).require(_call_id(request)))


@requires(*ROLES)
@handles_errors
async def call_audio(request: web.Request) -> web.Response:
    """The caller's audio (Opus/OGG, ``X-Audio-SHA256``), once the call has ended."""
    call = await calls(request).require(_call_id(request))
    if call["live"]:
        raise ApiError(404, NOT_FOUND, f"call {call['id']} is still live; its audio is stored when it ends")
    what = f"call {call['id']}" + (f" ({call['audio']['note']})" if call["audio"]["note"] else "")
    return await audio_response(request, call["audio"]["recording_id"], what)


@requires(*ROLES)
@handles_errors
async def call_duplicates(request: web.Request) -> web.Response:
    """Open incidents this call may be about (the card's "Attach to…" suggestions)."""
    return web.json_response({"duplicates": await calls(request).duplicates(_call_id(request))})


@requires(*ROLES)
@handles_errors
async def call_incident(request: web.Request) -> web.Response:
    """Make the call an incident (409 when it already is one or is attached to one)."""
    await json_body(request, allowed=(), optional=True)
    result = await calls(request).create_incident(_call_id(request), actor=principal(request).subject)
    return web.json_response(result, status=201)


@requires(*ROLES)
@handles_errors
async def call_attach(request: web.Request) -> web.Response:
    """Attach the call to an open incident: ``{"incident_id": ...}`` (404 for an unknown incident)."""
    data = await json_body(request, allowed=("incident_id",), optional=True)
    incident_id = data.get("incident_id")
    if not isinstance(incident_id, str) or not incident_id:
        raise bad_request("incident_id must be the id of an open incident", field="incident_id")
    if not _ID.match(incident_id):
        raise ApiError(404, NOT_FOUND, f"no incident with id {incident_id[:80]!r}")
    result = await calls(request).attach(_call_id(request), incident_id, actor=principal(request).subject)
    return web.json_response(result)


# ---- lifecycle ---------------------------------------------------------------------------------------------
async def calls_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[appkeys.SETTINGS]
    intel = settings.intel
    min_free = settings.radio.audio_min_free_mb

    def audio_ok(n: int) -> bool:
        ok, _free = diskspace.room_for(settings.data_dir, min_free, n)
        diskspace.report(app, min_free)  # /readyz follows the disk both ways
        return ok

    svc = CallService(app[appkeys.DB], settings.calls, dispatch=app[appkeys.DISPATCH], executor=app[appkeys.EXECUTOR],
                      opus_bitrate=settings.radio.opus_bitrate, open_states=OPEN_INCIDENT_STATES,
                      duplicate_limits=(intel.duplicate_max_minutes, intel.duplicate_max_meters,
                                        intel.duplicate_min_similarity),
                      max_text_chars=settings.dispatch.max_text_chars, audio_ok=audio_ok, **scorers(app))
    app[appkeys.CALLS] = svc
    task = asyncio.get_running_loop().create_task(_sweep_lost(svc), name="calls-lost-sweep")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def _sweep_lost(svc: CallService) -> None:
    """Calls whose server process died stay "live" in the table until this ends them (any process may)."""
    while True:
        await asyncio.sleep(LOST_AFTER_S / 2)
        try:
            lost = await svc.end_lost()
            if lost:
                log.warning("ended %d calls whose server process stopped: %s", len(lost), ", ".join(lost))
        except Exception:
            log.exception("lost-call sweep failed; retrying next period")


def setup(app: web.Application) -> None:
    """Register routes and the cleanup context (after dispatch's: the service needs it)."""
    app.cleanup_ctx.append(calls_ctx)
    r = app.router
    r.add_get("/api/calls", list_calls)
    r.add_get("/api/calls/{id}", get_call)
    r.add_get("/api/calls/{id}/audio", call_audio)
    r.add_get("/api/calls/{id}/duplicates", call_duplicates)
    r.add_post("/api/calls/{id}/incident", call_incident)
    r.add_post("/api/calls/{id}/attach", call_attach)
