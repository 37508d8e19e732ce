"""Safety-first scoring (issue 15): a life-threat cue keeps a report at P2 or above unless it is negated
or in the past, and a report nothing recognises is marked uncertain instead of silently becoming P3.

The phrasings below were written for this test (none comes from a labelled set). The floor is a
property of the rules, so most checks run with ``model=None``: the learned model may only raise a level.
"""

from __future__ import annotations

import json

import pytest

from analytics.triage import triage

# Life-threat cues in many phrasings: Mandarin, Cantonese, traditional characters, ASR homophones,
# English with typos, radio codes.
LIFE_THREAT = [
    "佢喺度流緊好多血，成地都係",
    "有个人倒在路边流雪不止",  # 流血 heard as 流雪
    "我妈晕倒了叫唔醒",
    "他突然抽搐口吐白沫",
    "隔壁冒好大烟，闻到烧焦味",
    "电梯里困住了两个人",
    "有人喺天台话想死",
    "小朋友跌咗落泳池",
    "有个工人从棚架上摔下来",
    "一辆泥头车撞倒了一个阿伯",
    "屋裡著火了，好大煙",  # traditional characters
    "工地上有人被埋住了",
    "He's not breathing",
    "she is bleading really bad",  # typo
    "my dad collapsed and is unconcious",  # typo
    "there is smoke coming from the flat upstairs",
    "a kid fell into the river",
    "Unit 5 requesting 10-52 at Fuhua Road",
    "快叫白车，有人俾车撞",
    "有人触电了",
    "someone got hit by a car and isn't moving",
    "我朋友被噎住了透不过气",
    "有個人喺度斬人",
]


@pytest.mark.parametrize("text", LIFE_THREAT)
def test_life_threat_cue_is_never_below_p2(text: str) -> None:
    result = triage(text, model=None)
    assert result.level in ("P1", "P2"), (result.level, result.rule)
    with_model = triage(text)
    assert with_model.level in ("P1", "P2"), "the model never lowers a life-threat floor"


@pytest.mark.parametrize("text", [
    "没有人流血，只是吵架",
    "no one is bleeding, they are just shouting",
    "上个月佢晕低过一次，而家冇事",
    "Last week someone threatened me with a knife",
])
def test_negated_or_past_cue_does_not_hold_the_floor(text: str) -> None:
    result = triage(text, model=None)
    assert result.level in ("P3", "P4"), (result.level, result.rule)
    assert any(r.factor.startswith("negated_") or r.factor == "past_tense" for r in result.reasons)


def test_the_floor_names_its_evidence() -> None:
    text = "有个人倒在路边流雪不止"
    result = triage(text, model=None)
    floor = [r for r in result.reasons if r.factor == "life_threat_floor"]
    assert floor and text[floor[0].start:floor[0].end] == floor[0].evidence
    assert "流雪" in floor[0].evidence


@pytest.mark.parametrize("model", [None, "shipped"])
def test_nothing_matched_is_uncertain_not_silent(model: str | None) -> None:
    kwargs = {"model": None} if model is None else {}
    result = triage("我想讲下我邻居嘅事", **kwargs)  # type: ignore[arg-type]
    assert result.uncertain is True
    assert result.uncertain_reason == "no_rule_matched"
    assert any(r.factor == "no_rule_matched" for r in result.reasons)
    data = json.loads(json.dumps(result.to_dict(), ensure_ascii=False))
    assert data["uncertain"] is True and data["uncertain_reason"] == "no_rule_matched"
    # dispatch stores reasons and facts: the console reads the flag from there
    assert data["facts"]["uncertain"] == {"uncertain": True, "reason": "no_rule_matched"}


def test_a_recognised_report_is_not_uncertain() -> None:
    result = triage("有人在会展中心门口开枪了，大家都在跑")
    assert result.level == "P1"
    assert result.uncertain is False and result.uncertain_reason == ""
    assert result.facts["uncertain"] == {"uncertain": False, "reason": ""}


def test_old_keys_of_to_dict_are_kept() -> None:
    data = triage("Someone stole my bike outside Shenzhen Library this afternoon").to_dict()
    assert {"category", "priority", "level", "reasons", "facts", "lang", "rule", "rules_version"} <= set(data)
