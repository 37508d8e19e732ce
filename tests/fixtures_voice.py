"""Voice fixtures: one shared model per session per name, audio helpers and error-rate scoring."""

from __future__ import annotations

import json
import os
import re
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from voice.engine import AsrEngine
from voice.settings import VoiceSettings

MODEL_CACHE = Path(os.environ.get("JINGYUN_TEST_MODEL_CACHE",
                                  Path.home() / ".cache" / "jingyun-test" / "models"))

__all__ = ["asr_engine", "asr_engine_base", "voice_manifest"]


async def _engine(name: str) -> AsyncIterator[AsrEngine]:
    import asyncio

    loop = asyncio.get_running_loop()
    engine = await loop.run_in_executor(None, AsrEngine.load, VoiceSettings(model=name), MODEL_CACHE)
    try:
        yield engine
    finally:
        await engine.close()


@pytest.fixture(scope="session")
async def asr_engine() -> AsyncIterator[AsrEngine]:
    """The tiny.en engine, loaded once per test session and shared."""
    async for engine in _engine("tiny.en"):
        yield engine


@pytest.fixture(scope="session")
async def asr_engine_base() -> AsyncIterator[AsrEngine]:
    """The multilingual base engine, loaded once per test session and shared."""
    async for engine in _engine("base"):
        yield engine


def manifest(shared: Path) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((shared / "audio" / "manifest.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="session")
def voice_manifest(shared_dir: Path) -> dict[str, dict[str, Any]]:
    """manifest.json of ../shared/audio keyed by file path."""
    return {e["file"]: e for e in manifest(shared_dir)}


def load_wav(path: Path) -> tuple[np.ndarray, int]:
    """(int16 mono samples, sample rate) of a PCM WAV file."""
    with wave.open(str(path), "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2, f"{path}: expected 16-bit mono"
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").copy(), w.getframerate()


def _edit_distance(ref: list[str], hyp: list[str]) -> int:
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def _en_words(text: str) -> list[str]:
    # BASELINE.md scoring: lowercase, apostrophes dropped, other punctuation -> space.
    text = text.lower().replace("'", "").replace("’", "")
    return re.sub(r"[^\w\s]", " ", text).split()


def word_errors(reference: str, hypothesis: str) -> int:
    return _edit_distance(_en_words(reference), _en_words(hypothesis))


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate with BASELINE.md's normalisation."""
    ref = _en_words(reference)
    return _edit_distance(ref, _en_words(hypothesis)) / max(1, len(ref))


def _zh_chars(text: str) -> list[str]:
    return [c for c in text if c.isalnum()]


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate; punctuation, symbols and whitespace stripped (BASELINE.md)."""
    ref = _zh_chars(reference)
    return _edit_distance(ref, _zh_chars(hypothesis)) / max(1, len(ref))
