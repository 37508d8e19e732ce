"""Held-out check: cases written for this test suite (never in public.jsonl) in zh, yue and en.

They were written as new scenarios to probe whether the rules generalise; the scorer must keep
every P1 and stay above the issue's goals on them. Labels follow ../shared/incidents/RUBRIC.md.
The cases live in tests/data/analytics/heldout_cases.jsonl (one JSON object a line: id, text,
priority, category, and for kiosk reports source, template and fields)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from analytics.evaluate import evaluate

CASES_FILE = Path(__file__).resolve().parent.parent / "data" / "analytics" / "heldout_cases.jsonl"


def load_cases() -> list[dict[str, Any]]:
    """The held-out cases, in file order."""
    return [json.loads(line) for line in CASES_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_held_out_goals() -> None:
    result = evaluate(load_cases())
    s = result["summary"]
    missed_p1 = [e["text"] for e in result["errors"] if e["truth"] == "P1" and e["got"] != "P1"]
    assert missed_p1 == [], missed_p1
    assert s["p1_recall"] >= 0.98
    assert s["macro_f1"] >= 0.85, result["errors"]
    assert s["over_triage_p1"] <= 0.05
    assert s["category_accuracy"] >= 0.85, result["errors"]


def test_held_out_covers_three_languages_and_all_levels() -> None:
    from analytics.textnorm import detect_lang

    cases = load_cases()
    assert len(cases) >= 500
    assert {detect_lang(c["text"]) for c in cases} == {"zh", "yue", "en"}
    assert {c["priority"] for c in cases} == {"P1", "P2", "P3", "P4"}
