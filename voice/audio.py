"""Audio in: raw PCM conversion, streaming resampling and whole-file decoding (PyAV/FFmpeg).

Whisper wants 16 kHz mono float32. Radio gateways send 8 kHz, browsers 16/48 kHz, uploads any
container; all of it goes through FFmpeg's resampler (``av.AudioResampler``), which filters
properly instead of dropping or repeating samples.
"""

from __future__ import annotations

import io

import av
import numpy as np

TARGET_RATE = 16000
ENCODINGS = ("pcm_s16le", "f32le")
_SAMPLE_BYTES = {"pcm_s16le": 2, "f32le": 4}


class AudioError(ValueError):
    """Audio that cannot be used; the message says what was wrong and what is accepted."""


def pcm_to_float(data: bytes, encoding: str) -> np.ndarray:
    """Decode raw little-endian mono PCM to float32 in [-1, 1]."""
    width = _SAMPLE_BYTES.get(encoding)
    if width is None:
        raise AudioError(f"unsupported encoding {encoding!r}; accepted: {', '.join(ENCODINGS)}")
    if len(data) % width:
        raise AudioError(f"{encoding} audio must be a whole number of {width}-byte samples; "
                         f"got a frame of {len(data)} bytes")
    if encoding == "pcm_s16le":
        return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    samples = np.frombuffer(data, dtype="<f4").astype(np.float32)
    if not np.isfinite(samples).all():
        raise AudioError("f32le audio contains NaN or infinite samples")
    return np.clip(samples, -1.0, 1.0)


class StreamResampler:
    """Stateful mono float32 resampler to 16 kHz; keeps filter state across chunks."""

    def __init__(self, rate_in: int, rate_out: int = TARGET_RATE) -> None:
        self.rate_in, self.rate_out = rate_in, rate_out
        self._resampler = (None if rate_in == rate_out
                           else av.AudioResampler(format="flt", layout="mono", rate=rate_out))
        self._pts = 0

    def process(self, samples: np.ndarray) -> np.ndarray:
        """Resample one chunk; output length follows the input with a small filter delay."""
        if self._resampler is None or samples.size == 0:
            return samples.astype(np.float32, copy=False)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1).astype(np.float32), format="flt",
                                           layout="mono")
        frame.sample_rate = self.rate_in
        frame.pts = self._pts
        self._pts += samples.size
        return self._collect(self._resampler.resample(frame))

    def flush(self) -> np.ndarray:
        """Drain the filter delay at the end of a stream."""
        if self._resampler is None:
            return np.zeros(0, np.float32)
        return self._collect(self._resampler.resample(None))

    @staticmethod
    def _collect(frames: list[av.AudioFrame]) -> np.ndarray:
        if not frames:
            return np.zeros(0, np.float32)
        return np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).astype(np.float32)


def decode_file(data: bytes, max_seconds: float | None = None) -> np.ndarray:
    """Decode any FFmpeg-readable audio (WAV, FLAC, MP3, OGG, ...) to 16 kHz mono float32."""
    try:
        container = av.open(io.BytesIO(data), mode="r")
    except (av.error.FFmpegError, ValueError) as exc:  # type: ignore[attr-defined]
        raise AudioError(f"cannot read the audio file ({exc}); accepted: WAV, FLAC, MP3, OGG/Opus, M4A") from None
    chunks: list[np.ndarray] = []
    total = 0
    try:
        if not container.streams.audio:
            raise AudioError("the file holds no audio stream; accepted: WAV, FLAC, MP3, OGG/Opus, M4A")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=TARGET_RATE)
        limit = int(max_seconds * TARGET_RATE) if max_seconds else None
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                arr = out.to_ndarray().reshape(-1)
                chunks.append(arr)
                total += arr.size
            if limit is not None and total > limit:
                raise AudioError(f"audio longer than the limit of {max_seconds:g} seconds")
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    except av.error.FFmpegError as exc:  # type: ignore[attr-defined]
        raise AudioError(f"cannot decode the audio ({exc}); accepted: WAV, FLAC, MP3, OGG/Opus, M4A") from None
    finally:
        container.close()
    if not chunks:
        return np.zeros(0, np.float32)
    return np.concatenate(chunks).astype(np.float32)


def float_to_s16le(samples: np.ndarray) -> bytes:
    """float32 [-1, 1] → 16-bit little-endian PCM bytes (for WebRTC VAD and WAV output)."""
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
