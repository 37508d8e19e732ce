"""Chinese script conversion, word counting and the repetition-loop guard."""

from __future__ import annotations

import pytest

from voice.textnorm import collapse_repeats, compression_ratio, count_words, is_empty_text, to_script


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
