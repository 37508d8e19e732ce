"""What ``jingyun radio-bridge`` sends, without the sockets: files found, units named, frames paced.

A call file may name its unit: ``U12@anything.wav`` is a transmission by unit ``U12`` (the part
before ``@``); otherwise the ``--unit`` option (or none) is used. WAV files at 8 or 16 kHz go out
as they are; anything else FFmpeg reads is resampled to 16 kHz.
"""

from __future__ import annotations

import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

AUDIO_SUFFIXES = (".wav", ".mp3", ".m4a", ".ogg", ".opus", ".flac")


@dataclass(frozen=True)
class Call:
    path: Path
    unit: str | None
    samples: np.ndarray  # int16 mono
    rate: int

    @property
    def seconds(self) -> float:
        return self.samples.size / self.rate


def discover(path: Path) -> list[Path]:
    """The call files of a file or a directory, in call order: by name after any ``UNIT@`` prefix
    (recorders name calls by time)."""
    if path.is_dir():
        files = sorted((p for p in path.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file()),
                       key=lambda p: (p.name.split("@", 1)[-1], p.name))
        if not files:
            raise ValueError(f"no audio files ({', '.join(AUDIO_SUFFIXES)}) in {path}")
        return files
    if not path.is_file():
        raise ValueError(f"{path} is neither an audio file nor a directory of calls")
    return [path]


def unit_for(path: Path, default: str | None) -> str | None:
    stem = path.stem
    if "@" in stem and stem.split("@", 1)[0].strip():
        return stem.split("@", 1)[0].strip()
    return default


def load_call(path: Path, default_unit: str | None) -> Call:
    """Read one call; 16-bit mono WAV at 8/16 kHz is sent unchanged, anything else at 16 kHz."""
    if path.suffix.lower() == ".wav":
        try:
            with wave.open(str(path), "rb") as w:
                if w.getnchannels() == 1 and w.getsampwidth() == 2 and w.getframerate() in (8000, 16000):
                    data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").copy()
                    return Call(path, unit_for(path, default_unit), data, w.getframerate())
        except wave.Error:
            pass
    from voice.audio import decode_file

    audio = decode_file(path.read_bytes())
    return Call(path, unit_for(path, default_unit), (np.clip(audio, -1, 1) * 32767).astype("<i2"), 16000)


def frames(call: Call, frame_ms: int = 20) -> Iterator[bytes]:
    step = call.rate * frame_ms // 1000
    for off in range(0, call.samples.size, step):
        yield call.samples[off:off + step].astype("<i2").tobytes()
