"""Transmission segmentation: PTT events, attribution, times, lost events, VAD without PTT."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from tests.fixtures_radio import band_noise, read_wav
from voice.radio.ptt import PttError, SegmenterConfig, TransmissionSegmenter

T0 = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)


def feed(seg: TransmissionSegmenter, samples: np.ndarray, chunk: int = 800) -> list:
    out = []
    for off in range(0, samples.size, chunk):
        out += seg.feed(samples[off:off + chunk])
    return out


def test_each_ptt_is_one_transmission_with_unit_and_times(shared_dir):
    speech, rate = read_wav(shared_dir / "audio/synthetic/en_radio_01_radio8k.wav")
    seg = TransmissionSegmenter(SegmenterConfig(sample_rate=rate), T0)
    assert feed(seg, band_noise(1.0, rate, 0.01)) == []  # VAD mode: quiet noise is not a transmission
    keyed = T0 + dt.timedelta(seconds=1)
    assert seg.ptt_down("U12", keyed) == []
    assert seg.mode == "ptt" and seg.keyed_unit == "U12"
    assert feed(seg, speech) == []  # nothing is cut while the key is down, pauses or not
    (tx,) = seg.ptt_up()
    assert tx.unit == "U12" and tx.trigger == "ptt" and tx.seq == 1 and tx.sample_rate == 8000
    assert tx.start_utc == keyed and tx.end_utc == keyed + dt.timedelta(seconds=speech.size / rate)
    assert tx.start == pytest.approx(1.0) and tx.end == pytest.approx(1.0 + speech.size / rate, abs=1e-3)
    assert tx.raw.size == speech.size and tx.audio.size < speech.size and tx.tail_ms >= 550
    # Audio while nobody is keyed is ignored, and counted.
    assert feed(seg, band_noise(0.5, rate, 0.3)) == []
    assert seg.ignored_seconds == pytest.approx(0.5)
    assert seg.finish() == []


def test_lost_ptt_up_and_stray_events():
    rate = 16000
    seg = TransmissionSegmenter(SegmenterConfig(sample_rate=rate), T0, mode="ptt")
    with pytest.raises(PttError, match="ptt_down"):
        seg.ptt_up()
    seg.ptt_down("A1", T0)
    feed(seg, band_noise(1.0, rate, 0.1))
    # B2 keys up without A1's release reaching us: A1's transmission is closed, not merged into B2's.
    (first,) = seg.ptt_down("B2", T0 + dt.timedelta(seconds=2))
    assert first.unit == "A1"
    feed(seg, band_noise(0.05, rate, 0.1))  # a key-up click: too short to be a transmission
    assert seg.ptt_up() == []
    seg.ptt_down(None, T0)  # an unidentified sender
    feed(seg, band_noise(0.5, rate, 0.1))
    (anon,) = seg.finish()  # the stream ends while keyed: the transmission is still delivered
    assert anon.unit is None and anon.seq == 2
    with pytest.raises(PttError, match="1-64"):
        seg.ptt_down("x" * 65, T0)


def test_long_transmission_is_cut_and_continues():
    rate = 8000
    seg = TransmissionSegmenter(SegmenterConfig(sample_rate=rate, max_seconds=2.0), T0, mode="ptt")
    seg.ptt_down("U1", T0)
    parts = feed(seg, band_noise(5.0, rate, 0.1))
    parts += seg.ptt_up()
    assert [p.truncated for p in parts] == [True, True, False]
    assert all(p.unit == "U1" for p in parts)
    assert parts[1].start_utc == T0 + dt.timedelta(seconds=2) and parts[2].start == pytest.approx(4.0)


def test_vad_segments_without_ptt(shared_dir):
    a, rate = read_wav(shared_dir / "audio/synthetic/en_radio_02.wav")
    b, _ = read_wav(shared_dir / "audio/real/en_jfk.wav")
    seg = TransmissionSegmenter(SegmenterConfig(sample_rate=rate), T0, mode="vad")
    silence = np.zeros(rate, np.float32)
    out = feed(seg, np.concatenate([a, silence, b, silence])) + seg.finish()
    assert len(out) >= 2 and all(t.trigger == "vad" and t.unit is None for t in out)
    assert out[0].start < a.size / rate < out[-1].start
    assert out[-1].end <= (a.size + rate + b.size) / rate + 0.5
    assert out[0].start_utc == T0 + dt.timedelta(seconds=out[0].start)
    with pytest.raises(PttError, match="mode 'vad'"):
        seg.ptt_down("U1", T0)


def test_bad_configuration():
    with pytest.raises(PttError, match="8000 Hz or 16000 Hz"):
        SegmenterConfig(sample_rate=44100)
    with pytest.raises(PttError, match="auto, ptt, vad"):
        TransmissionSegmenter(SegmenterConfig(), T0, mode="push")
