"""Fact extraction: plates, phones, times, places through the gazetteer, language, and rule reloading."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics import extract, rules, textnorm
from analytics.triage import triage


@pytest.mark.parametrize(("text", "plate"), [
    ("一辆粤B·12345的白色轿车", "粤B12345"),
    ("车牌粤B 12345跑了", "粤B12345"),
    ("粤BD12345新能源车", "粤BD12345"),
    ("plate 粤b-A1234 silver sedan", "粤BA1234"),
    ("粤Ｂ１２３４５", "粤B12345"),  # full-width, as some input methods type it
])
def test_plate_variants(text: str, plate: str) -> None:
    found = extract.plates(textnorm.normalize(text))
    assert [p["plate"] for p in found] == [plate]


def test_no_plate_in_plain_numbers() -> None:
    assert extract.plates("我住在12345号") == []


def test_phone_numbers() -> None:
    found = extract.phones("打我电话138-1234-5678或者0755-83001234，也可以+86 139 0000 1111")
    assert [p["number"] for p in found] == ["13812345678", "075583001234", "13900001111"]


def test_times_in_three_languages() -> None:
    assert {t["text"] for t in extract.times("昨天晚上8点左右在车公庙")} >= {"昨天晚上8点左右"}
    assert {t["text"] for t in extract.times("about 20 minutes ago, around 3:15 pm")} >= {"20 minutes ago",
                                                                                        "3:15 pm"}
    assert extract.times("琴晚11点")[0]["text"].startswith("琴晚")


def test_language_detection() -> None:
    assert textnorm.detect_lang("有人在打架") == "zh"
    assert textnorm.detect_lang("佢哋喺度打交") == "yue"
    assert textnorm.detect_lang("Two men are fighting") == "en"


def test_location_junction_resolves_to_midpoint() -> None:
    r = triage("深南大道和金田路交叉口有人晕倒了")
    loc = r.facts["location"]
    assert loc["text"] == "深南大道和金田路交叉口"
    assert loc["places"] == ["深南大道", "金田路"]
    assert 22.5 < loc["lat"] < 22.6 and 114.0 < loc["lon"] < 114.1


def test_location_building_number_and_english_alias() -> None:
    r = triage("我在水围村8栋302，楼上有人一直在砸东西")
    assert r.facts["location"]["text"].startswith("水围村8栋302")
    en = triage("Someone collapsed at Gangxia metro exit B")
    assert en.facts["location"]["text"] == "Gangxia metro exit B"
    assert en.facts["location"]["name"] == "岗厦地铁站"


def test_cantonese_extraction() -> None:
    r = triage("有個後生仔喺石厦北街揸住把刀周圍追人，已經有人受咗伤", lang="yue")
    assert r.level == "P1"
    assert r.facts["weapons"], "揸住把刀 is a weapon held now"
    assert r.facts["location"]["name"] == "石厦北街"


def test_persons_at_risk_and_in_progress() -> None:
    r = triage("有个孕妇被她老公打，现在还在打")
    kinds = {p["kind"] for p in r.facts["persons_at_risk"]}
    assert "pregnant" in kinds
    assert r.facts["in_progress"] is True
    past = triage("上周我在福田村被人打了一下，没受伤")
    assert past.facts["in_progress"] is False and past.facts["past"] is True


def test_negated_facts_listed() -> None:
    r = triage("no one is hurt and there are no weapons, just shouting")
    kinds = {n["kind"] for n in r.facts["negated"]}
    assert {"injury", "weapon"} <= kinds
    assert r.facts["injuries"]["severity"] == "none"


def test_reload_picks_up_an_edited_rule_file(tmp_path: Path) -> None:
    edited = tmp_path / "rules.yaml"
    original = rules.DEFAULT_RULES.read_text(encoding="utf-8")
    edited.write_text(original, encoding="utf-8")
    book = rules.RuleBook(str(edited))
    text = "那个人手里拿着家伙事站在门口"
    # The rules alone are checked (model=None): the learned model may already read the sentence as
    # dangerous, which is not what this test is about.
    assert triage(text, model=None, rules=book.current).level != "P1"
    # An admin adds a local slang word for a knife.
    edited.write_text(original.replace("'刀仔', '利器',", "'刀仔', '利器', '家伙事',"), encoding="utf-8")
    book.reload()
    assert triage(text, model=None, rules=book.current).level == "P1"
    assert triage(text, model=None, rules=book.current).rule == "weapon_present"
    # The book's reload changes the book only: the shipped rules (no ``rules``) are as they were.
    assert triage(text, model=None).level != "P1"
    assert rules.default_rules() is rules.default_rules()


def test_patterns_match_regardless_of_case() -> None:
    """Patterns are lower-cased at load and run on lower-cased text: upper-case words, upper-case
    patterns (an admin's 'CPR') and escapes such as \\S or \\W keep their meaning."""
    assert rules.lower_pattern(r"\bCPR\b\S+\W[A-Z]") == r"\bcpr\b\S+\W[a-z]"
    lowered = rules.lower_same_length("İstanbul KNIFE")  # "İ".lower() is two characters: kept as it is
    assert len(lowered) == len("İstanbul KNIFE") and lowered.endswith("stanbul knife")
    assert triage("A MAN IS STABBING PEOPLE AT THE GATE", model=None).level == "P1"
    assert triage("He Is Not Breathing", model=None).level == "P1"


def test_broken_rule_file_is_refused_and_old_rules_stay(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    original = rules.DEFAULT_RULES.read_text(encoding="utf-8")
    path.write_text(original, encoding="utf-8")
    book = rules.RuleBook(str(path))
    before = book.current
    path.write_text(original.replace("'刀仔'", "'刀仔('"), encoding="utf-8")
    with pytest.raises(rules.RulesError, match=r"concept 'weapon' cjk: bad regular expression"):
        book.reload()
    assert book.current is before


def test_unknown_factor_in_rule_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text(rules.DEFAULT_RULES.read_text(encoding="utf-8").replace(
        "any: [shots_fired], none: [past]}", "any: [shots_fird], none: [past]}"), encoding="utf-8")
    with pytest.raises(rules.RulesError, match=r"shots_fired.*unknown factor\(s\) shots_fird"):
        rules.load_rules(bad)


def test_anchor_index_finds_exactly_what_a_full_scan_finds(shared_dir: Path) -> None:
    """The speed-up (skip concepts whose literal anchors are absent) must never drop a match."""
    import json

    from tests.unit.test_analytics_heldout import load_cases

    texts = [json.loads(line)["text"] for line in (shared_dir / "incidents" / "public.jsonl").read_text(
        encoding="utf-8").splitlines() if line.strip()] + [c["text"] for c in load_cases()]
    rs = rules.default_rules()
    for text in texts:
        norm = textnorm.normalize(text)
        lang = textnorm.detect_lang(norm)
        fast = {(m.concept, m.start, m.end) for m in extract.find_concepts(norm, lang, rs)}
        full = set()
        for concept in rs.concepts:
            for pattern in ((concept.cjk, concept.en) if lang != "en" else (concept.en,)):
                if pattern is not None:
                    # patterns are compiled lower-cased and run on the lower-cased text
                    full |= {(concept.id, m.start(), m.end()) for m in pattern.finditer(norm.lower())
                             if m.end() > m.start()}
        assert fast == full, (text, full - fast)
