"""HTTP and WebSocket routes of the radio sub-system (issue 6); see docs/radio.md.

* ``/ws/radio/{channel}``: a radio gateway streams a channel's audio with push-to-talk events.
* ``POST /api/call-upload``: the rdio-scanner upload form, so trunk-recorder feeds Jingyun unchanged.
* ``/api/radio/...``: channels, transmissions, audio, status updates (undo), suggested incidents.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_request import FileField

from dispatch import keys
from voice.audio import AudioError, decode_file, pcm_to_float
from voice.radio.channels import Channel, ChannelError, check_channel
from voice.radio.ptt import PttError, SegmenterConfig, TransmissionSegmenter, make_transmission
from voice.radio.rdio import SUCCESS_TEXT, CallFormError, parse_call_form
from voice.radio.recording import recording_bytes, sweep_expired
from voice.radio.service import RadioError, RadioService
from voice.radio.settings import RadioSettings
from web import appkeys, diskspace
from web.auth import Role, principal, requires, token_in_form
from web.errors import NOT_FOUND, ApiError, bad_request
from web.ws import CLOSE_POLICY, Connection

log = logging.getLogger("jingyun.radio.api")

RADIO: web.AppKey[RadioService] = web.AppKey("radio", RadioService)
RADIO_SETTINGS: web.AppKey[RadioSettings] = web.AppKey("radio_settings", RadioSettings)
READ_ROLES = (Role.DISPATCHER, Role.ADMIN, Role.SERVICE)
ACT_ROLES = (Role.DISPATCHER, Role.ADMIN)
GATEWAY_ROLES = (Role.SERVICE, Role.ADMIN)
ENCODINGS = ("pcm_s16le", "f32le")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def radio(request: web.Request) -> RadioService:
    return request.app[RADIO]


def handles_errors(handler: Handler) -> Handler:
    """Radio and dispatch errors become the API's JSON errors with their own messages."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except RadioError as exc:
            raise ApiError(exc.status, exc.code, exc.message, **exc.details) from None
        except ChannelError as exc:
            raise bad_request(exc.message, field=exc.field) from None
        except CallFormError as exc:
            raise bad_request(exc.message, field=exc.field) from None
        except Exception as exc:
            from dispatch import errors as derr

            if isinstance(exc, derr.NotFound):
                raise ApiError(404, NOT_FOUND, exc.message) from None
            if isinstance(exc, derr.Conflict):
                raise ApiError(409, "conflict", exc.message, **exc.details) from None
            if isinstance(exc, derr.InvalidInput):
                raise bad_request(exc.message, **exc.details) from None
            raise

    return wrapper


async def json_body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise bad_request("the request body must be a JSON object (Content-Type: application/json)") from None
    if not isinstance(data, dict):
        raise bad_request(f"the request body must be a JSON object, not {type(data).__name__}")
    return data


def _limit(request: web.Request, default: int = 100, hi: int = 1000) -> int:
    raw = request.query.get("limit", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= hi:
        raise bad_request(f"limit must be an integer from 1 to {hi}, got {raw!r}")
    return int(raw)


def _since(request: web.Request) -> dt.datetime | None:
    raw = request.query.get("since")
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(f"since must be an ISO 8601 time such as 2024-05-01T12:00:00Z, got {raw!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


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
                                                    since=_since(request), limit=_limit(request))
    return web.json_response({"transmissions": items})


@requires(*READ_ROLES)
async def get_transmission(request: web.Request) -> web.Response:
    tx = await radio(request).get_transmission(request.match_info["id"])
    if tx is None:
        raise ApiError(404, NOT_FOUND, f"no transmission {request.match_info['id']!r}")
    return web.json_response(tx)


async def audio_response(request: web.Request, rec_id: str | None, what: str) -> web.Response:
    """The kept Opus audio with its hash in headers; 410 once retention deleted it."""
    found = await recording_bytes(request.app[appkeys.DB], rec_id) if rec_id else None
    if found is None:
        raise ApiError(404, NOT_FOUND, f"no audio is kept for {what}")
    meta, data = found
    if data is None:
        raise ApiError(410, "gone", f"the audio of {what} was deleted on {meta['deleted_at']} "
                                    f"({meta['deleted_reason']}); its sha256 was {meta['sha256']}",
                       sha256=meta["sha256"], deleted_at=meta["deleted_at"])
    return web.Response(body=data, content_type="audio/ogg",
                        headers={"X-Audio-SHA256": meta["sha256"], "X-Recording-Id": meta["id"],
                                 "Content-Disposition": f'attachment; filename="{meta["id"]}.ogg"'})


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
    body = await json_body(request) if request.can_read_body else {}
    text = body.get("text")
    if text is not None and (not isinstance(text, str) or not text.strip()):
        raise bad_request("text, when given, must be the corrected incident text", field="text")
    result = await radio(request).accept(request.match_info["id"], actor=principal(request).subject, text=text)
    return web.json_response(result, status=201)


@requires(*ACT_ROLES)
@handles_errors
async def dismiss_suggestion(request: web.Request) -> web.Response:
    body = await json_body(request) if request.can_read_body else {}
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
                           _segmenter_config(rs, 16000))
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


def service_of_voice(app: web.Application) -> Any:
    from web.api.voice import service

    return service(app)


def _segmenter_config(rs: RadioSettings, rate: int) -> SegmenterConfig:
    return SegmenterConfig(sample_rate=rate, max_seconds=rs.max_transmission_seconds,
                           squelch_max_tail_ms=rs.squelch_max_tail_ms, squelch_flatness=rs.squelch_flatness)


# ---- the gateway WebSocket -------------------------------------------------------------------------
@requires(*GATEWAY_ROLES)
@handles_errors
async def ws_radio(request: web.Request) -> web.StreamResponse:
    """Audio plus PTT events for one channel; one ``transmission`` message back per transmission.

    A channel the gateway names for the first time is created with defaults (as recorder uploads
    do). The channel counts towards JINGYUN_MAX_STREAMS with JINGYUN_RADIO_CHANNEL_WEIGHT; over the
    limit it is still served (its audio is always kept) but told ``busy`` and decoded last."""
    from web.api.voice import Admission

    app = request.app
    voice = service_of_voice(app)
    voice.require_engine()
    channel = await radio(request).channels.ensure(request.match_info["channel"])
    conn = Connection(request, "radio")
    await conn.prepare()
    settings = app[appkeys.SETTINGS]
    with Admission(voice, settings.voice.max_streams, app[RADIO_SETTINGS].channel_weight, always=True) as admission:
        try:
            await _run_gateway(conn, app, channel, admission.admitted)
        except Exception:
            log.exception("radio gateway stream failed")
            conn.send({"type": "error", "code": "internal", "message": "internal error; the stream is closed"})
        finally:
            await conn.close()
    return conn.ws


def _error(conn: Connection, code: str, message: str) -> None:
    conn.send({"type": "error", "code": code, "message": message})


class _Pressure:
    """Tells a gateway when the speech engine is behind: ``lag`` (throttled) and ``busy`` per shed transmission."""

    LAG_EVERY_S = 5.0

    def __init__(self, conn: Connection, channel: Channel, rs: RadioSettings) -> None:
        self.conn, self.channel, self.rs = conn, channel, rs
        self.last_lag = -self.LAG_EVERY_S

    def after(self, seq: int, outcome: Any) -> None:
        if outcome.shed is not None:
            tx = outcome.transmission
            self.conn.send({"type": "busy", "seq": seq, "channel": self.channel.id, "transmission_id": tx["id"],
                            "reason": outcome.shed.reason,
                            "message": "the speech engine is behind: this transmission's audio is kept and it will "
                                       "be transcribed when the engine is idle (state busy until then)"})
        elif outcome.waited > self.rs.max_wait_seconds / 2 and time.monotonic() - self.last_lag >= self.LAG_EVERY_S:
            self.last_lag = time.monotonic()
            self.conn.send({"type": "lag", "channel": self.channel.id, "waited_seconds": round(outcome.waited, 2),
                            "shed_after_seconds": self.rs.max_wait_seconds,
                            "message": "the speech engine is behind; transmissions of lower-priority channels "
                                       "are shed first"})


async def _run_gateway(conn: Connection, app: web.Application, channel: Channel, admitted: bool = True) -> None:
    settings = app[appkeys.SETTINGS]
    rs = app[RADIO_SETTINGS]
    svc = app[RADIO]
    first = await conn.receive_json(settings.ws_auth_timeout)
    if not isinstance(first, dict) or first.get("type") != "config":
        _error(conn, "bad_config", "expected a JSON config message first, within "
               f"{settings.ws_auth_timeout:g} s: {{\"type\": \"config\", \"sample_rate\": 8000 or 16000, "
               "\"encoding\": \"pcm_s16le\" or \"f32le\"}")
        await conn.close(CLOSE_POLICY, "no config")
        return
    rate, encoding = first.get("sample_rate", 16000), first.get("encoding", "pcm_s16le")
    if encoding not in ENCODINGS:
        _error(conn, "unsupported_encoding", f"encoding {encoding!r} is not accepted; accepted: {', '.join(ENCODINGS)}")
        await conn.close(CLOSE_POLICY, "bad encoding")
        return
    try:
        seg = TransmissionSegmenter(_segmenter_config(rs, rate if isinstance(rate, int) else -1),
                                    dt.datetime.now(dt.UTC), str(first.get("mode", "auto")))
    except PttError as exc:
        _error(conn, "unsupported_sample_rate" if "sample_rate" in str(exc) else "bad_config", str(exc))
        await conn.close(CLOSE_POLICY, "bad config")
        return
    tasks: set[asyncio.Task[None]] = set()
    counts = {"transmissions": 0}

    # Each transmission acts (status, suggestion, reply) only after the one before it has.
    chain: list[asyncio.Future[None]] = []

    pressure = _Pressure(conn, channel, rs)

    async def handle(tx: Any, turn: asyncio.Future[None] | None, mine: asyncio.Future[None]) -> None:
        try:
            # The channel as it is now: a dispatcher may have changed its priority, language or hotwords
            # while the gateway stays connected.
            current = await svc.channels.get(channel.id) or channel
            outcome = await svc.process(current, tx, turn=turn, deferred=not admitted)
            counts["transmissions"] += 1
            pressure.after(tx.seq, outcome)
            conn.send({"type": "transmission", "seq": tx.seq, **outcome.to_dict()})
        except Exception as exc:
            log.exception("radio transmission failed on channel %s", channel.id)
            _error(conn, "internal", f"transmission {tx.seq} could not be processed: {exc.__class__.__name__}")
        finally:
            mine.set_result(None)

    def submit(txs: list[Any]) -> None:
        loop = asyncio.get_running_loop()
        for tx in txs:
            turn = chain[-1] if chain else None
            mine: asyncio.Future[None] = loop.create_future()
            chain[:] = [mine]
            task = loop.create_task(handle(tx, turn, mine), name=f"radio-{channel.id}-{tx.seq}")
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    conn.send({"type": "ready", "channel": channel.to_dict(), "sample_rate": rate, "encoding": encoding,
               "mode": first.get("mode", "auto"), "admitted": admitted})
    if not admitted:
        conn.send({"type": "busy", "channel": channel.id, "max_streams": settings.voice.max_streams,
                   "message": f"the speech engine's {settings.voice.max_streams} streams are in use: this channel's "
                              "audio is kept and decoded after the admitted streams; what cannot be decoded now is "
                              "transcribed when the engine is idle"})
    max_frame = settings.voice.max_frame_bytes
    async for data in conn.messages():
        if isinstance(data, bytes):
            if len(data) > max_frame:
                _error(conn, "frame_too_large", f"audio frame of {len(data)} bytes is over the limit of {max_frame}; "
                       "the frame was ignored")
                continue
            try:
                samples = pcm_to_float(data, encoding)
            except AudioError as exc:
                _error(conn, "bad_audio", f"{exc}; the frame was ignored")
                continue
            submit(seg.feed(samples))
            continue
        try:
            msg = json.loads(data)
        except (ValueError, RecursionError):  # RecursionError: nested too deep
            msg = None
        kind = msg.get("type") if isinstance(msg, dict) else None
        try:
            if kind == "ptt_down":
                assert isinstance(msg, dict)
                unit = msg.get("unit", msg.get("unit_id"))
                submit(seg.ptt_down(str(unit) if isinstance(unit, int) else unit, dt.datetime.now(dt.UTC)))
                conn.send({"type": "ptt", "state": "down", "unit": seg.keyed_unit})
            elif kind == "ptt_up":
                submit(seg.ptt_up())
                conn.send({"type": "ptt", "state": "up"})
            elif kind == "end":
                break
            else:
                _error(conn, "unexpected_text", "text messages must be JSON: {\"type\": \"ptt_down\", \"unit\": "
                       "\"U12\"}, {\"type\": \"ptt_up\"} or {\"type\": \"end\"}; audio goes in binary messages")
        except PttError as exc:
            _error(conn, "bad_ptt", str(exc))
    submit(seg.finish())
    while tasks:
        await asyncio.gather(*list(tasks), return_exceptions=True)
    conn.send({"type": "done", "transmissions": counts["transmissions"],
               "ignored_seconds": round(seg.ignored_seconds, 3)})


# ---- lifecycle -----------------------------------------------------------------------------------
def _audit_fn(app: web.Application) -> Any:
    dispatch = app.get(appkeys.DISPATCH)
    return getattr(dispatch, "audit", None)


async def _retention_loop(app: web.Application) -> None:
    """One process at a time sweeps (a Redis lease), every JINGYUN_RETENTION_SWEEP_SECONDS."""
    rs = app[RADIO_SETTINGS]
    redis = app[appkeys.REDIS]
    lease = keys.retention_lease(app[appkeys.SETTINGS].redis_prefix)
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

    app[RADIO] = RadioService(app[appkeys.DB], rs, engine_fn=engine, dispatch=app[appkeys.DISPATCH],
                              executor=app[appkeys.EXECUTOR])

    def audio_ok(n: int) -> bool:
        ok, _free = diskspace.room_for(app[appkeys.SETTINGS].data_dir, rs.audio_min_free_mb, n)
        diskspace.report(app, rs.audio_min_free_mb)  # /readyz follows the disk both ways
        return ok

    app[RADIO].audio_ok = audio_ok
    outcomes = app[appkeys.METRICS].utterances
    app[RADIO].on_outcome = lambda state: outcomes.labels("radio", state).inc()
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


