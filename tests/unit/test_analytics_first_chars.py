"""The first-character guard finds exactly what the unguarded pattern finds, only sooner."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from analytics import rules as rules_mod
from analytics.extract import TIME_RE
from analytics.first_chars import first_chars, with_first_char_guard


@pytest.mark.parametrize(("pattern", "expected"), [
    ("流(?:了|咗)?血", {"流"}),
    ("(?:没|冇)(?:有)?呼吸|窒息", {"没", "冇", "窒"}),
    ("(?<![献验抽])(?:出|喷)血", {"出", "喷"}),
    (r"\bknife\b|[a-c]x", {"k", "a", "b", "c"}),
    ("(?:very )?bad", {"v", "b"}),
    ("x*y", {"x", "y"}),
])
def test_first_characters_of_a_pattern(pattern: str, expected: set[str]) -> None:
    assert first_chars(re.compile(pattern)) == expected


@pytest.mark.parametrize("pattern", [r"\w+ed", r".ing", "[^a]b", "a?", "(?:x|)", r"\d+ km"])
def test_starts_it_cannot_be_sure_of_leave_the_pattern_alone(pattern: str) -> None:
    compiled = re.compile(pattern)
    assert first_chars(compiled) is None
    assert with_first_char_guard(compiled) is compiled


def test_case_insensitive_patterns_are_left_alone() -> None:
    compiled = re.compile("knife", re.IGNORECASE)
    assert with_first_char_guard(compiled) is compiled


def test_special_characters_in_the_guard_are_escaped() -> None:
    guarded = with_first_char_guard(re.compile(r"\]x|-y|\^z|\\w|\[v"))
    assert [m.group(0) for m in guarded.finditer(r"a]x -y ^z \w [v")] == ["]x", "-y", "^z", "\\w", "[v"]


def test_every_shipped_concept_finds_the_same_spans_guarded(shared_dir: Path) -> None:
    texts = [rules_mod.lower_same_length(json.loads(line)["text"])
             for line in (shared_dir / "incidents" / "public.jsonl").read_text(encoding="utf-8").splitlines()
             if line.strip()]
    rules = rules_mod.default_rules()
    guarded = 0
    for concept in rules.concepts:
        for pattern in (concept.cjk, concept.en):
            if pattern is None or not pattern.pattern.startswith("(?=["):
                continue
            guarded += 1
            bare = re.compile(pattern.pattern[pattern.pattern.index("])(?:") + 5:-1])
            for text in texts:
                assert [m.span() for m in pattern.finditer(text)] == [m.span() for m in bare.finditer(text)], \
                    (concept.id, text)
    assert guarded > 200  # nearly every concept is guarded (a few start with \w or a negated class)


def test_times_still_found_in_any_case() -> None:
    text = "Yesterday at 3PM, TWO HOURS AGO, 今天下午3点半 and 10:30 a.m."
    assert [text[m.start():m.end()] for m in TIME_RE.finditer(rules_mod.lower_same_length(text))] == [
        "Yesterday", "3PM", "TWO HOURS AGO", "今天下午3点半", "10:30 a.m."]
