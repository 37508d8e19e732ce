"""Value types shared by the streaming core, the engine and the adapters.

Kept apart from :mod:`voice.engine` so the sans-I/O core (:mod:`voice.stream`) depends on plain
data, not on the module that loads the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class DecodeOptions:
    """How to decode one utterance. ``language=None`` means detect it."""

    language: str | None = None
    initial_prompt: str | None = None
    hotwords: str | None = None
    script: str = "simplified"
    final: bool = True  # finals: beam search + word times; partials: greedy, text only
    # Auto mode: the stream's recent confident language, used when detection on this utterance is
    # unsure (a 1.5 s fragment of Mandarin can come out as Korean).
    language_hint: str | None = None
    # Which final decodes first when the engine is behind: higher first, then the oldest (radio:
    # the channel's 0-10 priority; streams: voice.connections.deps.stream_priority).
    priority: int = 5
    # A whole recording (upload, file, `jingyun transcribe`): decoded in Whisper's 30 s window, as it
    # was trained, whatever JINGYUN_ASR_WINDOW says. Live finals use the fitted window, which is about
    # twice as fast but makes the text of a long utterance depend on the pad (the 12.4 s meeting clip:
    # CER 0.24-0.33 as the pad goes from 3 to 8 s, 0.22 in the 30 s window); nobody waits on a file's
    # every second.
    full_window: bool = False

    @property
    def prompted(self) -> bool:
        """Whether Whisper is given text before the audio (hotwords or an initial prompt)."""
        return bool(self.hotwords or self.initial_prompt)


@dataclass(frozen=True)
class Word:
    word: str
    start: float
    end: float
    probability: float


@dataclass
class AsrResult:
    """What Whisper said about one utterance (times relative to the utterance start)."""

    text: str
    language: str | None = None
    language_probability: float | None = None
    words: list[Word] = field(default_factory=list)
    confidence: float = 0.0
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 0.0
    speech_seconds: float = 0.0
    dropped: str | None = None  # why nothing came out, when nothing did
    temperature: float = 0.0
    decode_seconds: float = 0.0
    batch_size: int = 1
    error: str | None = None  # decoding itself failed (after its retry); the engine raises DecodeError
    prompt_echo: bool = False  # the prompted decode repeated the hotwords/prompt and was redone without it


class DecodeError(RuntimeError):
    """Decoding one utterance failed, after it was retried alone; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AsrBackend(Protocol):
    """What the streaming core needs from an ASR engine (injected; tests use their own)."""

    async def transcribe(self, audio: np.ndarray, options: DecodeOptions) -> AsrResult: ...
