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
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, cast

from aiohttp import web

from dispatch import keys
from voice import protocol as proto
from voice.audio import AudioError, decode_file
from voice.engine import AsrEngine, DecodeOptions, transcribe_audio
from voice.formats import render_transcription
from voice.gaps import GapError, get_gap, keep_gap_audio, list_gaps, new_gap_id, retry_gap, save_gap
from voice.models import ModelError
from voice.radio.recording import encode_opus
from voice.session import StreamSession
from voice.store import StreamMeta, encode, final_message, list_transcripts, partial_message, save_final
from voice.stream import Dropped, Event, Failed, Final, Partial, StreamConfig, StreamTranscriber
from voice.types import DecodeError
from web import appkeys, diskspace
from web.auth import Role, principal, requires
from web.errors import UNAVAILABLE, ApiError, bad_request
from web.ws import CLOSE_POLICY, CLOSE_TRY_AGAIN, Connection

log = logging.getLogger("jingyun.voice")

STREAM_ROLES = (Role.ADMIN, Role.DISPATCHER, Role.SERVICE, Role.INTERVIEWER)
WHISPERLIVE_END = b"END_OF_AUDIO"
WHISPERLIVE_SEGMENTS = 10
STORE_ATTEMPTS = 4


@dataclass
class VoiceService:
    """Process-wide voice state: the engine (when ready), why not, and the open streams."""

    engine: AsrEngine | None = None
    state: str = "loading"  # loading | ready | failed | disabled
    reason: str = ""
    fix: str = ""
    # Open streams and the share of the engine each may use: a continuous stream 1, a radio channel
    # less (it talks part of the time). JINGYUN_MAX_STREAMS bounds their sum.
    streams: dict[str, float] = field(default_factory=dict)
    owns_engine: bool = False

    @property
    def load(self) -> float:
        return sum(self.streams.values())

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
INTERVIEW_SOURCE = "interview"
PRIVATE_READERS = (Role.ADMIN, Role.INTERVIEWER)


def _source(conn: Connection, requested: str) -> str:
    return INTERVIEW_SOURCE if principal(conn.request).role is Role.INTERVIEWER else requested


class _Persister:
    """Stores finals and publishes events in order, off the reading path; drained on close."""

    def __init__(self, app: web.Application, meta: StreamMeta) -> None:
        self.app, self.meta = app, meta
        self.queue: asyncio.Queue[tuple[str, Any] | None] = asyncio.Queue()
        self.task = asyncio.get_running_loop().create_task(self._run(), name=f"voice-persist-{meta.stream_id}")
        self.stored = 0

    def put(self, kind: str, item: Any) -> None:
        self.queue.put_nowait((kind, item))

    async def _run(self) -> None:
        redis = self.app[appkeys.REDIS]
        db = self.app[appkeys.DB]
        channel = keys.console_channel(self.app[appkeys.SETTINGS].redis_prefix)
        while True:
            item = await self.queue.get()
            if item is None:
                return
            kind, ev = item
            private = self.meta.source == INTERVIEW_SOURCE
            if kind == "gap":
                await self._store_gap(db, *ev)
            elif kind == "final":
                row_id = await self._store(db, ev)
                if private:
                    continue
                try:
                    await redis.publish(channel, encode(final_message(self.meta, ev, row_id)))
                except Exception:
                    log.exception("could not publish a final of stream %s", self.meta.stream_id)
            elif not private:
                try:
                    await redis.publish(channel, encode(partial_message(self.meta, ev)))
                except Exception:  # partials are losable by design
                    log.warning("could not publish a partial of stream %s", self.meta.stream_id)

    async def _store(self, db: Any, final: Final) -> int | None:
        # A final must not be lost to a brief database hiccup: retry (the insert is idempotent per
        # stream and utterance), then log it whole so an operator can recover the text.
        for attempt in range(STORE_ATTEMPTS):
            try:
                row_id = await save_final(db, self.meta, final)
                self.stored += 1
                return row_id
            except Exception:
                if attempt == STORE_ATTEMPTS - 1:
                    log.exception("could not store a final of stream %s: %s", self.meta.stream_id,
                                  encode(final_message(self.meta, final)))
                    return None
                await asyncio.sleep(0.2 * 2 ** attempt)
        return None

    async def _store_gap(self, db: Any, gap_id: str, failed: Failed, started_at: dt.datetime | None) -> None:
        # The audio first, so the gap row can point at it; without room on disk the gap is still
        # recorded (the client was told), only its re-run is impossible.
        settings = self.app[appkeys.SETTINGS]
        rs = settings.radio
        recording_id: str | None = None
        try:
            encoded = await asyncio.get_running_loop().run_in_executor(
                self.app[appkeys.EXECUTOR], encode_opus, failed.audio, 16000, rs.opus_bitrate)
            if diskspace.room_for(settings.data_dir, rs.audio_min_free_mb, len(encoded.data))[0]:
                days = rs.interview_retention_days if self.meta.source == INTERVIEW_SOURCE else rs.radio_retention_days
                recording_id = await keep_gap_audio(db, gap_id, encoded, days)
            else:
                log.warning("disk nearly full: the audio of gap %s is not kept", gap_id)
        except Exception:
            log.exception("could not keep the audio of gap %s", gap_id)
        for attempt in range(STORE_ATTEMPTS):
            try:
                await save_gap(db, self.meta, failed, gap_id, recording_id, started_at)
                return
            except Exception:
                if attempt == STORE_ATTEMPTS - 1:
                    log.exception("could not store gap %s of stream %s (utterance %d, %.2f-%.2f s: %s)", gap_id,
                                  self.meta.stream_id, failed.utterance, failed.start, failed.end, failed.reason)
                    return
                await asyncio.sleep(0.2 * 2 ** attempt)

    async def close(self) -> None:
        self.queue.put_nowait(None)
        with contextlib.suppress(Exception):
            await self.task


class _IdleFlush:
    """Finalises the open utterance when audio stops arriving (the sender went quiet without "flush")."""

    def __init__(self, session: StreamSession, idle_s: float) -> None:
        self.session, self.idle_s = session, idle_s
        self.last_audio = time.monotonic()
        self.task = (asyncio.get_running_loop().create_task(self._run(), name="voice-idle-flush")
                     if idle_s > 0 else None)

    def touch(self) -> None:
        self.last_audio = time.monotonic()

    async def _run(self) -> None:
        flushed_at = 0.0
        while True:
            await asyncio.sleep(self.idle_s / 4)
            if time.monotonic() - self.last_audio >= self.idle_s and self.last_audio != flushed_at:
                flushed_at = self.last_audio
                self.session.flush()

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


def _stream_config(cfg: proto.ClientConfig, engine: AsrEngine, settings: Any) -> tuple[StreamConfig, str | None]:
    v = settings.voice
    language, note = engine.resolve_language(cfg.language)
    return StreamConfig(
        sample_rate=cfg.sample_rate, language=language, hotwords=cfg.hotwords, initial_prompt=cfg.initial_prompt,
        script=cfg.script, partial_interval=v.partial_interval if cfg.partials else 0.0,
        max_utterance_seconds=v.max_utterance_seconds, vad_aggressiveness=v.vad_aggressiveness,
        vad_frame_ms=v.vad_frame_ms if v.vad_frame_ms in (10, 20, 30) else 30, end_silence_ms=v.end_silence_ms,
        early_final_ms=v.early_final_ms, long_utterance_seconds=v.long_utterance_seconds,
        long_end_silence_ms=v.long_end_silence_ms, started_at=dt.datetime.now(dt.UTC)), note


class Admission:
    """Counts a stream (``weight``) against JINGYUN_MAX_STREAMS for as long as it is open.

    ``admitted`` says whether it fits. A stream that does not fit is refused busy, except with
    ``always`` (radio: a gateway's audio is kept whatever happens; it is decoded after admitted
    streams and shed first), where it still counts so that others see the load."""

    def __init__(self, svc: VoiceService, limit: int, weight: float = 1.0, *, always: bool = False) -> None:
        self.svc, self.limit, self.weight, self.always = svc, limit, weight, always
        self.id = uuid.uuid4().hex[:16]
        self.admitted = False

    def __enter__(self) -> Admission:
        self.admitted = self.svc.load + self.weight <= self.limit + 1e-9
        if self.admitted or self.always:
            self.svc.streams[self.id] = self.weight
        return self

    def release(self) -> None:
        """Free the slot (before the final "closed" message, so a client may reconnect at once)."""
        self.svc.streams.pop(self.id, None)

    def __exit__(self, *exc: object) -> None:
        self.release()


@requires(*STREAM_ROLES)
async def ws_transcribe(request: web.Request) -> web.StreamResponse:
    """Live transcription: config message, binary PCM, ``end``; events back (docs/voice.md)."""
    app = request.app
    settings = app[appkeys.SETTINGS]
    svc = service(app)
    engine = svc.require_engine()
    conn = Connection(request, "transcribe")
    await conn.prepare()
    with Admission(svc, settings.voice.max_streams) as admission:
        try:
            if not admission.admitted:
                conn.send({"type": "busy", "message": f"all {settings.voice.max_streams} transcription streams "
                           "are in use; retry later", "max_streams": settings.voice.max_streams})
                await conn.close(CLOSE_TRY_AGAIN, "busy")
                return conn.ws
            await _run_transcribe(conn, app, engine, admission)
        except Exception:
            log.exception("transcription stream failed")
            conn.send(proto.error_event(proto.INTERNAL, "internal error; the stream is closed"))
            await conn.close(CLOSE_POLICY, "internal error")
        finally:
            await conn.close()
    return conn.ws


async def _run_transcribe(conn: Connection, app: web.Application, engine: AsrEngine, admission: Admission) -> None:
    stream_id = admission.id
    settings = app[appkeys.SETTINGS]
    v = settings.voice
    first = await conn.receive_json(settings.ws_auth_timeout)
    if first is None:
        conn.send(proto.error_event(proto.BAD_CONFIG, "expected a JSON config message first, within "
                                    f"{settings.ws_auth_timeout:g} s: {{\"type\": \"config\", \"sample_rate\": "
                                    "16000, \"encoding\": \"pcm_s16le\", ...}"))
        await conn.close(CLOSE_POLICY, "no config")
        return
    try:
        cfg = proto.parse_config(first, default_script=v.script,
                                 known_languages=engine.languages | {"yue", "auto"})
    except proto.ProtocolError as exc:
        conn.send(proto.error_event(exc.code, exc.message))
        await conn.close(CLOSE_POLICY, exc.code)
        return
    stream_cfg, note = _stream_config(cfg, engine, settings)
    meta = StreamMeta(stream_id=stream_id, source=_source(conn, cfg.source), channel=cfg.channel,
                      model=engine.info.name)
    persister = _Persister(app, meta)
    stats = {"finals": 0, "errors": 0, "lag_warned": False}
    closing: list[str] = []

    outcomes = app[appkeys.METRICS].utterances

    def on_event(ev: Event) -> None:
        # Every utterance the VAD accepted ends in exactly one of final, dropped (no speech) or an
        # error naming it; the client hears each, and a failed one is kept as a gap for a re-run.
        if isinstance(ev, Final):
            stats["finals"] += 1
            outcomes.labels(meta.source or "stream", "final").inc()
            conn.send(proto.final_event(stream_id, ev))
            persister.put("final", ev)
        elif isinstance(ev, Partial):
            conn.send(proto.partial_event(stream_id, ev))
            persister.put("partial", ev)
        elif isinstance(ev, Dropped):
            outcomes.labels(meta.source or "stream", "no_speech").inc()
            conn.send(proto.dropped_event(stream_id, ev))
        elif isinstance(ev, Failed):
            stats["errors"] += 1
            outcomes.labels(meta.source or "stream", "error").inc()
            gap_id = new_gap_id()
            log.warning("utterance %d of stream %s failed (%s); kept as gap %s", ev.utterance, stream_id,
                        ev.reason, gap_id)
            conn.send(proto.utterance_error_event(stream_id, ev, gap_id))
            persister.put("gap", (gap_id, ev, stream_cfg.started_at))

    session = StreamSession(StreamTranscriber(stream_cfg), engine, on_event)
    ready: dict[str, Any] = {
        "type": "ready", "stream_id": stream_id, "model": engine.info.name, "multilingual": engine.multilingual,
        "language": stream_cfg.language or "auto", "language_requested": cfg.language or "auto",
        "sample_rate": cfg.sample_rate, "encoding": cfg.encoding, "script": cfg.script,
        "source": meta.source, "channel": cfg.channel,
        "limits": {"max_frame_bytes": v.max_frame_bytes, "max_stream_seconds": v.max_stream_seconds,
                   "max_lag_seconds": v.max_lag_seconds}}
    if note:
        ready["language_note"] = note
    conn.send(ready)
    reason = "client closed"
    idle = _IdleFlush(session, v.idle_flush_seconds)
    try:
        async for data in conn.messages():
            if isinstance(data, bytes):
                idle.touch()
                if len(data) > v.max_frame_bytes:
                    conn.send(proto.error_event(proto.FRAME_TOO_LARGE, f"audio frame of {len(data)} bytes is larger "
                                                f"than the limit of {v.max_frame_bytes} bytes; send smaller frames "
                                                "(e.g. 20-100 ms of audio); the frame was ignored"))
                    continue
                try:
                    session.feed_pcm(data, cfg.encoding)
                except AudioError as exc:
                    conn.send(proto.error_event(proto.BAD_AUDIO, f"{exc}; the frame was ignored"))
                    continue
                if session.core.seconds_received > v.max_stream_seconds:
                    conn.send(proto.error_event(proto.STREAM_TOO_LONG, "the stream exceeded the limit of "
                                                f"{v.max_stream_seconds:g} s of audio; it is finished now"))
                    reason = "stream too long"
                    break
                backlog = session.backlog_seconds
                if backlog > 2 * v.max_lag_seconds:
                    conn.send(proto.error_event(proto.LAGGING, f"decoding is {backlog:.1f} s behind this stream, "
                                                f"over the limit of {2 * v.max_lag_seconds:g} s; the stream is "
                                                "closed; the server is overloaded, retry later"))
                    closing.append("lagging")
                    await session.abort(f"not transcribed: the server fell {backlog:.1f} s behind this stream "
                                        "and closed it")
                    await persister.close()
                    await conn.close(CLOSE_TRY_AGAIN, "lagging")
                    return
                if backlog > v.max_lag_seconds and not stats["lag_warned"]:
                    stats["lag_warned"] = True
                    conn.send({"type": "lag", "backlog_seconds": round(backlog, 2),
                               "limit_seconds": v.max_lag_seconds, "close_at_seconds": 2 * v.max_lag_seconds})
                elif backlog <= v.max_lag_seconds / 2:
                    stats["lag_warned"] = False
                continue
            msg = _control(data)
            if msg == "end":
                reason = "end of audio"
                break
            if msg == "flush":
                session.flush()
                continue
            conn.send(proto.error_event(proto.UNEXPECTED_TEXT, "expected binary audio frames or a JSON control "
                                        'message {"type": "end"} or {"type": "flush"}; the message was ignored'))
        else:
            # The client went away without "end": what it already said is still decoded and stored.
            reason = "client disconnected"
        await session.finish()
        await persister.close()
        admission.release()
        conn.send({"type": "closed", "stream_id": stream_id, "reason": reason, "segments": stats["finals"],
                   "errors": stats["errors"], "audio_seconds": round(session.core.seconds_received, 3)})
    finally:
        await idle.stop()
        if not persister.task.done():
            # Broken off (an internal error, shutdown): what was still being decoded is kept as gaps.
            await session.abort("not transcribed: the stream was broken off")
            await persister.close()


def _control(data: str) -> str | None:
    try:
        msg = json.loads(data)
    except (ValueError, RecursionError):  # RecursionError: nested too deep
        return None
    if isinstance(msg, dict) and msg.get("type") in ("end", "flush"):
        return str(msg["type"])
    return None


# ---- WhisperLive ----------------------------------------------------------------------------
def _last(items: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    return items[len(items) - n:] if n > 0 else []


def _wl_segment(start: float, end: float, text: str, completed: bool) -> dict[str, Any]:
    return {"start": f"{start:.3f}", "end": f"{end:.3f}", "text": text, "completed": completed}


@requires(*STREAM_ROLES)
async def ws_whisperlive(request: web.Request) -> web.StreamResponse:
    """The WhisperLive protocol: options JSON, float32 16 kHz audio, ``END_OF_AUDIO``; segments back."""
    app = request.app
    settings = app[appkeys.SETTINGS]
    svc = service(app)
    engine = svc.require_engine()
    conn = Connection(request, "whisperlive")
    await conn.prepare()
    with Admission(svc, settings.voice.max_streams) as admission:
        try:
            options = await conn.receive_json(settings.ws_auth_timeout)
            uid = str(options.get("uid", "")) if isinstance(options, dict) else ""
            if not isinstance(options, dict) or not uid:
                conn.send({"uid": uid, "status": "ERROR",
                           "message": "expected the WhisperLive options JSON with a uid first"})
                await conn.close(CLOSE_POLICY, "no options")
                return conn.ws
            if not admission.admitted:
                conn.send({"uid": uid, "status": "WAIT", "message": 1.0})
                await conn.close(CLOSE_TRY_AGAIN, "busy")
                return conn.ws
            await _run_whisperlive(conn, app, engine, admission.id, uid, options)
        except Exception:
            log.exception("whisperlive stream failed")
        finally:
            await conn.close()
    return conn.ws


async def _run_whisperlive(conn: Connection, app: web.Application, engine: AsrEngine, stream_id: str, uid: str,
                           options: dict[str, Any]) -> None:
    settings = app[appkeys.SETTINGS]
    v = settings.voice
    requested = options.get("language") or None
    if requested is not None and not isinstance(requested, str):
        requested = None
    language, note = engine.resolve_language(requested)
    hotwords = options.get("hotwords") if isinstance(options.get("hotwords"), str) else None
    prompt = options.get("initial_prompt") if isinstance(options.get("initial_prompt"), str) else None
    keep = options.get("send_last_n_segments")
    keep = keep if isinstance(keep, int) and 1 <= keep <= 100 else WHISPERLIVE_SEGMENTS
    stream_cfg = StreamConfig(sample_rate=16000, language=language, hotwords=hotwords, initial_prompt=prompt,
                              script=v.script, partial_interval=v.partial_interval,
                              max_utterance_seconds=v.max_utterance_seconds, end_silence_ms=v.end_silence_ms,
                              early_final_ms=v.early_final_ms, long_utterance_seconds=v.long_utterance_seconds,
                              long_end_silence_ms=v.long_end_silence_ms, started_at=dt.datetime.now(dt.UTC))
    meta = StreamMeta(stream_id=stream_id, source=_source(conn, "whisperlive"),
                      channel=str(options.get("channel") or ""), model=engine.info.name)
    persister = _Persister(app, meta)
    completed: list[dict[str, Any]] = []
    announced = {"language": language is not None}
    outcomes = app[appkeys.METRICS].utterances

    def on_event(ev: Event) -> None:
        if isinstance(ev, Final):
            if not announced["language"] and ev.language:
                announced["language"] = True
                conn.send({"uid": uid, "language": ev.language, "language_prob": ev.language_probability})
            # WhisperLive's own server lets the incomplete segment settle on the text it then completes;
            # its client keeps that last incomplete segment and adds it to the SRT when it differs.
            # Sending the final text as the incomplete segment first keeps the two the same.
            conn.send({"uid": uid, "segments": [*_last(completed, keep - 1),
                                                _wl_segment(ev.start, ev.end, ev.text, False)]})
            completed.append(_wl_segment(ev.start, ev.end, ev.text, True))
            conn.send({"uid": uid, "segments": completed[-keep:]})
            persister.put("final", ev)
            outcomes.labels(meta.source or "whisperlive", "final").inc()
        elif isinstance(ev, Partial):
            conn.send({"uid": uid, "segments": [*_last(completed, keep - 1),
                                                _wl_segment(ev.start, ev.end, ev.text, False)]})
        elif isinstance(ev, Failed):
            # WhisperLive has no per-segment error; its WARNING status reaches the client's log.
            gap_id = new_gap_id()
            outcomes.labels(meta.source or "whisperlive", "error").inc()
            conn.send({"uid": uid, "status": "WARNING", "message": proto.utterance_error_event(
                stream_id, ev, gap_id)["message"]})
            persister.put("gap", (gap_id, ev, stream_cfg.started_at))
        elif isinstance(ev, Dropped):
            outcomes.labels(meta.source or "whisperlive", "no_speech").inc()

    session = StreamSession(StreamTranscriber(stream_cfg), engine, on_event)
    conn.send({"uid": uid, "message": "SERVER_READY", "backend": "faster_whisper"})
    if note:
        conn.send({"uid": uid, "status": "WARNING", "message": note})
    idle = _IdleFlush(session, v.idle_flush_seconds)
    try:
        async for data in conn.messages():
            if isinstance(data, str):
                continue  # the protocol carries nothing but audio after the options
            idle.touch()
            if data == WHISPERLIVE_END:
                break
            if len(data) > max(v.max_frame_bytes, 4096 * 4):
                conn.send({"uid": uid, "status": "WARNING",
                           "message": f"audio frame of {len(data)} bytes over the limit; ignored"})
                continue
            try:
                session.feed_pcm(data, "f32le")
            except AudioError as exc:
                conn.send({"uid": uid, "status": "WARNING", "message": f"{exc}; the frame was ignored"})
                continue
            if session.core.seconds_received > v.max_stream_seconds or \
                    session.backlog_seconds > 2 * v.max_lag_seconds:
                break
        if session.backlog_seconds > 2 * v.max_lag_seconds:
            await session.abort(f"not transcribed: the server fell {session.backlog_seconds:.1f} s behind this "
                                "stream and closed it")
        else:
            await session.finish()
        conn.send({"uid": uid, "message": "DISCONNECT"})
    finally:
        await idle.stop()
        if not persister.task.done():
            await session.abort("not transcribed: the stream was broken off")
        await persister.close()


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
    raw = q.get("limit", "200")
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise bad_request(f"limit={raw!r} is out of range; accepted: 1 to 1000")
    private_ok = principal(request).role in PRIVATE_READERS
    items = await list_gaps(request.app[appkeys.DB], stream_id=q.get("stream_id"), state=state, limit=int(raw),
                            exclude_sources=() if private_ok else (INTERVIEW_SOURCE,))
    return web.json_response({"gaps": items, "count": len(items)})


async def retry_gap_now(app: web.Application, gap_id: str, *, actor: str, private_ok: bool) -> dict[str, Any]:
    """Transcribe a gap again from its kept audio (``retry_gap``), with the API's errors."""
    db = app[appkeys.DB]
    gap = await get_gap(db, gap_id)
    if gap is None or (gap["source"] == INTERVIEW_SOURCE and not private_ok):
        raise ApiError(404, "not_found", f"no transcription gap {gap_id!r}")
    engine = service(app).require_engine()
    try:
        return await retry_gap(db, engine, gap_id, actor=actor, executor=app[appkeys.EXECUTOR])
    except GapError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    except DecodeError as exc:
        raise ApiError(503, UNAVAILABLE, f"decoding failed again ({exc.reason}); the gap stays open, retry later") \
            from None


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
