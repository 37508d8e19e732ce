"""``/ws/transcribe``: Jingyun's own streaming protocol, one :class:`TranscribeConnection` per socket.

Config message, binary PCM, ``flush``/``end``; ``ready``, ``partial``, ``final``, ``dropped``,
``error``, ``lag``, ``closed`` back (docs/voice.md). Every utterance the VAD accepted ends in
exactly one ``final``, ``dropped`` or ``utterance_failed`` error; a failed one is kept as a gap.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from voice import protocol as proto
from voice.audio import AudioError
from voice.connections.deps import INTERVIEW_SOURCE, CallHook, StreamDeps, stream_config
from voice.gaps import new_gap_id
from voice.persister import Persister
from voice.session import IdleFlush, StreamSession
from voice.store import StreamMeta
from voice.stream import Dropped, Event, Failed, Final, Partial, StreamConfig, StreamTranscriber
from voice.wire import CLOSE_POLICY, CLOSE_TRY_AGAIN, Wire

log = logging.getLogger("jingyun.voice")


def control(data: str) -> str | None:
    """``end`` or ``flush`` from a JSON control message; None for anything else."""
    try:
        msg = json.loads(data)
    except (ValueError, RecursionError):  # RecursionError: nested too deep
        return None
    if isinstance(msg, dict) and msg.get("type") in ("end", "flush"):
        return str(msg["type"])
    return None


class TranscribeConnection:
    """One live transcription stream. ``interviewer``: opened by an interviewer, so it is interview
    speech whatever it calls itself. ``release`` frees the admission slot before ``closed`` is sent."""

    def __init__(self, wire: Wire, deps: StreamDeps, stream_id: str, *, interviewer: bool = False,
                 release: Any = None) -> None:
        self.wire, self.deps, self.stream_id = wire, deps, stream_id
        self.interviewer = interviewer
        self.release = release or (lambda: None)
        self.finals = 0
        self.errors = 0
        self.lag_warned = False
        self.reason = "client closed"
        # Set by run():
        self.meta: StreamMeta
        self.stream_cfg: StreamConfig
        self.persister: Persister
        self.session: StreamSession
        self.call: CallHook | None = None

    async def run(self) -> None:
        d, v = self.deps, self.deps.settings
        cfg = await self._config()
        if cfg is None:
            return
        self.stream_cfg, note = stream_config(cfg, d.engine, v)
        source = INTERVIEW_SOURCE if self.interviewer else cfg.source
        self.meta = StreamMeta(stream_id=self.stream_id, source=source, channel=cfg.channel, model=d.engine.info.name)
        if cfg.kind == "call":
            if d.open_call is None:
                await self._refuse(proto.ProtocolError(proto.BAD_CONFIG, "calls are not taken on this server"))
                return
            try:
                self.call = await d.open_call(cfg, self.meta)
            except proto.ProtocolError as exc:
                await self._refuse(exc)
                return
        self.persister = Persister(d.store, self.meta, private=source == INTERVIEW_SOURCE,
                                   on_stored=self.call.final if self.call is not None else None)
        self.session = StreamSession(StreamTranscriber(self.stream_cfg), d.engine, self._on_event)
        self.wire.send(self._ready(cfg, note))
        idle = IdleFlush(self.session, v.idle_flush_seconds)
        try:
            if await self._read(cfg.encoding, idle):
                return  # closed for lagging
            await self.session.finish()
            await self.persister.close()
            self.release()
            self.wire.send({"type": "closed", "stream_id": self.stream_id, "reason": self.reason,
                            "segments": self.finals, "errors": self.errors,
                            "audio_seconds": round(self.session.core.seconds_received, 3)})
        finally:
            await idle.stop()
            if not self.persister.task.done():
                # Broken off (an internal error, shutdown): what was still being decoded is kept as gaps.
                await self.session.abort("not transcribed: the stream was broken off")
                await self.persister.close()
            if self.call is not None:
                await self.call.end(self.reason)

    async def _config(self) -> proto.ClientConfig | None:
        d = self.deps
        first = await self.wire.receive_json(d.handshake_timeout)
        if first is None:
            await self._refuse(proto.ProtocolError(
                proto.BAD_CONFIG, f"expected a JSON config message first, within {d.handshake_timeout:g} s: "
                '{"type": "config", "sample_rate": 16000, "encoding": "pcm_s16le", ...}'), reason="no config")
            return None
        try:
            return proto.parse_config(first, default_script=d.settings.script,
                                      known_languages=d.engine.languages | {"yue", "auto"})
        except proto.ProtocolError as exc:
            await self._refuse(exc)
            return None

    async def _refuse(self, exc: proto.ProtocolError, reason: str | None = None) -> None:
        self.wire.send(proto.error_event(exc.code, exc.message))
        await self.wire.close(CLOSE_POLICY, reason or exc.code)

    def _ready(self, cfg: proto.ClientConfig, note: str | None) -> dict[str, Any]:
        engine, v = self.deps.engine, self.deps.settings
        ready: dict[str, Any] = {
            "type": "ready", "stream_id": self.stream_id, "model": engine.info.name,
            "multilingual": engine.multilingual, "language": self.stream_cfg.language or "auto",
            "language_requested": cfg.language or "auto", "sample_rate": cfg.sample_rate, "encoding": cfg.encoding,
            "script": cfg.script, "source": self.meta.source, "channel": cfg.channel,
            "limits": {"max_frame_bytes": v.max_frame_bytes, "max_stream_seconds": v.max_stream_seconds,
                       "max_lag_seconds": v.max_lag_seconds}}
        if note:
            ready["language_note"] = note
        if self.call is not None:
            ready.update(kind="call", call_id=self.call.id)
        return ready

    def _on_event(self, ev: Event) -> None:
        # Every utterance the VAD accepted ends in exactly one of final, dropped (no speech) or an
        # error naming it; the client hears each, and a failed one is kept as a gap for a re-run.
        source = self.meta.source or "stream"
        if isinstance(ev, Final):
            self.finals += 1
            self.deps.count(source, "final")
            self.wire.send(proto.final_event(self.stream_id, ev))
            self.persister.put_final(ev)
        elif isinstance(ev, Partial):
            self.wire.send(proto.partial_event(self.stream_id, ev))
            self.persister.put_partial(ev)
        elif isinstance(ev, Dropped):
            self.deps.count(source, "no_speech")
            self.wire.send(proto.dropped_event(self.stream_id, ev))
        elif isinstance(ev, Failed):
            self.errors += 1
            self.deps.count(source, "error")
            gap_id = new_gap_id()
            log.warning("utterance %d of stream %s failed (%s); kept as gap %s", ev.utterance, self.stream_id,
                        ev.reason, gap_id)
            self.wire.send(proto.utterance_error_event(self.stream_id, ev, gap_id))
            self.persister.put_gap(gap_id, ev, self.stream_cfg.started_at)

    async def _read(self, encoding: str, idle: IdleFlush) -> bool:
        """The reading loop; True when the stream was closed for lagging."""
        v = self.deps.settings
        session = self.session
        async for data in self.wire.messages():
            if isinstance(data, str):
                msg = control(data)
                if msg == "end":
                    self.reason = "end of audio"
                    return False
                if msg == "flush":
                    session.flush()
                    continue
                self.wire.send(proto.error_event(
                    proto.UNEXPECTED_TEXT, 'expected binary audio frames or a JSON control message {"type": "end"} '
                    'or {"type": "flush"}; the message was ignored'))
                continue
            idle.touch()
            if len(data) > v.max_frame_bytes:
                self.wire.send(proto.error_event(
                    proto.FRAME_TOO_LARGE, f"audio frame of {len(data)} bytes is larger than the limit of "
                    f"{v.max_frame_bytes} bytes; send smaller frames (e.g. 20-100 ms of audio); the frame was ignored"))
                continue
            try:
                session.feed_pcm(data, encoding)
            except AudioError as exc:
                self.wire.send(proto.error_event(proto.BAD_AUDIO, f"{exc}; the frame was ignored"))
                continue
            if self.call is not None:
                self.call.audio(data, encoding)
            if session.core.seconds_received > v.max_stream_seconds:
                self.wire.send(proto.error_event(proto.STREAM_TOO_LONG, "the stream exceeded the limit of "
                                                 f"{v.max_stream_seconds:g} s of audio; it is finished now"))
                self.reason = "stream too long"
                return False
            if await self._check_lag():
                return True
            # The writer is far behind (a slow database): stop reading until it catches up, so the
            # client is slowed through TCP rather than finals piling up in memory.
            await self.persister.room()
        # The client went away without "end": what it already said is still decoded and stored.
        self.reason = "client disconnected"
        return False

    async def _check_lag(self) -> bool:
        v = self.deps.settings
        backlog = self.session.backlog_seconds
        if backlog > 2 * v.max_lag_seconds:
            self.wire.send(proto.error_event(
                proto.LAGGING, f"decoding is {backlog:.1f} s behind this stream, over the limit of "
                f"{2 * v.max_lag_seconds:g} s; the stream is closed; the server is overloaded, retry later"))
            self.reason = "lagging"
            await self.session.abort(f"not transcribed: the server fell {backlog:.1f} s behind this stream and "
                                     "closed it")
            await self.persister.close()
            await self.wire.close(CLOSE_TRY_AGAIN, "lagging")
            return True
        if backlog > v.max_lag_seconds and not self.lag_warned:
            self.lag_warned = True
            self.wire.send({"type": "lag", "backlog_seconds": round(backlog, 2), "limit_seconds": v.max_lag_seconds,
                            "close_at_seconds": 2 * v.max_lag_seconds})
        elif backlog <= v.max_lag_seconds / 2:
            self.lag_warned = False
        return False
