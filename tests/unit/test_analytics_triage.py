"""Triage scoring on cases written for these tests (not taken from public.jsonl), in zh, yue and en.

They check the RUBRIC's concepts: levels, negation, tense, vulnerable persons, suspects nearby,
and that every reason quotes a real span of the text.
"""

from __future__ import annotations

import pytest

from analytics.triage import Triage, triage

# (text, lang, expected level, expected category) — held-out cases in the RUBRIC's spirit.
HELD_OUT = [
    # P1
    ("莲花路公交站有个男的拿着一把砍刀追着人砍，已经有两个人倒在地上了", "zh", "P1", "weapons"),
    ("景田路一栋居民楼五楼着火了，里面还有人出不来", "zh", "P1", "fire"),
    ("我爸突然倒地，叫他也没反应，好像没有呼吸了，在福华路", "zh", "P1", "medical"),
    ("有个女的坐在天台边上说不想活了，在上沙村", "zh", "P1", "suicide_risk"),
    ("福田河里有个人掉水里了，一直在挣扎", "zh", "P1", "medical"),
    ("车公庙十字路口一辆货车撞了行人，那个人满身是血躺着不动", "zh", "P1", "traffic"),
    ("有人在会展中心门口开枪了，大家都在跑", "zh", "P1", "weapons"),
    ("佢揸住把菜刀喺度话要斩人，而家喺皇岗村", "yue", "P1", "weapons"),
    ("有个男人喺街市度挟持咗个女仔，手上揸住刀", "yue", "P1", "violent_crime"),
    ("Someone just pulled a gun on the cashier at the convenience store on Fuhua Road, he's still inside.", "en",
     "P1", "weapons"),
    ("My neighbour's flat is on fire and an old lady is trapped inside, 12th floor, Caitian Village.", "en",
     "P1", "fire"),
    ("A man is unconscious on the platform at Gangxia station and he isn't breathing.", "en", "P1", "medical"),
    ("Two men are robbing a jewellery shop on Zhenhua Road and they hit the owner, he is bleeding.", "en",
     "P1", "robbery"),
    ("A woman was dragged into a grey van outside the school on Jingtian Road, it just drove off north.", "en",
     "P1", "violent_crime"),
    # P2
    ("楼下两个男的在打架，没有拿东西，就是互相推来推去打拳", "zh", "P2", "public_order"),
    ("我五岁的女儿在购物公园走丢了，找了十五分钟了", "zh", "P2", "missing_person"),
    ("隔壁两夫妻又在吵架，一直在摔东西，听到女的在哭", "zh", "P2", "domestic"),
    ("北环大道有一辆车一直在蛇形，司机肯定是醉驾", "zh", "P2", "traffic"),
    ("我听到有人正在撬隔壁家的门，他们家没人", "zh", "P2", "burglary"),
    ("梅林一村门口一个垃圾桶着火了，旁边没有人", "zh", "P2", "fire"),
    ("有个醉酒佬喺茶餐厅度掟嘢，仲推人", "yue", "P2", "public_order"),
    ("There's a fight in the car park at Futian Sports Park, four guys throwing punches, no weapons.", "en",
     "P2", "public_order"),
    ("My 80-year-old father with dementia left home this morning and has not come back.", "en",
     "P2", "missing_person"),
    ("Someone just stole my phone on the train and he's still on the platform at Shopping Park.", "en",
     "P2", "theft"),
    # P3
    ("我的电动车昨晚停在楼下被偷了，锁也被剪了", "zh", "P3", "theft"),
    ("前天在网上买东西被骗了三千块，对方把我拉黑了", "zh", "P3", "fraud"),
    ("上周有个人拿刀吓唬过我，现在没事了，想备个案", "zh", "P3", "violent_crime"),
    ("我琴晚喺华强北俾人偷咗部手机", "yue", "P3", "theft"),
    ("Someone keyed my car overnight in the parking lot at Xiangmihu, there are scratches all along the side.",
     "en", "P3", "public_order"),
    ("I was scammed by a fake police officer on the phone yesterday and transferred 20,000 yuan.", "en",
     "P3", "fraud"),
    ("My flat was broken into while I was on holiday last week, my laptop is gone.", "en", "P3", "burglary"),
    # P4
    ("请问办理港澳通行证签注要带什么材料", "zh", "P4", "service_request"),
    ("我的驾驶证不小心弄丢了，想问怎么补办", "zh", "P4", "lost_property"),
    ("我们大厦的安全出口被杂物堵住了，想请消防来检查一下", "zh", "P4", "hazard"),
    ("有架车泊喺我车位度，想搵人挪车", "yue", "P4", "service_request"),
    ("Where can I get a certificate of no criminal record in Futian?", "en", "P4", "service_request"),
    ("I found a wallet near the Civic Center and want to hand it in.", "en", "P4", "lost_property"),
]


@pytest.mark.parametrize(("text", "lang", "level", "category"), HELD_OUT)
def test_held_out_cases(text: str, lang: str, level: str, category: str) -> None:
    result = triage(text, lang=lang)
    assert (result.level, result.category) == (level, category), _explain(result)


def _explain(result: Triage) -> str:
    return f"{result.level}/{result.category} by {result.rule}: " + "; ".join(
        f"{r.factor}={r.evidence!r}" for r in result.reasons)


def test_priority_number_matches_level_range() -> None:
    ranges = {"P1": range(8, 11), "P2": range(6, 8), "P3": range(3, 6), "P4": range(0, 3)}
    for text, lang, _lv, _cat in HELD_OUT:
        result = triage(text, lang=lang)
        assert result.priority in ranges[result.level], (text, result.priority, result.level)


@pytest.mark.parametrize("text", [HELD_OUT[0][0], HELD_OUT[9][0], HELD_OUT[20][0], HELD_OUT[27][0]])
def test_reasons_point_at_real_spans(text: str) -> None:
    result = triage(text)
    assert result.reasons, "a score always comes with reasons"
    for r in result.reasons:
        if r.source == "text" and r.start >= 0:
            assert text[r.start:r.end] == r.evidence
            assert r.evidence


def test_negated_injury_is_not_evidence_zh() -> None:
    result = triage("两辆车刮蹭了一下，没有人受伤，车已经挪到路边了")
    assert result.level in ("P3", "P4")
    assert result.facts["injuries"]["severity"] == "none"
    negs = [r for r in result.reasons if r.factor == "negated_injury"]
    assert negs and negs[0].evidence == "没有人受伤"


def test_negated_weapon_en_keeps_fight_at_p2() -> None:
    result = triage("Big fight outside the noodle shop, nobody has a knife or anything, just fists.")
    assert result.level == "P2"
    assert result.facts["weapons"] == []


def test_negation_that_asserts_danger_still_counts() -> None:
    for text in ("他没有呼吸了", "He's not breathing, please hurry", "佢冇咗呼吸"):
        assert triage(text).level == "P1", text


def test_weapon_present_now_overrides_no_injury() -> None:
    result = triage("现在还没有人受伤，但是他手里还拿着一把刀站在门口")
    assert result.level == "P1"
    assert result.priority == 8, "weapon present but nobody hurt yet refines to 8"
    assert result.facts["weapons"][0]["text"] in ("拿着一把刀", "一把刀", "刀")


def test_past_weapon_does_not_make_p1() -> None:
    result = triage("He threatened me with a knife last week, I want to report it.")
    assert result.level == "P3"
    assert any(r.factor == "past_tense" and r.weight < 0 for r in result.reasons)


def test_hedging_does_not_lower_priority() -> None:
    result = triage("It's not an emergency exactly, but a four-year-old is wandering alone and crying, "
                    "I can't find his parents. Is anyone missing a child?")
    assert result.level in ("P1", "P2")


def test_vulnerable_raise_applies_to_ongoing_harm_not_completed_fraud() -> None:
    raised = triage("楼上一直在打小孩，小孩一直在哭喊")
    assert raised.level == "P1"
    assert any(r.factor == "vulnerable_person" for r in raised.reasons)
    fraud = triage("一位老人说上午被人骗走了五千块，骗子已经离开了")
    assert fraud.level == "P3"


def test_kiosk_form_fields_add_context() -> None:
    result = triage("在地铁上手机被偷了", source="kiosk",
                    fields={"template": "pickpocketing", "time": "昨天下午三点", "place": "福田站", "item": "手机"})
    assert result.level == "P3" and result.category == "theft"
    assert result.facts["past"] is True
    field_reasons = [r for r in result.reasons if r.source.startswith("fields.")]
    assert all(r.start == -1 and r.end == -1 for r in field_reasons)


def test_kiosk_channel_does_not_cap_priority() -> None:
    result = triage("我现在在派出所门口，刚才抢我包的人拿着刀还在对面", source="kiosk",
                    fields={"template": "pickpocketing", "time": "刚才", "place": "福田派出所对面"})
    assert result.level == "P1"


def test_radio_codes_are_evidence() -> None:
    assert triage("Unit 4 to control, 10-50 PI at Binhe and Caitian, driver trapped, need 10-52").level == "P1"
    assert triage("Car 9, 10-55 on Beihuan westbound, grey SUV drifting between lanes").level == "P2"
    assert triage("Unit 3, 10-8, noise complaint at Shawei resolved, clearing").level in ("P3", "P4")


def test_asr_text_without_punctuation() -> None:
    result = triage("喂你好我在福华路这边有个人拿刀在砍人地上好多血你们快点来")
    assert result.level == "P1"
    assert result.facts["location"]["name"] == "福华路"


def test_result_is_json_ready() -> None:
    import json

    data = triage("Someone stole my bike outside Shenzhen Library this afternoon").to_dict()
    round_trip = json.loads(json.dumps(data, ensure_ascii=False))
    assert round_trip["level"] == "P3"
    assert {"factor", "evidence", "start", "end", "weight"} <= set(round_trip["reasons"][0])


def test_language_hint_does_not_hide_the_script_written() -> None:
    # A kiosk showing its English screen, a citizen typing Chinese: the text decides.
    result = triage("有人拿刀在门口砍人", lang="en")
    assert result.lang == "zh" and result.level == "P1"
    assert triage("A man is stabbing people at the gate", lang="zh").level == "P1"
    assert triage("佢揸住把刀喺度追人", lang="zh").lang == "zh"  # yue and zh share the Chinese patterns
