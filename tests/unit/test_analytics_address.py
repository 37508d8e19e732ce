"""Places written as addresses the gazetteer does not hold: found as text, placed at the nearest known
place, with a confidence. The addresses below are invented for the test (not in the gazetteer)."""

from __future__ import annotations

import pytest

from analytics import address, extract, rules, textnorm
from analytics.triage import triage


def _loc(text: str) -> dict:
    loc = triage(text, model=None).facts["location"]
    assert loc is not None, text
    assert text[loc["start"]:loc["end"]] == loc["text"]
    return loc


@pytest.mark.parametrize(("text", "want"), [
    ("我在翠竹苑12栋503室，楼上漏水好大声", "翠竹苑12栋503室"),
    ("喂我们在长青路88号门口有人打架", "长青路88号门口"),
    ("佢喺荔园小区3座楼下跌低咗", "荔园小区3座"),
    ("送到了人民医院门口", "人民医院门口"),
    ("A man collapsed at No. 18 Maple Leaf Road", "No. 18 Maple Leaf Road"),
    ("Fight outside Golden Harvest Plaza, two men", "Golden Harvest Plaza"),
])
def test_address_not_in_gazetteer_is_found(text: str, want: str) -> None:
    loc = _loc(text)
    assert loc["text"] == want
    assert loc["kind"] == "address"
    assert 0 < loc["confidence"] < 0.9, "an unknown address is less certain than a gazetteer name"
    assert loc["lat"] is not None and loc["lon"] is not None


def test_address_next_to_a_known_place_takes_its_coordinates() -> None:
    loc = _loc("上沙村东区菜市场后面有人晕倒")
    assert loc["name"] == "上沙村"
    known = rules.default_rules().gazetteer.get("上沙村")
    assert known is not None and (loc["lat"], loc["lon"]) == (round(known.lat, 6), round(known.lon, 6))


def test_unknown_address_by_name_prefix_or_district() -> None:
    by_name = _loc("福华五路23号有人抢包")  # 福华五路 is not listed; 福华路 and 福华三路 are
    assert by_name["resolved"] == "address_by_name" and by_name["name"].startswith("福华")
    unknown = _loc("我在翠竹苑12栋")
    assert unknown["resolved"] == "address_district" and unknown["confidence"] == extract.CONFIDENCE[
        "address_district"]


def test_gazetteer_name_keeps_its_confidence_and_grows_with_its_numbers() -> None:
    loc = _loc("泰然工业区201栋3楼冒烟")
    assert loc["text"] == "泰然工业区201栋3楼"
    assert loc["resolved"] == "gazetteer" and loc["confidence"] == extract.CONFIDENCE["gazetteer"]


def test_names_written_back_to_back_join() -> None:
    assert _loc("华强北赛格广场一楼有人偷手机")["text"] == "华强北赛格广场一楼"


def test_radio_callsign_is_not_a_place() -> None:
    loc = triage("福田七号报告，益田路有车祸", model=None).facts["location"]
    assert loc is not None and loc["text"] == "益田路"


@pytest.mark.parametrize("text", ["过马路的时候被撞了", "楼下停车场有人打架", "我去了医院"])
def test_generic_words_are_not_addresses(text: str) -> None:
    assert address.find(textnorm.normalize(text), "zh") == []
