"""HTTP and WebSocket routes of the radio sub-system (issue 6); see docs/radio.md.

* ``/ws/radio/{channel}``: a radio gateway streams a channel's audio with push-to-talk events.
* ``POST /api/call-upload``: the rdio-scanner upload form, so trunk-recorder feeds Jingyun unchanged.
* ``/api/radio/...``: channels, transmissions, audio, status updates (undo), suggested incidents.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_request import FileField

from voice.admission import Admission
from voice.audio import AudioError, decode_file
from voice.radio import keys as radio_keys
from voice.radio.channels import Channel, check_channel
from voice.radio.gateway import GatewayConnection, segmenter_config
from voice.radio.ptt import make_transmission
from voice.radio.rdio import SUCCESS_TEXT, parse_call_form
from voice.radio.recording import sweep_expired
from voice.radio.service import RadioService
from web import appkeys, diskspace
from web.api.common import audio_response, handles_errors, json_body, limit_param, scorers, since_param
from web.api.common import voice_service as service_of_voice  # the gateway's name for it
from web.appkeys import RADIO, RADIO_SETTINGS
from web.auth import Role, principal, requires, token_in_form
from web.errors import NOT_FOUND, ApiError, bad_request
from web.ws import Connection

log = logging.getLogger("jingyun.radio.api")

READ_ROLES = (Role.DISPATCHER, Role.ADMIN, Role.SERVICE)
ACT_ROLES = (Role.DISPATCHER, Role.ADMIN)
GATEWAY_ROLES = (Role.SERVICE, Role.ADMIN)



def _limit(request: web.Request) -> int:
    return limit_param(request, default=100, hi=1000)


def radio(request: web.Request) -> RadioService:
    return request.app[RADIO]


async def _channel(request: web.Request, channel_id: str) -> Channel:
    channel = await radio(request).channels.get(channel_id)
    if channel is None:
        raise ApiError(404, NOT_FOUND, f"no radio channel {channel_id!r}; create it with POST /api/radio/channels")
    return channel


# ---- channels ---------------------------------------------------------------------------------
@requires(*READ_ROLES)
async def list_channels(request: web.Request) -> web.Response:
    return web.json_response({"channels": [c.to_dict() for c in await radio(request).channels.list()]})


@requires(Role.ADMIN, Role.DISPATCHER)
@handles_errors
async def create_channel(request: web.Request) -> web.Response:
    channel = check_channel(await json_body(request))
    await radio(request).channels.save(channel, create=True)
    return web.json_response(channel.to_dict(), status=201)


@requires(*READ_ROLES)
async def get_channel(request: web.Request) -> web.Response:
    return web.json_response((await _channel(request, request.match_info["id"])).to_dict())


@requires(Role.ADMIN, Role.DISPATCHER)
@handles_errors
async def update_channel(request: web.Request) -> web.Response:
    cid = request.match_info["id"]
    current = await radio(request).channels.get(cid)
    channel = check_channel(await json_body(request), channel_id=cid, current=current)
    await radio(request).channels.save(channel, create=False)
    return web.json_response(channel.to_dict(), status=200 if current else 201)


@requires(Role.ADMIN)
async def delete_channel(request: web.Request) -> web.Response:
    cid = request.match_info["id"]
    if not await radio(request).channels.delete(cid):
        raise ApiError(404, NOT_FOUND, f"no radio channel {cid!r}")
    return web.json_response({"deleted": cid})


@requires(Role.ADMIN, Role.DISPATCHER)
@handles_errors
async def set_alias(request: web.Request) -> web.Response:
    body = await json_body(request)
    unit_id = body.get("unit_id")
    if not isinstance(unit_id, str) or not unit_id:
        raise bad_request("unit_id must be the id of a dispatch unit", field="unit_id")
    radio_id = request.match_info["radio_id"]
    await radio(request).set_alias(radio_id, unit_id)
    return web.json_response({"radio_id": radio_id, "unit_id": unit_id})


# ---- transmissions, audio ---------------------------------------------------------------------
@requires(*READ_ROLES)
async def list_transmissions(request: web.Request) -> web.Response:
    items = await radio(request).list_transmissions(channel=request.query.get("channel"),
                                                    unit_id=request.query.get("unit_id"),
                                                    since=since_param(request), limit=_limit(request))
    return web.json_response({"transmissions": items})


@requires(*READ_ROLES)
async def get_transmission(request: web.Request) -> web.Response:
    tx = await radio(request).get_transmission(request.match_info["id"])
    if tx is None:
        raise ApiError(404, NOT_FOUND, f"no transmission {request.match_info['id']!r}")
    return web.json_response(tx)


@requires(Role.DISPATCHER, Role.ADMIN)
async def transmission_audio(request: web.Request) -> web.Response:
    tx = await radio(request).get_transmission(request.match_info["id"])
    if tx is None:
        raise ApiError(404, NOT_FOUND, f"no transmission {request.match_info['id']!r}")
    return await audio_response(request, tx["recording_id"], f"transmission {tx['id']}")


# ---- status updates, suggestions ----------------------------------------------------------------
@requires(*READ_ROLES)
async def list_status_updates(request: web.Request) -> web.Response:
    items = await radio(request).list_status_updates(unit_id=request.query.get("unit_id"), limit=_limit(request))
    return web.json_response({"status_updates": items})


@requires(*ACT_ROLES)
@handles_errors
async def undo_status(request: web.Request) -> web.Response:
    who = principal(request)
    return web.json_response(await radio(request).undo_status(request.match_info["id"], actor=who.subject))


@requires(*ACT_ROLES)
@handles_errors
async def confirm_status(request: web.Request) -> web.Response:
    who = principal(request)
    return web.json_response(await radio(request).confirm_status(request.match_info["id"], actor=who.subject))


@requires(*READ_ROLES)
async def list_suggestions(request: web.Request) -> web.Response:
    state = request.query.get("state")
    if state is not None and state not in ("suggested", "accepted", "dismissed"):
        raise bad_request(f"state must be suggested, accepted or dismissed, got {state!r}")
    return web.json_response({"suggestions": await radio(request).list_suggestions(state=state,
                                                                                  limit=_limit(request))})


@requires(*ACT_ROLES)
@handles_errors
async def accept_suggestion(request: web.Request) -> web.Response:
    body = await json_body(request, optional=True)
    text = body.get("text")
    if text is not None and (not isinstance(text, str) or not text.strip()):
        raise bad_request("text, when given, must be the corrected incident text", field="text")
    result = await radio(request).accept(request.match_info["id"], actor=principal(request).subject, text=text)
    return web.json_response(result, status=201)


@requires(*ACT_ROLES)
@handles_errors
async def dismiss_suggestion(request: web.Request) -> web.Response:
    body = await json_body(request, optional=True)
    reason = body.get("reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 500):
        raise bad_request("reason must be a string of at most 500 characters", field="reason")
    return web.json_response(await radio(request).dismiss(request.match_info["id"],
                                                          actor=principal(request).subject, reason=reason))


@requires(Role.ADMIN)
async def retention_sweep(request: web.Request) -> web.Response:
    deleted = await sweep_expired(request.app[appkeys.DB], _audit_fn(request.app))
    return web.json_response({"deleted": deleted})


# ---- rdio-scanner upload ----------------------------------------------------------------------------
@token_in_form("key")  # rdio-scanner sends its key as a form field
@requires(Role.SERVICE, Role.ADMIN)
@handles_errors
async def call_upload(request: web.Request) -> web.StreamResponse:
    """rdio-scanner's form; answers its success text so trunk-recorder's uploader is satisfied."""
    app = request.app
    rs = app[RADIO_SETTINGS]
    if not request.content_type.startswith("multipart/"):
        raise bad_request("send the rdio-scanner upload as multipart/form-data with an 'audio' file part and "
                          "the fields dateTime, system, talkgroup (and source, frequency, talkgroupLabel, ...)")
    # request.post() parses once and caches the form, so the auth middleware may read the 'key'
    # field first (rdio-scanner's way of sending its key) without consuming the body.
    try:
        form = await request.post()
    except (ValueError, HttpProcessingError) as exc:  # e.g. a part header that is not valid HTTP
        raise bad_request(f"malformed multipart form: {getattr(exc, 'message', None) or exc}") from None
    fields: dict[str, str] = {k: v[:10_000] for k, v in form.items() if isinstance(v, str)}
    audio: bytes | None = None
    part = form.get("audio")
    if isinstance(part, FileField):
        # aiohttp spools file parts to a temporary file: read it off the event loop.
        audio = await asyncio.get_running_loop().run_in_executor(app[appkeys.EXECUTOR], part.file.read,
                                                                 rs.max_upload_bytes + 1)
        if len(audio) > rs.max_upload_bytes:
            raise ApiError(413, "too_large", f"the audio file is larger than the limit of {rs.max_upload_bytes} "
                                             "bytes (JINGYUN_RADIO_MAX_UPLOAD_BYTES)")
        if part.filename and "audioName" not in fields:
            fields["audioName"] = part.filename
    meta = parse_call_form(fields)
    if not audio:
        raise bad_request("the 'audio' file part is missing or empty; accepted: WAV, MP3, M4A/AAC, OGG/Opus, FLAC",
                          field="audio")
    svc = radio(request)
    existing = await svc.existing_upload(meta.upload_key)
    if existing is not None:
        return _upload_reply(request, existing, duplicate=True)
    service_of_voice(app).require_engine()  # 503 with the reason before any work is done
    loop = asyncio.get_running_loop()
    try:
        samples = await loop.run_in_executor(app[appkeys.EXECUTOR], decode_file, audio, rs.max_call_seconds)
    except AudioError as exc:
        raise bad_request(str(exc), field="audio") from None
    channel = await svc.channels.ensure_for_talkgroup(meta.system, meta.talkgroup, meta.talkgroup_label)
    tx = make_transmission(0, meta.source, samples, 16000, 0.0, meta.started_at, "upload",
                           segmenter_config(rs, 16000))
    outcome = await svc.process(channel, tx, system=meta.system, talkgroup=meta.talkgroup,
                                upload_key=meta.upload_key, meta=meta.to_dict())
    return _upload_reply(request, outcome.transmission, duplicate=outcome.duplicate)


def _upload_reply(request: web.Request, tx: dict[str, Any], *, duplicate: bool) -> web.StreamResponse:
    # rdio-scanner's uploader looks for this exact text; a repeat is accepted (and not filed twice).
    headers = {"X-Transmission-Id": tx["id"], "X-Duplicate": "true" if duplicate else "false"}
    if "application/json" in request.headers.get("Accept", ""):
        return web.json_response({"message": SUCCESS_TEXT, "duplicate": duplicate, "transmission": tx},
                                 headers=headers)
    return web.Response(text=SUCCESS_TEXT, headers=headers)




# ---- the gateway WebSocket -------------------------------------------------------------------------
@requires(*GATEWAY_ROLES)
@handles_errors
async def ws_radio(request: web.Request) -> web.StreamResponse:
    """A radio gateway's channel (voice.radio.gateway; docs/radio.md).

    A channel the gateway names for the first time is created with defaults (as recorder uploads
    do). The channel counts towards JINGYUN_MAX_STREAMS with JINGYUN_RADIO_CHANNEL_WEIGHT; over the
    limit it is still served (its audio is always kept) but told ``busy`` and decoded last."""
    app = request.app
    voice = service_of_voice(app)
    voice.require_engine()
    channel = await radio(request).channels.ensure(request.match_info["channel"])
    conn = Connection(request, "radio")
    await conn.prepare()
    settings = app[appkeys.SETTINGS]
    rs = app[RADIO_SETTINGS]
    with Admission(voice.registry, settings.voice.max_streams, rs.channel_weight, always=True) as admission:
        gateway = GatewayConnection(conn, app[RADIO], channel, rs, handshake_timeout=settings.ws_auth_timeout,
                                    max_frame_bytes=settings.voice.max_frame_bytes,
                                    max_streams=settings.voice.max_streams, admitted=admission.admitted)
        try:
            await gateway.run()
        except Exception:
            log.exception("radio gateway stream failed")
            conn.send({"type": "error", "code": "internal", "message": "internal error; the stream is closed"})
        finally:
            await conn.close()
    return conn.ws


# ---- lifecycle -----------------------------------------------------------------------------------
def _audit_fn(app: web.Application) -> Any:
    dispatch = app.get(appkeys.DISPATCH)
    return getattr(dispatch, "audit", None)


async def _retention_loop(app: web.Application) -> None:
    """One process at a time sweeps (a Redis lease), every JINGYUN_RETENTION_SWEEP_SECONDS."""
    rs = app[RADIO_SETTINGS]
    redis = app[appkeys.REDIS]
    lease = radio_keys.retention_lease(app[appkeys.SETTINGS].redis_prefix)
    me = os.urandom(8).hex()
    while True:
        try:
            if await redis.set(lease, me, nx=True, ex=max(5, int(rs.retention_sweep_seconds))):
                deleted = await sweep_expired(app[appkeys.DB], _audit_fn(app))
                if deleted:
                    log.info("retention: deleted the audio of %d recordings", len(deleted))
        except Exception:
            log.exception("retention sweep failed; retrying next period")
        await asyncio.sleep(rs.retention_sweep_seconds)


async def _catch_up_loop(app: web.Application) -> None:
    """Transcribe shed (busy) transmissions while the speech engine is idle, most urgent channel first."""
    svc, rs = app[RADIO], app[RADIO_SETTINGS]
    while True:
        await asyncio.sleep(rs.catch_up_seconds)
        try:
            while await svc.catch_up_once() is not None:
                pass
        except Exception:
            log.exception("catching up shed radio transmissions failed; retrying next period")


async def radio_ctx(app: web.Application) -> AsyncIterator[None]:
    rs = app[appkeys.SETTINGS].radio
    app[RADIO_SETTINGS] = rs

    def engine() -> Any:
        return service_of_voice(app).require_engine()

    def audio_ok(n: int) -> bool:
        ok, _free = diskspace.room_for(app[appkeys.SETTINGS].data_dir, rs.audio_min_free_mb, n)
        diskspace.report(app, rs.audio_min_free_mb)  # /readyz follows the disk both ways
        return ok

    outcomes = app[appkeys.METRICS].utterances
    app[RADIO] = RadioService(app[appkeys.DB], rs, engine_fn=engine, dispatch=app[appkeys.DISPATCH],
                              executor=app[appkeys.EXECUTOR], audio_ok=audio_ok,
                              triage_fn=scorers(app).get("triage_fn"),
                              on_outcome=lambda state: outcomes.labels("radio", state).inc())
    diskspace.report(app, rs.audio_min_free_mb)
    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(_retention_loop(app), name="radio-retention"),
             loop.create_task(_catch_up_loop(app), name="radio-catch-up")]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def setup(app: web.Application) -> None:
    """Register routes and cleanup contexts."""
    app.cleanup_ctx.append(radio_ctx)
    r = app.router
    r.add_get("/api/radio/channels", list_channels)
    r.add_post("/api/radio/channels", create_channel)
    r.add_get("/api/radio/channels/{id}", get_channel)
    r.add_put("/api/radio/channels/{id}", update_channel)
    r.add_delete("/api/radio/channels/{id}", delete_channel)
    r.add_put("/api/radio/aliases/{radio_id}", set_alias)
    r.add_get("/api/radio/transmissions", list_transmissions)
    r.add_get("/api/radio/transmissions/{id}", get_transmission)
    r.add_get("/api/radio/transmissions/{id}/audio", transmission_audio)
    r.add_get("/api/radio/status-updates", list_status_updates)
    r.add_post("/api/radio/status-updates/{id}/undo", undo_status)
    r.add_post("/api/radio/status-updates/{id}/confirm", confirm_status)
    r.add_get("/api/radio/suggestions", list_suggestions)
    r.add_post("/api/radio/suggestions/{id}/accept", accept_suggestion)
    r.add_post("/api/radio/suggestions/{id}/dismiss", dismiss_suggestion)
    r.add_post("/api/radio/retention/sweep", retention_sweep)
    r.add_post("/api/call-upload", call_upload)
    r.add_get("/ws/radio/{channel}", ws_radio)


