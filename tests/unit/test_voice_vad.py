"""WebRTC segmentation and the Silero gate on real and non-speech audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.fixtures_voice import load_wav
from voice.audio import StreamResampler
from voice.vad import (
    SileroGate,
    SpeechEnd,
    SpeechPause,
    SpeechResume,
    SpeechStart,
    VadConfig,
    WebRtcSegmenter,
    check_vad,
)


def _float(path: Path) -> tuple[np.ndarray, int]:
    samples, rate = load_wav(path)
    return samples.astype(np.float32) / 32768.0, rate


@pytest.mark.parametrize("rate", [8000, 16000, 32000, 48000])
@pytest.mark.parametrize("frame_ms", [10, 20, 30])
def test_segmenter_finds_jfk_at_every_rate_and_frame(shared_dir: Path, rate: int, frame_ms: int) -> None:
    speech, src_rate = _float(shared_dir / "audio" / "real" / "en_jfk.wav")
    res = StreamResampler(src_rate, rate)
    audio = np.concatenate([np.zeros(rate, np.float32), res.process(speech), res.flush(),
                            np.zeros(rate, np.float32)])
    seg = WebRtcSegmenter(VadConfig(sample_rate=rate, frame_ms=frame_ms))
    events = seg.feed(audio[: audio.size // 2]) + seg.feed(audio[audio.size // 2:])
    starts = [e.sample / rate for e in events if isinstance(e, SpeechStart)]
    ends = [e.sample / rate for e in events if isinstance(e, SpeechEnd)]
    assert starts and ends
    assert 0.3 <= starts[0] <= 1.5
    assert 10.5 <= ends[-1] <= 12.5


def test_hangover_keeps_short_pauses_inside_one_utterance() -> None:
    rate = 16000
    rng = np.random.default_rng(0)
    t = np.arange(rate) / rate
    voiced = (0.4 * np.sin(2 * np.pi * 180 * t) * (1 + 0.5 * np.sin(2 * np.pi * 4 * t))
              + 0.02 * rng.standard_normal(rate)).astype(np.float32)
    pause = np.zeros(rate * 3 // 10, np.float32)  # 300 ms: shorter than the 600 ms end hangover
    seg = WebRtcSegmenter(VadConfig(end_silence_ms=600))
    events = seg.feed(np.concatenate([voiced, pause, voiced, np.zeros(rate, np.float32)]))
    assert [type(e) for e in events] == [SpeechStart, SpeechEnd]


@pytest.mark.parametrize("kwargs", [{"sample_rate": 11025}, {"frame_ms": 25}, {"aggressiveness": 4}])
def test_bad_vad_config_names_what_is_accepted(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match=r"accepted|0\.\.3"):
        VadConfig(**kwargs)


def test_force_end_closes_an_open_utterance(shared_dir: Path) -> None:
    speech, _ = _float(shared_dir / "audio" / "real" / "en_jfk.wav")
    seg = WebRtcSegmenter()
    seg.feed(speech[: 16000 * 3])
    assert seg.in_speech
    end = seg.force_end()
    assert end is not None and not seg.in_speech
    assert seg.force_end() is None


@pytest.mark.parametrize("name", ["ns_silence_20s.wav", "ns_pinknoise_20s.wav", "ns_radio_static_tones_20s.wav"])
def test_silero_hears_no_speech_in_nonspeech_clips(shared_dir: Path, name: str) -> None:
    audio, rate = _float(shared_dir / "audio" / "nonspeech" / name)
    assert rate == 16000
    assert SileroGate().speech_seconds(audio) < 0.25


def test_silero_hears_speech_in_jfk(shared_dir: Path) -> None:
    audio, _ = _float(shared_dir / "audio" / "real" / "en_jfk.wav")
    assert SileroGate().speech_seconds(audio) > 6.0


def test_check_vad_reports_both_parts() -> None:
    ok, detail, fix = check_vad()
    assert ok, (detail, fix)
    assert "webrtcvad" in detail and "silero" in detail.lower()


def test_pause_and_resume_are_reported_only_when_asked(shared_dir: Path) -> None:
    speech, _ = _float(shared_dir / "audio" / "real" / "en_jfk.wav")
    words = speech[16000 * 3 // 10: 16000 * 2]  # "And so my fellow Americans"
    pause = np.zeros(16000 * 45 // 100, np.float32)  # 450 ms: a pause, not an end
    audio = np.concatenate([words, pause, words, np.zeros(16000, np.float32)])
    plain = WebRtcSegmenter(VadConfig(end_silence_ms=600, pause_ms=300)).feed(audio)
    assert [type(e) for e in plain] == [SpeechStart, SpeechEnd]
    events = WebRtcSegmenter(VadConfig(end_silence_ms=600, pause_ms=300), report_pauses=True).feed(audio)
    kinds = [type(e) for e in events]
    assert kinds[0] is SpeechStart and kinds[-2:] == [SpeechPause, SpeechEnd]
    assert SpeechResume in kinds  # the 450 ms pause was announced and then taken back
    # A pause announces exactly the end the segmenter reports when the silence lasts.
    assert events[-2].sample == events[-1].sample
    assert [e.sample for e in events] == sorted(e.sample for e in events)
