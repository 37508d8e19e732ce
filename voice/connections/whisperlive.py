"""``/ws/whisperlive``: the WhisperLive protocol, so its stock Python client works unmodified.

Options JSON (with a ``uid``), float32 16 kHz audio, ``END_OF_AUDIO``; ``SERVER_READY``,
``segments`` (``completed`` for finals), ``language`` in auto mode, ``DISCONNECT`` back. The
protocol has no per-segment error: an utterance that could not be decoded is reported as a
``WARNING`` and kept as a gap, like on ``/ws/transcribe``.
"""

from __future__ import annotations

from typing import Any

from voice import protocol as proto
from voice.audio import AudioError
from voice.connections.deps import INTERVIEW_SOURCE, StreamDeps, stream_config
from voice.gaps import new_gap_id
from voice.persister import Persister
from voice.session import IdleFlush, StreamSession
from voice.store import StreamMeta
from voice.stream import Dropped, Event, Failed, Final, Partial, StreamTranscriber
from voice.wire import Wire

END_OF_AUDIO = b"END_OF_AUDIO"
SEGMENTS = 10  # segments sent back each time, unless the client asks for another number
MIN_FRAME_LIMIT = 4096 * 4  # the stock client's frame (4096 float32 samples) is always accepted


def _last(items: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    return items[len(items) - n:] if n > 0 else []


def _segment(start: float, end: float, text: str, completed: bool) -> dict[str, Any]:
    return {"start": f"{start:.3f}", "end": f"{end:.3f}", "text": text, "completed": completed}


class WhisperLiveConnection:
    """One WhisperLive stream; ``options`` is the client's first message (validated to carry a uid)."""

    def __init__(self, wire: Wire, deps: StreamDeps, stream_id: str, uid: str, options: dict[str, Any], *,
                 interviewer: bool = False) -> None:
        self.wire, self.deps, self.stream_id, self.uid = wire, deps, stream_id, uid
        requested = options.get("language") or None
        keep = options.get("send_last_n_segments")
        self.keep = keep if isinstance(keep, int) and 1 <= keep <= 100 else SEGMENTS
        hotwords, prompt = options.get("hotwords"), options.get("initial_prompt")
        self.cfg = proto.ClientConfig(
            sample_rate=16000, encoding="f32le", language=requested if isinstance(requested, str) else None,
            hotwords=hotwords if isinstance(hotwords, str) else None,
            initial_prompt=prompt if isinstance(prompt, str) else None, script=deps.settings.script,
            source=INTERVIEW_SOURCE if interviewer else "whisperlive", channel=str(options.get("channel") or ""),
            partials=True)
        self.completed: list[dict[str, Any]] = []

    async def run(self) -> None:
        d, v, uid = self.deps, self.deps.settings, self.uid
        stream_cfg, note = stream_config(self.cfg, d.engine, v)
        self.started_at = stream_cfg.started_at
        self.announced = stream_cfg.language is not None
        self.meta = StreamMeta(stream_id=self.stream_id, source=self.cfg.source, channel=self.cfg.channel,
                               model=d.engine.info.name)
        self.persister = Persister(d.store, self.meta, private=self.cfg.source == INTERVIEW_SOURCE)
        session = StreamSession(StreamTranscriber(stream_cfg), d.engine, self._on_event)
        self.wire.send({"uid": uid, "message": "SERVER_READY", "backend": "faster_whisper"})
        if note:
            self.wire.send({"uid": uid, "status": "WARNING", "message": note})
        idle = IdleFlush(session, v.idle_flush_seconds)
        frame_limit = max(v.max_frame_bytes, MIN_FRAME_LIMIT)
        try:
            async for data in self.wire.messages():
                if isinstance(data, str):
                    continue  # the protocol carries nothing but audio after the options
                idle.touch()
                if data == END_OF_AUDIO:
                    break
                if len(data) > frame_limit:
                    self.wire.send({"uid": uid, "status": "WARNING",
                                    "message": f"audio frame of {len(data)} bytes over the limit; ignored"})
                    continue
                try:
                    session.feed_pcm(data, "f32le")
                except AudioError as exc:
                    self.wire.send({"uid": uid, "status": "WARNING", "message": f"{exc}; the frame was ignored"})
                    continue
                if session.core.seconds_received > v.max_stream_seconds or \
                        session.backlog_seconds > 2 * v.max_lag_seconds:
                    break
                await self.persister.room()
            if session.backlog_seconds > 2 * v.max_lag_seconds:
                await session.abort(f"not transcribed: the server fell {session.backlog_seconds:.1f} s behind this "
                                    "stream and closed it")
            else:
                await session.finish()
            await self.persister.close()
            self.wire.send({"uid": uid, "message": "DISCONNECT"})
        finally:
            await idle.stop()
            if not self.persister.task.done():
                await session.abort("not transcribed: the stream was broken off")
            await self.persister.close()

    def _on_event(self, ev: Event) -> None:
        uid, keep, source = self.uid, self.keep, self.meta.source or "whisperlive"
        if isinstance(ev, Final):
            if not self.announced and ev.language:
                self.announced = True
                self.wire.send({"uid": uid, "language": ev.language, "language_prob": ev.language_probability})
            # WhisperLive's own server lets the incomplete segment settle on the text it then completes;
            # its client keeps that last incomplete segment and adds it to the SRT when it differs.
            # Sending the final text as the incomplete segment first keeps the two the same.
            self.wire.send({"uid": uid, "segments": [*_last(self.completed, keep - 1),
                                                     _segment(ev.start, ev.end, ev.text, False)]})
            self.completed.append(_segment(ev.start, ev.end, ev.text, True))
            self.wire.send({"uid": uid, "segments": self.completed[-keep:]})
            self.persister.put_final(ev)
            self.deps.count(source, "final")
        elif isinstance(ev, Partial):
            self.wire.send({"uid": uid, "segments": [*_last(self.completed, keep - 1),
                                                     _segment(ev.start, ev.end, ev.text, False)]})
        elif isinstance(ev, Failed):
            gap_id = new_gap_id()
            self.deps.count(source, "error")
            self.wire.send({"uid": uid, "status": "WARNING",
                            "message": proto.utterance_error_event(self.stream_id, ev, gap_id)["message"]})
            self.persister.put_gap(gap_id, ev, self.started_at)
        elif isinstance(ev, Dropped):
            self.deps.count(source, "no_speech")
