"""Kiosk templates: the five case types exist with zh/en labels, and every error names field and rule."""

from __future__ import annotations

import pytest

from analytics import templates

GOOD = {"description": "在地铁上手机被偷了", "time": "今天上午10点", "place": "福田站", "item": "华为手机",
        "amount": "6000元", "phone": "13812345678"}


def test_the_five_templates_with_labels() -> None:
    tpls = templates.templates()
    assert set(tpls) == {"pickpocketing", "injury", "bank_card_fraud", "ebike_theft", "lost_property"}
    for t in tpls.values():
        assert t["label"]["zh"] and t["label"]["en"]
        for f in t["fields"]:
            assert f["label"]["zh"] and f["label"]["en"], (t["id"], f["name"])
            assert f.get("type", "text") in templates.FIELD_TYPES


def test_valid_form_is_cleaned() -> None:
    cleaned, errors = templates.validate(templates.templates()["pickpocketing"], {**GOOD, "place": "  福田站  "})
    assert errors == []
    assert cleaned["place"] == "福田站"


def _errors(template: str, values: object) -> list[templates.FieldError]:
    return templates.validate(templates.templates()[template], values)[1]


def test_required_field_missing() -> None:
    errs = _errors("pickpocketing", {**GOOD, "time": "  "})
    assert [(e.field, e.rule) for e in errs] == [("time", "required")]
    assert "time" in errs[0].message and "required" in errs[0].message
    assert errs[0].messages["zh"].endswith("必填")


def test_pattern_phone() -> None:
    errs = _errors("pickpocketing", {**GOOD, "phone": "12345"})
    assert [(e.field, e.rule) for e in errs] == [("phone", "pattern")]
    assert "11-digit mobile" in errs[0].message


def test_too_long_and_too_short() -> None:
    errs = _errors("pickpocketing", {**GOOD, "item": "x" * 201, "description": "偷"})
    assert {(e.field, e.rule) for e in errs} == {("item", "max_length"), ("description", "min_length")}
    assert any("at most 200" in e.message for e in errs)


def test_select_choice_and_boolean_type() -> None:
    injury = {"description": "被人推倒擦伤了手", "time": "昨晚", "place": "岗厦", "injury": "手肘擦伤",
              "treated": "maybe", "phone": "13812345678"}
    errs = _errors("injury", injury)
    assert [(e.field, e.rule) for e in errs] == [("treated", "choice")]
    assert "已处理" in errs[0].message
    lost = {"description": "钥匙丢了一串", "time": "今天", "place": "莲花山公园", "item": "钥匙",
            "phone": "13812345678", "theft_suspected": "yes"}
    assert [(e.field, e.rule) for e in _errors("lost_property", lost)] == [("theft_suspected", "type")]


def test_unknown_field_and_wrong_shape() -> None:
    errs = _errors("pickpocketing", {**GOOD, "ssn": "1"})
    assert [(e.field, e.rule) for e in errs] == [("ssn", "unknown")]
    assert "accepted:" in errs[0].message
    assert [(e.field, e.rule) for e in _errors("pickpocketing", ["not", "a", "dict"])] == [("fields", "type")]


def test_card_last4_pattern() -> None:
    form = {"description": "卡里的钱被人盗刷了", "time": "6月1日", "item": "招商银行储蓄卡", "amount": "12800元",
            "phone": "13812345678", "card_last4": "12a4"}
    errs = _errors("bank_card_fraud", form)
    assert [(e.field, e.rule) for e in errs] == [("card_last4", "pattern")]


@pytest.mark.parametrize("template", ["pickpocketing", "injury", "bank_card_fraud", "ebike_theft", "lost_property"])
def test_every_error_names_a_declared_field(template: str) -> None:
    errs = _errors(template, {})
    declared = {f["name"] for f in templates.templates()[template]["fields"]}
    assert errs and all(e.field in declared and e.rule == "required" for e in errs)
