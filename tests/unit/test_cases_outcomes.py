"""Outcome codes: the bundled table, its EIDO disposition codes checked against the registry, the loader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cases.errors import InvalidInput
from cases.outcomes import closing_from_body, load_outcomes, parse_outcomes

TABLE = load_outcomes()


def test_bundled_table_loads_with_labels_in_both_languages() -> None:
    assert "arrest" in TABLE and TABLE.check("arrest").eido == "03"
    for o in TABLE:
        assert o.zh.strip() and o.en.strip()
        assert o.label("zh-CN") == o.zh and o.label("en") == o.en


def test_every_eido_code_is_a_registry_disposition_with_the_same_description(shared_dir: Path) -> None:
    registry_file = shared_dir / "standards" / "eido" / "registries-021.1b.json"
    doc = json.loads(registry_file.read_text(encoding="utf-8"))
    assert doc["fields"]["EIDO-CommonDispositionCode"] == "DispositionType.dispositionCommonRegistryCode"
    registry = {r["value"]: r["description"] for r in doc["registries"]["EIDO-CommonDispositionCode"]}
    mapped = [o for o in TABLE if o.eido is not None]
    assert len(mapped) >= 20
    for o in mapped:
        assert registry[o.eido] == o.eido_text, o.code
        assert o.eido_text != "RESERVED"


def test_unknown_code_lists_the_accepted_ones() -> None:
    with pytest.raises(InvalidInput) as err:
        TABLE.check("solved")
    assert "arrest" in err.value.message and err.value.details["field"] == "outcome_code"


def test_retired_codes_stay_readable_but_are_not_accepted() -> None:
    t = parse_outcomes({"outcomes": [{"code": "old", "zh": "旧", "en": "Old", "group": "resolved", "eido": None,
                                      "retired": True},
                                     {"code": "new", "zh": "新", "en": "New", "group": "resolved", "eido": "18",
                                      "eido_text": "Assignment Completed/Settled By Contact"}]})
    assert t.get("old") is not None and t.active_codes() == ["new"]
    with pytest.raises(InvalidInput):
        t.check("old")


GOOD = {"code": "x_y", "zh": "甲", "en": "A", "group": "resolved", "eido": None}


@pytest.mark.parametrize(("row", "msg"), [
    ({**GOOD, "eido": 3, "eido_text": "Arrest"}, 'write "03", not 3'),
    ({**GOOD, "eido": "46", "eido_text": "RESERVED"}, '"01" to "45"'),
    ({**GOOD, "eido": "03"}, "eido_text"),
    ({k: v for k, v in GOOD.items() if k != "eido"}, "eido is required"),
    ({**GOOD, "en": ""}, "en label is required"),
    ({**GOOD, "group": "solved"}, "group must be one of"),
    ({**GOOD, "code": "X Y"}, "code must be"),
    ({**GOOD, "label": "x"}, "unknown key(s) label"),
])
def test_bad_rows_are_named(row: dict[str, Any], msg: str) -> None:
    with pytest.raises(ValueError, match=r"t\.yaml: outcomes\[0\]") as err:
        parse_outcomes({"outcomes": [row]}, "t.yaml")
    assert msg in str(err.value)


def test_duplicate_codes_and_empty_tables_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="appears twice"):
        parse_outcomes({"outcomes": [GOOD, GOOD]})
    with pytest.raises(ValueError, match="non-empty list"):
        parse_outcomes({"outcomes": []})
    f = tmp_path / "o.yaml"
    f.write_text("outcomes: [", encoding="utf-8")
    with pytest.raises(ValueError, match="cannot read outcome table"):
        load_outcomes(f)


def test_closing_needs_a_known_code_and_a_note() -> None:
    outcome, note = closing_from_body({"outcome_code": "mediated", "note": " 双方和解 "}, TABLE)
    assert outcome.code == "mediated" and outcome.eido is None and note == "双方和解"
    with pytest.raises(InvalidInput, match="note is required"):
        closing_from_body({"outcome_code": "mediated"}, TABLE)
    with pytest.raises(InvalidInput, match="at most 4000"):
        closing_from_body({"outcome_code": "mediated", "note": "x" * 4001}, TABLE)
    with pytest.raises(InvalidInput, match="JSON object"):
        closing_from_body(["mediated"], TABLE)
