"""HTTP and WebSocket routes of the voice sub-system.

* ``/ws/transcribe``: Jingyun's own streaming protocol (see docs/voice.md).
* ``/ws/whisperlive``: the WhisperLive protocol, so its stock Python client works unmodified.
* ``POST /v1/audio/transcriptions``: OpenAI-compatible file transcription.
* ``GET /api/transcripts``: stored final segments.

The shared engine comes from ``app[ASR_ENGINE]`` when injected (tests), otherwise it is loaded in
the background after start-up so ``/healthz`` answers at once; ``/readyz`` reports ``model``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

from aiohttp import web

from voice import protocol as proto
from voice.admission import Admission, StreamRegistry
from voice.audio import AudioError, decode_file
from voice.connections.deps import INTERVIEW_SOURCE, CallHook, StreamDeps
from voice.connections.transcribe import TranscribeConnection
from voice.connections.whisperlive import WhisperLiveConnection
from voice.engine import AsrEngine, DecodeOptions, transcribe_audio
from voice.formats import render_transcription
from voice.gaps import keep_gap_audio, list_gaps, save_gap
from voice.models import ModelError
from voice.radio.recording import encode_opus
from voice.store import StreamMeta, list_transcripts, save_final
from voice.stream import Failed, Final
from web import appkeys, diskspace
from web.api.common import limit_param, retry_gap_now
from web.auth import Role, principal, requires
from web.errors import UNAVAILABLE, ApiError, bad_request
from web.ws import CLOSE_POLICY, CLOSE_TRY_AGAIN, Connection

log = logging.getLogger("jingyun.voice")

STREAM_ROLES = (Role.ADMIN, Role.DISPATCHER, Role.SERVICE, Role.INTERVIEWER)


@dataclass
class VoiceService:
    """Process-wide voice state: the engine (when ready), why not, and the open streams."""

    engine: AsrEngine | None = None
    state: str = "loading"  # loading | ready | failed | disabled
    reason: str = ""
    fix: str = ""
    # Open streams (every kind) against JINGYUN_MAX_STREAMS.
    registry: StreamRegistry = field(default_factory=StreamRegistry)
    owns_engine: bool = False

    def require_engine(self) -> AsrEngine:
        """The engine, or a 503 that says why there is none and what to do."""
        if self.engine is not None:
            return self.engine
        if self.state == "disabled":
            raise ApiError(503, UNAVAILABLE, "speech recognition is disabled on this server "
                           "(JINGYUN_LOAD_MODEL=false); set JINGYUN_LOAD_MODEL=true to enable it")
        if self.state == "failed":
            raise ApiError(503, UNAVAILABLE, f"the ASR model failed to load: {self.reason}", fix=self.fix)
        raise ApiError(503, UNAVAILABLE, "the ASR model is still loading; retry in a few seconds")


def service(app: web.Application) -> VoiceService:
    return cast(VoiceService, app[appkeys.VOICE])


# ---- lifecycle ------------------------------------------------------------------------------
async def _load(app: web.Application, svc: VoiceService) -> None:
    settings = app[appkeys.SETTINGS]
    readiness = app[appkeys.READINESS]
    loop = asyncio.get_running_loop()
    try:
        # A thread of its own: loading takes seconds and must not hold the shared executor.
        engine = await loop.run_in_executor(None, AsrEngine.load, settings.voice, settings.data_dir / "models")
    except ModelError as exc:
        svc.state, svc.reason, svc.fix = "failed", exc.message, exc.fix
        readiness.set("model", False, f"{exc.message}; fix: {exc.fix}", model=settings.voice.model)
        log.error("ASR model not loaded: %s (fix: %s)", exc.message, exc.fix)
        return
    except Exception as exc:
        svc.state, svc.reason = "failed", f"{exc.__class__.__name__}: {exc}"
        svc.fix = "check JINGYUN_MODEL and run `jingyun doctor`"
        readiness.set("model", False, f"cannot load model {settings.voice.model}: {svc.reason}; fix: {svc.fix}",
                      model=settings.voice.model)
        log.exception("ASR model failed to load")
        return
    svc.engine, svc.state, svc.owns_engine = engine, "ready", True
    app[appkeys.ASR_ENGINE] = engine
    engine.observe = app[appkeys.METRICS].observe_asr_batch
    readiness.set("model", True, f"{engine.info.name} loaded", **engine.describe())


async def voice_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[appkeys.SETTINGS]
    readiness = app[appkeys.READINESS]
    svc = VoiceService()
    app[appkeys.VOICE] = svc
    loader: asyncio.Task[None] | None = None
    injected = app.get(appkeys.ASR_ENGINE)
    if injected is not None:
        svc.engine, svc.state = cast(AsrEngine, injected), "ready"
        svc.engine.observe = app[appkeys.METRICS].observe_asr_batch
        readiness.set("model", True, f"{svc.engine.info.name} loaded", **svc.engine.describe())
    elif settings.voice.load_model:
        readiness.set("model", False, f"loading {settings.voice.model}", model=settings.voice.model)
        loader = asyncio.get_running_loop().create_task(_load(app, svc), name="voice-model-load")
    else:
        svc.state = "disabled"
        readiness.set("model", True, "disabled")
    try:
        yield
    finally:
        if loader is not None and not loader.done():
            loader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await loader
        if svc.owns_engine and svc.engine is not None:
            await svc.engine.close()


# ---- streams --------------------------------------------------------------------------------
# Interview speech is for interviewers and admins only (docs/interviews.md): it is stored, but never
# published to the dispatcher consoles nor listed to other roles. A stream is interview speech when
# an interviewer opened it, whatever it calls itself, or when it says so.
PRIVATE_READERS = (Role.ADMIN, Role.INTERVIEWER)


class AppStreamStore:
    """The server's side of a stream's durable work (voice.persister.StreamStore): SQL, audio, consoles."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.db = app[appkeys.DB]

    async def save_final(self, meta: StreamMeta, final: Final) -> int:
        return await save_final(self.db, meta, final)

    async def save_gap(self, meta: StreamMeta, gap_id: str, failed: Failed, started_at: dt.datetime | None) -> None:
        # The audio first, so the gap row can point at it; without room on disk the gap is still
        # recorded (the client was told), only its re-run is impossible.
        settings = self.app[appkeys.SETTINGS]
        rs = settings.radio
        recording_id: str | None = None
        try:
            encoded = await asyncio.get_running_loop().run_in_executor(
                self.app[appkeys.EXECUTOR], encode_opus, failed.audio, 16000, rs.opus_bitrate)
            if diskspace.room_for(settings.data_dir, rs.audio_min_free_mb, len(encoded.data))[0]:
                days = (settings.interview.audio_retention_days if meta.source == INTERVIEW_SOURCE
                        else rs.radio_retention_days)
                recording_id = await keep_gap_audio(self.db, gap_id, encoded, days)
            else:
                log.warning("disk nearly full: the audio of gap %s is not kept", gap_id)
        except Exception:
            log.exception("could not keep the audio of gap %s", gap_id)
        await save_gap(self.db, meta, failed, gap_id, recording_id, started_at)

    async def publish(self, event: dict[str, Any]) -> None:
        # The same path and envelope as every other console event (common.events).
        await self.app[appkeys.DISPATCH].publish_console(event)


def _deps(request: web.Request, engine: AsrEngine) -> StreamDeps:
    app = request.app
    settings = app[appkeys.SETTINGS]
    outcomes = app[appkeys.METRICS].utterances
    who = principal(request)

    async def open_call(cfg: proto.ClientConfig, meta: StreamMeta) -> CallHook:
        return await app[appkeys.CALLS].open_for_stream(cfg, meta, role=who.role.value, subject=who.subject)

    return StreamDeps(engine=engine, settings=settings.voice, handshake_timeout=settings.ws_auth_timeout,
                      store=AppStreamStore(app), count=lambda source, outcome: outcomes.labels(source, outcome).inc(),
                      open_call=open_call)


StreamRun = Callable[[Connection, StreamDeps, Admission, web.Request], Awaitable[None]]


async def _serve_stream(request: web.Request, kind: str, run: StreamRun) -> web.StreamResponse:
    """What every streaming route does around its protocol: the engine or a 503, the socket, an
    admission slot for as long as it is open, and a clean close whatever happens."""
    app = request.app
    settings = app[appkeys.SETTINGS]
    svc = service(app)
    engine = svc.require_engine()
    conn = Connection(request, kind)
    await conn.prepare()
    with Admission(svc.registry, settings.voice.max_streams) as admission:
        try:
            await run(conn, _deps(request, engine), admission, request)
        except Exception:
            log.exception("%s stream failed", kind)
            conn.send(proto.error_event(proto.INTERNAL, "internal error; the stream is closed"))
            await conn.close(CLOSE_POLICY, "internal error")
        finally:
            await conn.close()
    return conn.ws


async def _transcribe(conn: Connection, deps: StreamDeps, admission: Admission, request: web.Request) -> None:
    limit = deps.settings.max_streams
    if not admission.admitted:
        conn.send({"type": "busy", "message": f"all {limit} transcription streams are in use; retry later",
                   "max_streams": limit})
        await conn.close(CLOSE_TRY_AGAIN, "busy")
        return
    await TranscribeConnection(conn, deps, admission.id, interviewer=principal(request).role is Role.INTERVIEWER,
                               release=admission.release).run()


async def _whisperlive(conn: Connection, deps: StreamDeps, admission: Admission, request: web.Request) -> None:
    options = await conn.receive_json(deps.handshake_timeout)
    uid = str(options.get("uid", "")) if isinstance(options, dict) else ""
    if not isinstance(options, dict) or not uid:
        conn.send({"uid": uid, "status": "ERROR", "message": "expected the WhisperLive options JSON with a uid first"})
        await conn.close(CLOSE_POLICY, "no options")
        return
    if not admission.admitted:
        conn.send({"uid": uid, "status": "WAIT", "message": 1.0})
        await conn.close(CLOSE_TRY_AGAIN, "busy")
        return
    await WhisperLiveConnection(conn, deps, admission.id, uid, options,
                                interviewer=principal(request).role is Role.INTERVIEWER).run()


@requires(*STREAM_ROLES)
async def ws_transcribe(request: web.Request) -> web.StreamResponse:
    """Live transcription (voice.connections.transcribe; docs/voice.md)."""
    return await _serve_stream(request, "transcribe", _transcribe)


@requires(*STREAM_ROLES)
async def ws_whisperlive(request: web.Request) -> web.StreamResponse:
    """The WhisperLive protocol (voice.connections.whisperlive): options JSON, float32 16 kHz audio,
    ``END_OF_AUDIO``; segments back."""
    return await _serve_stream(request, "whisperlive", _whisperlive)


# ---- OpenAI-compatible REST -----------------------------------------------------------------
OPENAI_FIELDS = ("file", "model", "language", "prompt", "response_format", "temperature",
                 "timestamp_granularities[]", "timestamp_granularities", "stream", "chunking_strategy",
                 "include[]")
RESPONSE_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")


@requires(*STREAM_ROLES)
async def openai_transcriptions(request: web.Request) -> web.StreamResponse:
    """``POST /v1/audio/transcriptions`` (multipart): what the official OpenAI SDK sends."""
    app = request.app
    settings = app[appkeys.SETTINGS]
    engine = service(app).require_engine()
    if not request.content_type.startswith("multipart/"):
        raise bad_request("send multipart/form-data with a 'file' field (and optional model, language, prompt, "
                          "response_format)")
    form: dict[str, str] = {}
    audio_bytes: bytes | None = None
    filename = ""
    reader = await request.multipart()
    while True:
        part = await reader.next()
        if part is None:
            break
        name = getattr(part, "name", None) or ""
        if name == "file":
            filename = getattr(part, "filename", None) or ""
            audio_bytes = await part.read(decode=False)  # type: ignore[union-attr]
        elif name in OPENAI_FIELDS:
            form[name] = (await part.text())[:2000]  # type: ignore[union-attr]
        else:
            raise bad_request(f"unknown form field {name!r}; accepted: {', '.join(OPENAI_FIELDS)}")
    if not audio_bytes:
        raise bad_request("the 'file' field is missing or empty; send the audio as a multipart file")
    fmt = form.get("response_format", "json") or "json"
    if fmt not in RESPONSE_FORMATS:
        raise bad_request(f"response_format {fmt!r} is not supported; accepted: {', '.join(RESPONSE_FORMATS)}")
    language = form.get("language") or None
    if language is not None and language not in engine.languages | {"yue"}:
        raise bad_request(f"language {language!r} is not known to model {engine.info.name}; use an ISO-639-1 "
                          "code such as zh or en, or leave it out to detect it")
    language, _note = engine.resolve_language(language)
    loop = asyncio.get_running_loop()
    try:
        audio = await loop.run_in_executor(app[appkeys.EXECUTOR], decode_file, audio_bytes,
                                           settings.voice.max_upload_seconds)
    except AudioError as exc:
        raise bad_request(f"{filename or 'file'}: {exc}") from None
    if audio.size == 0:
        raise bad_request(f"{filename or 'file'}: the file holds no audio samples")
    started = time.perf_counter()
    segments = await transcribe_audio(engine, audio, DecodeOptions(language=language,
                                                                    initial_prompt=form.get("prompt") or None,
                                                                    script=settings.voice.script))
    log.info("transcribed %.1f s upload in %.2f s", audio.size / 16000, time.perf_counter() - started)
    body, content_type = render_transcription(fmt, segments, duration=audio.size / 16000, language=language)
    if isinstance(body, str):
        return web.Response(text=body, content_type=content_type)
    return web.json_response(body)


# ---- stored transcripts ---------------------------------------------------------------------
def _parse_since(raw: str) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(float(raw), dt.UTC)
    except ValueError:
        pass
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(f"since={raw!r} is not a time; use ISO 8601 (2026-01-31T08:00:00Z) or epoch "
                          "seconds") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@requires(Role.ADMIN, Role.DISPATCHER, Role.SERVICE, Role.INTERVIEWER)
async def get_transcripts(request: web.Request) -> web.Response:
    """Final segments, oldest first: ``?channel=&since=&stream_id=&limit=``."""
    q = request.query
    since = _parse_since(q["since"]) if q.get("since") else None
    try:
        limit = int(q.get("limit", "200"))
    except ValueError:
        raise bad_request(f"limit={q.get('limit')!r} is not an integer; accepted: 1 to 1000") from None
    if not 1 <= limit <= 1000:
        raise bad_request(f"limit={limit} is out of range; accepted: 1 to 1000")
    private_ok = principal(request).role in PRIVATE_READERS
    rows = await list_transcripts(request.app[appkeys.DB], channel=q.get("channel"), since=since,
                                  stream_id=q.get("stream_id"), limit=limit,
                                  exclude_sources=() if private_ok else (INTERVIEW_SOURCE,))
    return web.json_response({"transcripts": rows, "count": len(rows)})


# ---- gaps: utterances that could not be decoded ---------------------------------------------------
GAP_STATES = ("open", "resolved", "no_speech")


@requires(*STREAM_ROLES)
async def get_gaps(request: web.Request) -> web.Response:
    """Utterances that could not be decoded: ``?stream_id=&state=open|resolved|no_speech&limit=``."""
    q = request.query
    state = q.get("state")
    if state is not None and state not in GAP_STATES:
        raise bad_request(f"state={state!r} is not known; accepted: {', '.join(GAP_STATES)}")
    limit = limit_param(request, default=200, hi=1000)
    private_ok = principal(request).role in PRIVATE_READERS
    items = await list_gaps(request.app[appkeys.DB], stream_id=q.get("stream_id"), state=state, limit=limit,
                            exclude_sources=() if private_ok else (INTERVIEW_SOURCE,))
    return web.json_response({"gaps": items, "count": len(items)})


@requires(*STREAM_ROLES)
async def post_gap_retry(request: web.Request) -> web.Response:
    """``POST /api/transcripts/gaps/{id}/retry``: decode the kept audio again; 200 with the gap and, when
    words came out, the stored transcript segment (as if it had come live)."""
    who = principal(request)
    result = await retry_gap_now(request.app, request.match_info["id"], actor=who.subject,
                                 private_ok=who.role in PRIVATE_READERS)
    return web.json_response(result)


def setup(app: web.Application) -> None:
    """Register routes and cleanup contexts."""
    app.cleanup_ctx.append(voice_ctx)
    app.router.add_get("/ws/transcribe", ws_transcribe)
    app.router.add_get("/ws/whisperlive", ws_whisperlive)
    app.router.add_post("/v1/audio/transcriptions", openai_transcriptions)
    app.router.add_get("/api/transcripts", get_transcripts)
    app.router.add_get("/api/transcripts/gaps", get_gaps)
    app.router.add_post("/api/transcripts/gaps/{id}/retry", post_gap_retry)
