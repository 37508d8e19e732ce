"""Long radio transmissions cut at their pauses (JINGYUN_RADIO_SPLIT_SECONDS): real speech, WebRTC VAD, no model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voice.audio import decode_file
from voice.engine import MIN_PIECE_SECONDS, pause_cuts, speech_spans


def _audio(shared_dir: Path, rel: str) -> np.ndarray:
    return decode_file((shared_dir / "audio" / rel).read_bytes())


def test_a_long_transmission_is_cut_in_a_pause_and_every_sample_is_kept(shared_dir: Path) -> None:
    audio = _audio(shared_dir, "real/zh_wenetspeech_TEST_MEETING_T0000000001_S00000.wav")  # 12.4 s, 5 phrases
    pieces = pause_cuts(audio, 8.0)
    total = audio.size / 16000
    assert len(pieces) == 2
    assert pieces[0][0] == 0.0 and pieces[-1][1] == total  # nothing left out at either end
    assert pieces[0][1] == pieces[1][0]  # nor between the pieces
    assert all(end - start >= MIN_PIECE_SECONDS for start, end in pieces)
    cut = pieces[0][1]
    spans = speech_spans(audio, 29.0)
    assert not any(start < cut < end for start, end in spans), (cut, spans)  # never inside speech
    assert abs(cut - total / 2) < 2.0  # the pause nearest the middle


def test_short_or_unbroken_speech_and_the_default_stay_whole(shared_dir: Path) -> None:
    jfk = _audio(shared_dir, "real/en_jfk.wav")  # 11 s the VAD hears as one utterance
    assert pause_cuts(jfk, 8.0) == [(0.0, jfk.size / 16000)]
    short = _audio(shared_dir, "synthetic/en_radio_01.wav")
    assert pause_cuts(short, 8.0) == [(0.0, short.size / 16000)]
    meeting = _audio(shared_dir, "real/zh_wenetspeech_TEST_MEETING_T0000000001_S00000.wav")
    assert pause_cuts(meeting, 0.0) == [(0.0, meeting.size / 16000)]
