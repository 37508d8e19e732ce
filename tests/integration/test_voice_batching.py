"""Issue 12: a decode batch never fails for what it mixes, one bad item costs its neighbours
nothing, and a prompted final that says its hotwords back is redone without them. Real models."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from tests.fixtures_voice import wer
from voice.audio import decode_file
from voice.engine import AsrEngine
from voice.textnorm import echoes_prompt
from voice.types import DecodeError, DecodeOptions

pytestmark = pytest.mark.model

HOTWORDS_EN = "Futian, Shennan Road, Huaqiang North"
# Place names a district would prime the model with; on espeak's barely intelligible Mandarin
# (synthetic/zh_radio_01 and _05) the base model says this list back instead of the audio.
HOTWORDS_ZH = "福田派出所, 深南大道, 华强北, 莲花山, 下沙村, 皇岗口岸"


def _audio(shared: Path, rel: str) -> np.ndarray:
    return decode_file((shared / "audio" / rel).read_bytes())


def test_mixed_prompts_and_languages_decode_in_one_batch(asr_engine_base: AsrEngine, shared_dir: Path,
                                                         voice_manifest: dict[str, dict[str, str]]) -> None:
    """The issue's reproduction: two copies of jfk, one with hotwords (CTranslate2 refuses such a batch
    in one generate call), plus forced and detected languages, an initial prompt and a partial."""
    jfk = _audio(shared_dir, "real/en_jfk.wav")
    zh = _audio(shared_dir, "real/zh_aishell1_BAC009S0764W0121.wav")
    options = [DecodeOptions(language="en"), DecodeOptions(language="en", hotwords=HOTWORDS_EN),
               DecodeOptions(language=None), DecodeOptions(language="zh", hotwords="深圳, 福田"),
               DecodeOptions(language="en", initial_prompt="Radio log of the Futian patrol."),
               DecodeOptions(language="en", final=False)]
    audios = [jfk, jfk, jfk, zh, jfk, jfk]
    results = asr_engine_base.decode_batch(audios, options)
    assert [r.error for r in results] == [None] * 6
    ref = voice_manifest["real/en_jfk.wav"]["reference"]
    for i in (0, 1, 2, 4, 5):
        assert wer(ref, results[i].text) <= 0.1, (i, results[i].text)
    assert results[2].language == "en"
    assert results[3].language == "zh" and len(results[3].text) >= 8, results[3].text
    assert asr_engine_base.groups_decoded >= 3  # unprompted finals, two prompt shapes, the partial


async def test_one_failing_item_does_not_fail_its_batch(asr_engine_base: AsrEngine, shared_dir: Path) -> None:
    """A language the tokenizer has no token for makes that item fail for real; queued together with
    good utterances, it is the only one that fails, with a DecodeError that says why."""
    jfk = _audio(shared_dir, "real/en_jfk.wav")
    before = asr_engine_base.items_failed
    good = [asr_engine_base.transcribe(jfk, DecodeOptions(language="en")) for _ in range(2)]
    bad = asr_engine_base.transcribe(jfk, DecodeOptions(language="xx-not-a-language"))
    results = await asyncio.gather(*good, bad, return_exceptions=True)
    assert all(not isinstance(r, BaseException) and "fellow Americans" in r.text for r in results[:2]), results
    assert isinstance(results[2], DecodeError), results[2]
    assert results[2].reason
    assert asr_engine_base.items_failed == before + 1


@pytest.mark.parametrize("rel", ["synthetic/zh_radio_01.wav", "synthetic/zh_radio_05.wav"])
def test_hotword_echo_is_redone_without_the_prompt(asr_engine_base: AsrEngine, shared_dir: Path, rel: str) -> None:
    audio = _audio(shared_dir, rel)
    result = asr_engine_base.decode_batch([audio], [DecodeOptions(language="zh", hotwords=HOTWORDS_ZH)])[0]
    assert result.prompt_echo, result.text  # these clips do echo with the list (seen without the guard)
    assert not echoes_prompt(result.text, HOTWORDS_ZH), result.text
    assert result.text and result.language == "zh"  # what the audio itself says, however poorly


def test_hotwords_still_help_when_there_is_no_echo(asr_engine_base: AsrEngine, shared_dir: Path) -> None:
    audio = _audio(shared_dir, "synthetic/en_radio_01.wav")
    result = asr_engine_base.decode_batch([audio], [DecodeOptions(language="en", hotwords=HOTWORDS_EN)])[0]
    assert not result.prompt_echo
    assert "fight" in result.text and "Shennan" in result.text, result.text


async def test_when_behind_the_most_urgent_finals_are_taken_first(asr_engine: AsrEngine) -> None:
    """An emergency channel's or a call's final is not queued behind routine radio (issue 12)."""
    from voice.engine import _Pending

    loop = asyncio.get_running_loop()
    audio = np.zeros(1600, np.float32)
    waiting = [_Pending(audio, DecodeOptions(priority=p), loop.create_future(), t)
               for t, p in enumerate([5, 5, 5, 9, 5, 7, 5, 5, 5, 6])]
    saved, asr_engine._queue = asr_engine._queue, list(waiting)
    taken: list[tuple[int, float]] = []
    try:
        while batch := asr_engine._take_batch():
            assert len(batch) <= asr_engine.max_batch
            taken += [(p.options.priority, p.queued_at) for p in batch]
    finally:
        asr_engine._queue = saved
    assert asr_engine.max_batch == 1  # on CPU: no item waits for a batch of others
    assert taken == [(9, 3), (7, 5), (6, 9), (5, 0), (5, 1), (5, 2), (5, 4), (5, 6), (5, 7), (5, 8)]


async def test_a_phrase_said_twice_in_the_fitted_window_is_redone_in_the_wide_one(
        asr_engine_base: AsrEngine, shared_dir: Path) -> None:
    """The short Mandarin turn as the interview stream cut it (0.44 s before, 0.33 s after: the
    district benchmark's slowest interview finals) comes back from the 5 s fitted window as itself
    twice; the wide window (7 s after the speech) says it once, as the 30 s window does, without
    the 30 s window's cost."""
    clip = _audio(shared_dir, "real/zh_wenetspeech_TEST_NET_Y0000000000_S00000.wav")
    audio = np.concatenate([np.zeros(7100, np.float32), clip, np.zeros(5220, np.float32)])
    before = asr_engine_base.doubles_rescued
    live = await asr_engine_base.transcribe(audio, DecodeOptions(language="zh", priority=7))
    assert asr_engine_base.doubles_rescued == before + 1, "the fitted window did not double this turn here"
    whole = await asr_engine_base.transcribe(audio, DecodeOptions(language="zh", full_window=True))
    assert live.text == whole.text == "我有的时候说不清楚你们知道吗", (live.text, whole.text)
    assert live.words and live.words[-1].end <= audio.size / 16000 + 0.1, live.words
