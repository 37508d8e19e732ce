"""Squelch-tail trimming: the burst of noise a receiver passes when a transmission ends.

When the far end releases push-to-talk, an analogue receiver opens on carrier-less noise for a
fraction of a second before its squelch closes. That burst is loud (often louder than the
speech) and spectrally flat, and Whisper turns it into invented words ("Thank you.", "you").
It is cut before decoding: walking back from the end, frames whose spectrum over the voice band
(300-3400 Hz) is flat like noise are dropped, up to ``max_tail_ms``. Voiced speech has formants
and harmonics, so its flatness stays far below that of noise even at 15 dB SNR. Pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FRAME_MS = 20
BAND = (300.0, 3400.0)
MIN_RUN_MS = 60  # a shorter flat run is a fricative, not a squelch burst
SILENCE_DBFS = -55.0
FLOOR_MARGIN_DB = 3.0
SMOOTH = 5


@dataclass(frozen=True)
class Trim:
    """How much of a transmission is kept: ``keep`` samples from the start; the rest was tail."""

    keep: int
    tail_ms: float
    reason: str


def frame_flatness(frames: np.ndarray, rate: int) -> np.ndarray:
    """Spectral flatness (geometric / arithmetic mean of power) per frame over the voice band."""
    n = frames.shape[1]
    window = np.hanning(n).astype(np.float32)
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2 + 1e-12
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    band = (freqs >= BAND[0]) & (freqs <= min(BAND[1], rate / 2 - 1))
    p = power[:, band]
    flat: np.ndarray = np.exp(np.log(p).mean(axis=1)) / p.mean(axis=1)
    return flat


def squelch_tail(samples: np.ndarray, rate: int, *, max_tail_ms: int = 1200, flatness: float = 0.42) -> Trim:
    """Find the squelch tail of one transmission (float32 mono at ``rate``); nothing is changed here."""
    frame = rate * FRAME_MS // 1000
    total = samples.size
    if max_tail_ms <= 0 or total < 2 * frame:
        return Trim(total, 0.0, "too short to have a tail" if max_tail_ms > 0 else "trimming disabled")
    max_frames = min(total // frame - 1, max_tail_ms // FRAME_MS)
    # Frames aligned to the end, so the last frame is the last audio.
    head = total % frame
    all_frames = samples[head:].reshape(-1, frame).astype(np.float32)
    all_db = 20 * np.log10(np.sqrt((all_frames ** 2).mean(axis=1)) + 1e-9)
    # The channel's own noise floor: a quiet frame near it is a pause, whatever its spectrum.
    floor = float(np.percentile(all_db, 10))
    frames = all_frames[-max_frames:]
    db = all_db[-max_frames:]
    # Median over 5 frames (100 ms): a burst of noise stays flat throughout, while a breathy word
    # ending has single flat frames between voiced ones.
    raw_flat = frame_flatness(frames, rate)
    padded = np.pad(raw_flat, (SMOOTH // 2, SMOOTH // 2), mode="edge")
    flat = np.median(np.lib.stride_tricks.sliding_window_view(padded, SMOOTH), axis=1)
    noise_like = (flat >= flatness) | (db < SILENCE_DBFS) | (db < floor + FLOOR_MARGIN_DB)
    run = 0
    for i in range(max_frames - 1, -1, -1):
        if not noise_like[i]:
            break
        run += 1
    if run * FRAME_MS < MIN_RUN_MS:
        return Trim(total, 0.0, "no squelch tail")
    keep = total - run * frame
    return Trim(keep, run * FRAME_MS, f"trimmed {run * FRAME_MS} ms of squelch noise/silence")
