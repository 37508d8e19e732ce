"""Mechanisms that make the rules generalise beyond the sentences they were written from."""

from __future__ import annotations

from analytics import textnorm
from analytics.triage import triage


def test_traditional_characters_normalise_one_for_one() -> None:
    text = "皇岗口岸有個男人拎住支鎗指住個保安"
    norm = textnorm.normalize(text)
    assert len(norm) == len(text)
    assert "枪" in norm and "个" in norm
    result = triage(text)
    assert result.level == "P1"
    assert any(r.evidence == text[r.start:r.end] for r in result.reasons if r.start >= 0)


def test_negation_that_asserts_danger_is_not_negated_again() -> None:
    result = triage("天桥下面躺着一个人叫了半天没反应好像没有生命体征了")
    assert result.level == "P1"


def test_cue_that_negates_its_own_verb_does_not_negate_the_theft() -> None:
    result = triage("有人在ATM机旁边偷看我输密码，趁我不注意拿走了我的卡，他还在银行门口")
    assert result.level == "P2"
    assert result.category == "theft"


def test_hypothetical_fire_is_not_a_fire() -> None:
    result = triage("我们商场的安全出口被货物堆满了万一着火跑不出去")
    assert result.level == "P4"
    assert result.category == "hazard"


def test_experiential_past_and_now_that_only_reports() -> None:
    assert triage("上个月我前同事拿刀威胁过我，现在他已经调走了，我想留个记录").level == "P3"
    assert triage("三天前我在网吧被几个人打了，现在还有点头晕，想报案").level == "P3"


def test_explained_away_reports_are_not_emergencies() -> None:
    radio = "Unit 6, checked the reported gunshot sounds at Fumin, it was a tyre blowout, all clear, 10-8."
    assert triage(radio).level == "P4"
    assert triage("刚才小区里好像有人喊救命，我下去看了是小孩在玩游戏，没事").level == "P4"
    # hedging is not an explanation
    assert triage("我也不确定是不是开玩笑，我同学在宿舍阳台外面坐着，说要跳下去").level == "P1"


def test_asr_homophones() -> None:
    assert triage("梅林一村门口有个男的拿刀坎人有三四个人受伤了").level == "P1"
    assert triage("我老公突然倒在地上叫都叫不醒婚迷了").level == "P1"
    assert triage("我家门口有人在翘锁我从猫眼看到了").level == "P2"


def test_towed_car_is_not_an_abduction() -> None:
    result = triage("我的车被拖走了，请问去哪里取")
    assert result.level == "P4"


def test_explanations_do_not_hide_a_real_emergency() -> None:
    assert triage("是小孩在玩水的时候掉下去了，现在看不到人").level == "P1"
    assert triage("到场查看后发现是一名男子持刀，正在和保安对峙").level == "P1"
    assert triage("I was watching TV when I heard gunshots next door, someone is screaming").level == "P1"
    assert triage("原来是烧烤引起的火灾，楼上还有人被困").level == "P1"
    assert triage("My baby was sleeping and now she isn't breathing").level == "P1"
    assert triage("核实为持刀伤人，伤者大量出血").level == "P1"


def test_movement_towards_is_not_experiential_past() -> None:
    assert triage("有个人拿刀砍过来了，快来").level == "P1"
