"""Squelch-tail trimming on the radio-style clips and on real speech (which must not be cut)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.fixtures_radio import band_noise, read_wav
from voice.radio.squelch import squelch_tail


def _speech_end(samples: np.ndarray, rate: int) -> float:
    """Last 20 ms frame more than 12 dB above the clip's quietest tenth: where speech ends."""
    frame = rate // 50
    n = samples.size // frame
    db = 20 * np.log10(np.sqrt((samples[: n * frame].reshape(n, frame) ** 2).mean(axis=1)) + 1e-9)
    loud = np.nonzero(db > np.percentile(db, 10) + 12)[0]
    return float((loud[-1] + 1) * frame / rate)


@pytest.mark.parametrize("name", ["en_radio_01", "en_radio_04", "zh_radio_01", "zh_radio_04"])
@pytest.mark.parametrize("variant", ["radio8k", "radio16k"])
def test_squelch_burst_is_cut_and_speech_kept(shared_dir, name, variant):
    clean, crate = read_wav(shared_dir / f"audio/synthetic/{name}.wav")
    noisy, rate = read_wav(shared_dir / f"audio/synthetic/{name}_{variant}.wav")
    trim = squelch_tail(noisy, rate)
    # The 0.3 s burst and the 0.3 s pad before it are gone ...
    assert trim.tail_ms >= 550, trim
    # ... and the speech (its end measured on the clean clip) is kept, give or take one decaying frame.
    assert trim.keep / rate >= _speech_end(clean, crate) - 0.12, (trim, _speech_end(clean, crate))


@pytest.mark.parametrize("clip", ["real/en_jfk.wav", "real/zh_aishell1_BAC009S0764W0121.wav",
                                  "real/zh_aishell2_IT0011W0001.wav"])
def test_real_speech_without_a_tail_is_not_cut_into(shared_dir, clip):
    samples, rate = read_wav(shared_dir / "audio" / clip)
    trim = squelch_tail(samples, rate)
    assert trim.keep / rate >= _speech_end(samples, rate) - 0.05, trim


def test_loud_flat_burst_after_a_tone_is_cut_and_the_tone_kept():
    rate = 8000
    t = np.arange(rate) / rate
    tone = (0.3 * np.sin(2 * np.pi * 440 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    burst = band_noise(0.25, rate, 0.3)
    trim = squelch_tail(np.concatenate([tone, burst]), rate)
    assert trim.keep == pytest.approx(rate, abs=rate * 0.04) and 200 <= trim.tail_ms <= 280


def test_limits():
    rate = 16000
    assert squelch_tail(np.zeros(100, np.float32), rate).keep == 100
    noise = band_noise(3.0, rate, 0.2)
    trim = squelch_tail(noise, rate, max_tail_ms=500)
    assert trim.tail_ms == 500 and trim.keep == noise.size - rate // 2
    assert squelch_tail(noise, rate, max_tail_ms=0).keep == noise.size
