"""AI accountability: acceptance and override rates of levels and units, and outcomes by verdict."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from analytics.accountability import BRIEF_COLUMNS, LEVELS, accountability, brief_rows, recommendation_verdict


def inc(ident: str, machine: str | None, final: str | None, category: str | None = "theft",
        recommended: list[str] | None = None, chosen: str | None = None, outcome: str | None = None,
        **extra: Any) -> dict[str, Any]:
    row = {"id": ident, "category": category, "machine_level": machine, "final_level": final,
           "recommended_units": recommended or [], "chosen_unit": chosen, "outcome_code": outcome}
    row.update(extra)
    return row


ROWS = [
    inc("1", "P2", "P2", "theft", ["U1", "U2"], "U1", "arrest"),
    inc("2", "P2", "P1", "robbery", ["U1", "U2"], "U2", "arrest"),       # level raised, second unit
    inc("3", "P3", "P4", "theft", ["U3"], "U9", "no_report"),            # level lowered, unit not recommended
    inc("4", "P1", "P1", "robbery", ["U4", "U5"], "U4", None),           # still open
    inc("5", None, "P3", "fraud", ["U6"], "U6", "no_report"),            # never scored: only the unit counts
    inc("6", "P9", "P2", "theft"),                                       # bad level, no dispatch
    inc("7", "P4", "P4", None, [], "U1", "settled_on_scene"),            # unit without recommendations
]


def test_level_rates_overall_per_level_and_per_category() -> None:
    r = accountability(ROWS)
    assert r["incidents"] == 7
    lv = r["levels"]
    assert (lv["scored"], lv["accepted"], lv["raised"], lv["lowered"]) == (5, 3, 1, 1)
    assert lv["acceptance_rate"] == 0.6 and lv["override_rate"] == 0.4
    assert list(lv["by_level"]) == ["P1", "P2", "P3", "P4"]
    assert lv["by_level"]["P2"] == {"scored": 2, "accepted": 1, "overridden": 1, "raised": 1, "lowered": 0,
                                    "acceptance_rate": 0.5, "override_rate": 0.5}
    assert lv["by_category"]["robbery"]["raised"] == 1
    assert lv["by_category"]["uncategorised"]["scored"] == 1


def test_unit_rates_distinguish_second_choice_from_unrecommended() -> None:
    un = accountability(ROWS)["units"]
    assert (un["dispatches"], un["top"], un["other_recommended"], un["not_recommended"]) == (5, 3, 1, 1)
    assert un["acceptance_rate"] == 0.6
    assert un["by_level"]["P1"]["dispatches"] == 2  # grouped by the final level
    assert un["by_category"]["fraud"]["top"] == 1


def test_outcomes_of_accepted_vs_overridden_and_open_ones() -> None:
    out = accountability(ROWS)["outcomes"]
    assert out["levels"]["accepted"] == {"arrest": 1, "settled_on_scene": 1}
    assert out["levels"]["overridden"] == {"arrest": 1, "no_report": 1}
    assert out["levels"]["open"] == {"accepted": 1}
    assert out["units"]["accepted"] == {"arrest": 1, "no_report": 1}
    assert out["units"]["overridden"] == {"arrest": 1, "no_report": 1}


def test_nothing_is_dropped_without_a_reason() -> None:
    nc = accountability(ROWS)["not_counted"]
    assert nc == {"level: never scored by the machine": 1,
                  "level: unknown level (accepted: P1, P2, P3, P4)": 1,
                  "unit: dispatch without recommendations": 1}


def test_several_dispatches_per_incident_any_override_marks_the_incident() -> None:
    row = inc("1", "P1", "P1", "robbery", outcome="arrest",
              dispatches=[{"recommended_units": ["U1", "U2"], "chosen_unit": "U1"},
                          {"recommended_units": ["U3", "U4"], "chosen_unit": "U4"},
                          {"recommended_units": ["U5"], "chosen_unit": None}])
    r = accountability([row])
    assert r["units"]["dispatches"] == 2 and r["units"]["top"] == 1
    assert r["outcomes"]["units"]["overridden"] == {"arrest": 1}
    assert r["not_counted"] == {"unit: dispatch without a chosen unit": 1}


def test_empty_input_has_no_rates_rather_than_zero() -> None:
    r = accountability([])
    assert r["incidents"] == 0 and r["levels"]["acceptance_rate"] is None and r["units"]["override_rate"] is None
    assert brief_rows(r)[0]["level_accept"] == "—"


def test_brief_rows_fit_the_columns() -> None:
    rows = brief_rows(accountability(ROWS))
    assert [r["group"] for r in rows] == ["all", "P1", "P2", "P3", "P4"]
    assert rows[0]["level_accept"] == "60.0%" and rows[0]["unit_accept"] == "60.0%"
    for lang in ("zh", "en"):
        assert [k for k, _ in BRIEF_COLUMNS[lang]] == list(rows[0])


_level = st.one_of(st.none(), st.sampled_from(LEVELS))
_units = st.lists(st.sampled_from(["U1", "U2", "U3", "U4"]), unique=True, max_size=3)


@given(st.lists(st.builds(inc, st.text(max_size=3), _level, _level, st.sampled_from(["a", "b", None]), _units,
                          st.one_of(st.none(), st.sampled_from(["U1", "U2", "U3", "U4"])),
                          st.one_of(st.none(), st.sampled_from(["arrest", "no_report"]))), max_size=40))
def test_property_everything_adds_up(rows: list[dict[str, Any]]) -> None:
    r = accountability(rows)
    lv, un = r["levels"], r["units"]
    assert lv["accepted"] + lv["overridden"] == lv["scored"]
    assert sum(t["scored"] for t in lv["by_level"].values()) == lv["scored"]
    assert sum(t["scored"] for t in lv["by_category"].values()) == lv["scored"]
    assert un["top"] + un["other_recommended"] + un["not_recommended"] == un["dispatches"]
    assert sum(t["dispatches"] for t in un["by_category"].values()) == un["dispatches"]
    level_rows = sum(1 for x in rows if x["machine_level"] is not None and x["final_level"] is not None)
    assert lv["scored"] == level_rows
    level_missing = sum(v for k, v in r["not_counted"].items() if k.startswith("level:"))
    assert lv["scored"] + level_missing == len(rows)
    counted = sum(sum(c.values()) for c in r["outcomes"]["levels"].values())
    assert counted == lv["scored"]
    for rate in (lv["acceptance_rate"], un["acceptance_rate"]):
        assert rate is None or 0 <= rate <= 1


def test_recommendation_verdict_at_dispatch_time() -> None:
    assert recommendation_verdict(["U1", "U2"], "U1") == {"recommended_units": ["U1", "U2"], "chosen_unit": "U1",
                                                          "rank": 1, "verdict": "top", "top_choice": True}
    assert recommendation_verdict(["U1", "U2"], "U2")["rank"] == 2
    assert recommendation_verdict(["U1", "U2"], "U2")["verdict"] == "other_recommended"
    assert recommendation_verdict(["U1"], "U9")["verdict"] == "not_recommended"
    assert recommendation_verdict([], "U9")["verdict"] == "no_recommendation"
