"""Chinese script conversion, word counting and the repetition-loop guard."""

from __future__ import annotations

import pytest

from voice.textnorm import collapse_repeats, compression_ratio, count_words, echoes_prompt, is_empty_text, to_script


def test_traditional_whisper_output_becomes_simplified() -> None:
    assert to_script("廣州市房地產中介協會分析", "simplified") == "广州市房地产中介协会分析"
    assert to_script("換一首歌", "simplified") == "换一首歌"


def test_traditional_on_request_and_latin_untouched() -> None:
    assert to_script("换一首歌", "traditional") == "換一首歌"
    assert to_script("Unit 12 respond", "simplified") == "Unit 12 respond"


def test_unknown_script_is_refused() -> None:
    with pytest.raises(ValueError, match="simplified, traditional"):
        to_script("汉字", "pinyin")


def test_word_count_counts_cjk_characters_and_ignores_punctuation() -> None:
    assert count_words("And so, my fellow Americans.") == 5
    assert count_words("换一首歌。") == 4
    assert count_words(". . . .") == 0
    assert is_empty_text(". . . .") and not is_empty_text("ok")


def test_repetition_loop_is_cut_to_one_occurrence() -> None:
    text, changed = collapse_repeats("thank you thank you thank you thank you thank you for calling")
    assert changed and text == "thank you for calling"
    zh, changed_zh = collapse_repeats("抱天之而抱天之而抱天之而抱天之而抱天之而被困")
    assert changed_zh and zh == "抱天之而被困"


def test_ordinary_repetition_is_left_alone() -> None:
    text = "copy copy that unit three"
    assert collapse_repeats(text) == (text, False)


def test_compression_ratio_flags_loops() -> None:
    assert compression_ratio("800. 3. 3. 4. 4. 4. 4. 4. 5. 6. 6. 6. 6. 6. 6. 6. 6. 7. 9. 6. 7. 7. 7. 9.") > 2.0
    assert compression_ratio("Emergency, my father collapsed and he is not breathing.") < 1.5


# ---- hotword / prompt echo (issue 12) ------------------------------------------------------------
HOTWORDS = "福田派出所, 深南大道, 华强北, 莲花山, 下沙村"


def test_the_hotword_list_said_back_is_an_echo() -> None:
    assert echoes_prompt("十二傲天者, 福田派出所, 深南大道, 华强北, 莲花山, 下沙村, 下沙村, 下沙村,", HOTWORDS)
    assert echoes_prompt("山沖沖沖, 深南大道, 华强北, 莲花山, 上沖", HOTWORDS)
    assert echoes_prompt("Futian, Shennan Road.", "Futian, Shennan Road, Huaqiang North")


def test_speech_that_names_places_is_not_an_echo() -> None:
    assert not echoes_prompt("深南大道和华强北路口有人打架，有人受伤，请派人过来", HOTWORDS)
    assert not echoes_prompt("Unit 12, respond to a fight at Futian Road and Shennan Avenue",
                             "Futian, Shennan Road, Huaqiang North")
    assert not echoes_prompt("华强北", HOTWORDS)  # one place name alone may be all that was said
    assert not echoes_prompt("", HOTWORDS)
    assert not echoes_prompt("深南大道 华强北", None)


def test_the_initial_prompt_said_back_is_an_echo() -> None:
    prompt = "Radio log of the Futian patrol, night shift."
    assert echoes_prompt("Radio log of the Futian patrol night shift", None, prompt)
    assert not echoes_prompt("Unit 7 on scene at the Futian patrol base", None, prompt)

