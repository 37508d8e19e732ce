"""Pure parts of a call: the bounded audio buffer, the transcript, the main language."""

from __future__ import annotations

import numpy as np

from voice.calls.model import AudioBuffer, main_language, transcript_text


def test_audio_buffer_keeps_up_to_the_cap_and_counts_the_rest() -> None:
    buf = AudioBuffer(8000, max_seconds=1.0)
    frame = (np.full(4000, 0.5) * 32767).astype("<i2").tobytes()  # 0.5 s
    for _ in range(3):
        buf.feed(frame, "pcm_s16le")
    assert (buf.kept_seconds, buf.received_seconds, buf.truncated) == (1.0, 1.5, True)
    out = buf.samples()
    assert out.dtype == np.float32 and out.size == 8000 and abs(float(out[0]) - 0.5) < 1e-3


def test_audio_buffer_takes_float_frames_and_zero_cap_keeps_nothing() -> None:
    buf = AudioBuffer(16000, max_seconds=0.0)
    buf.feed(np.zeros(1600, dtype="<f4").tobytes(), "f32le")
    assert (buf.kept, buf.received_seconds, buf.truncated) == (0, 0.1, True)
    assert buf.samples().size == 0
    ok = AudioBuffer(16000, max_seconds=10.0)
    ok.feed(np.full(1600, 2.0, dtype="<f4").tobytes(), "f32le")  # clipped, not wrapped round
    assert not ok.truncated and float(ok.samples().max()) > 0.99


def test_transcript_joins_chinese_without_spaces_and_other_languages_with_them() -> None:
    finals = [{"utterance": 2, "text": "没有呼吸，请快派人来。"}, {"utterance": 1, "text": "我父亲晕倒了，"},
              {"utterance": 3, "text": "  "}, {"utterance": 4, "text": "He is 70."}, {"utterance": 5, "text": "Hurry"}]
    assert transcript_text(finals) == "我父亲晕倒了，没有呼吸，请快派人来。He is 70. Hurry"
    assert transcript_text([]) == ""


def test_main_language_by_amount_of_speech() -> None:
    finals = [{"utterance": 1, "text": "hello there", "language": "en"},
              {"utterance": 2, "text": "我父亲晕倒了没有呼吸请快派人来", "language": "zh"}]
    assert main_language(finals, "en") == "zh"
    assert main_language([], "yue") == "yue"


def test_a_transcript_longer_than_an_incident_takes_is_cut_with_a_pointer_to_the_call() -> None:
    from voice.calls.service import fit_text

    assert fit_text("short", 100, "c1") == "short"
    cut = fit_text("我" * 500, 120, "c1")
    assert len(cut) <= 120 and cut.startswith("我" * 50) and cut.endswith("(the full transcript is on call c1)")
