"""What a streaming connection is given by the server: the engine, settings, storage and hooks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from voice import protocol as proto
from voice.persister import StreamStore
from voice.settings import VoiceSettings
from voice.store import StreamMeta
from voice.stream import Final, StreamConfig

# Interview speech is for interviewers and admins only (docs/interviews.md): stored, never published
# to the dispatcher consoles nor listed to other roles.
INTERVIEW_SOURCE = "interview"


class CallHook(Protocol):
    """A call record following a ``"kind": "call"`` stream (voice.calls.service.LiveCall)."""

    id: str

    def audio(self, data: bytes, encoding: str) -> None: ...

    def final(self, final: Final, transcript_id: int | None) -> None: ...

    async def end(self, reason: str) -> None: ...


# Opens the call record of a call stream; raises ProtocolError (bad_config) when it may not be one.
OpenCall = Callable[[proto.ClientConfig, StreamMeta], Awaitable[CallHook]]


@dataclass(frozen=True)
class StreamDeps:
    engine: Any  # voice.engine.AsrEngine (typed loosely so tests may pass their own backend)
    settings: VoiceSettings
    handshake_timeout: float
    store: StreamStore
    count: Callable[[str, str], None] = lambda _source, _outcome: None  # (source, outcome): a metric
    open_call: OpenCall | None = None


def stream_config(cfg: proto.ClientConfig, engine: Any, v: VoiceSettings) -> tuple[StreamConfig, str | None]:
    """The streaming core's settings for a validated client config, and a note on the language."""
    language, note = engine.resolve_language(cfg.language)
    return StreamConfig(
        sample_rate=cfg.sample_rate, language=language, hotwords=cfg.hotwords, initial_prompt=cfg.initial_prompt,
        script=cfg.script, partial_interval=v.partial_interval if cfg.partials else 0.0,
        max_utterance_seconds=v.max_utterance_seconds, vad_aggressiveness=v.vad_aggressiveness,
        vad_frame_ms=v.vad_frame_ms if v.vad_frame_ms in (10, 20, 30) else 30, end_silence_ms=v.end_silence_ms,
        early_final_ms=v.early_final_ms, long_utterance_seconds=v.long_utterance_seconds,
        long_end_silence_ms=v.long_end_silence_ms, started_at=dt.datetime.now(dt.UTC)), note
