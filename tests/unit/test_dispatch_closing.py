"""What ending an incident records and the dispatcher's final level (dispatch.closing), how an ended
incident's outcome is counted (dispatch.accountability.outcome_key), and the brief's accountability
tables (analytics) — pure functions, no database."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics.accountability import BRIEF_COLUMNS, accountability, brief_category_rows, brief_rows
from analytics.brief import accountability_html
from cases.outcomes import load_outcomes
from dispatch.accountability import outcome_key
from dispatch.closing import (
    confirm_level,
    level_after_rescore,
    outcome_columns,
    outcome_for,
    photo_type,
    settle_level,
)
from dispatch.errors import Conflict, InvalidInput
from dispatch.recommend import best_ids, load_table, rank_units

TABLE = load_outcomes()
NOW = dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC)


def test_closing_needs_an_accepted_code_and_a_note() -> None:
    outcome, note = outcome_for("closed", "arrest", "  one arrested  ", TABLE) or (None, None)
    assert outcome is not None and outcome.eido == "03" and note == "one arrested"
    with pytest.raises(InvalidInput) as err:
        outcome_for("closed", None, None, TABLE)
    assert err.value.details["field"] == "outcome_code" and "settled_on_scene" in err.value.message
    assert err.value.details["accepted"] == TABLE.active_codes()
    with pytest.raises(InvalidInput, match="'solved'"):
        outcome_for("closed", "solved", "x", TABLE)
    with pytest.raises(InvalidInput) as err:
        outcome_for("closed", "arrest", "", TABLE)
    assert err.value.details["field"] == "note"


def test_cancel_or_merge_may_record_an_outcome_other_statuses_may_not() -> None:
    assert outcome_for("cancelled", None, None, TABLE) is None
    found = outcome_for("merged", "duplicate", "same fight as JY-1", TABLE)
    assert found is not None and found[0].eido == "22"
    with pytest.raises(InvalidInput, match="when an incident ends"):
        outcome_for("en_route", "arrest", "x", TABLE)
    assert outcome_columns(None, "cancelled", "d1") == {"closed_by": "d1"}
    assert outcome_columns(found, "merged", "d1") == {"closed_by": "d1", "outcome_code": "duplicate",
                                                      "outcome_note": "same fight as JY-1"}
    assert outcome_columns(None, "dispatched", "d1") == {}


def test_final_level_is_recorded_once_then_follows_the_incident() -> None:
    row = {"number": "JY-1", "status": "triaged", "level": "P3", "final_level": None, "priority_override": None}
    assert settle_level(row, "d1", NOW) == {"final_level": "P3", "final_level_by": "d1", "final_level_at": NOW}
    assert settle_level({**row, "final_level": "P2"}, "d1", NOW) == {}
    assert settle_level({**row, "level": None}, "d1", NOW) == {}
    # Re-scoring moves a final level recorded without an override; an override stays the dispatcher's.
    assert level_after_rescore({**row, "final_level": "P3"}, "P2") == {"machine_level": "P2", "final_level": "P2"}
    assert level_after_rescore({**row, "final_level": "P1", "priority_override": {"level": "P1"}}, "P2") == \
        {"machine_level": "P2"}
    assert level_after_rescore(row, "P2") == {"machine_level": "P2"}
    assert confirm_level(row, "d2", NOW)["final_level"] == "P3"
    with pytest.raises(Conflict, match="no level"):
        confirm_level({**row, "level": None}, "d2", NOW)
    with pytest.raises(Conflict, match="closed"):
        confirm_level({**row, "status": "closed"}, "d2", NOW)


def test_photo_types() -> None:
    assert photo_type("image/jpeg; charset=binary") == ("image/jpeg", "jpg")
    for bad in (None, "image/svg+xml", "application/octet-stream"):
        with pytest.raises(InvalidInput) as err:
            photo_type(bad)
        assert "image/png" in err.value.message and err.value.details["field"] == "Content-Type"


def test_ended_incidents_without_an_outcome_are_counted_by_status() -> None:
    assert outcome_key("arrest", "closed") == "arrest"
    assert outcome_key(None, "cancelled") == "status:cancelled"
    assert outcome_key(None, "closed") == "status:closed"  # closed before outcomes were recorded
    assert outcome_key(None, "on_scene") is None


def test_brief_tables_per_level_and_category() -> None:
    report = accountability([
        {"category": "robbery", "machine_level": "P2", "final_level": "P1", "outcome_code": "arrest",
         "dispatches": [{"recommended_units": ["U1", "U2"], "chosen_unit": "U2"}]},
        {"category": "theft", "machine_level": "P3", "final_level": "P3", "outcome_code": "no_report",
         "dispatches": [{"recommended_units": ["U1"], "chosen_unit": "U1"}]},
    ])
    rows = brief_category_rows(report)
    assert [r["group"] for r in rows] == ["robbery", "theft"]
    assert rows[0] == {"group": "robbery", "scored": 1, "level_accept": "0.0%", "raised": 1, "lowered": 0,
                            "dispatches": 1, "unit_accept": "0.0%"}
    assert [k for k, _ in BRIEF_COLUMNS["en"]] == list(rows[0])
    section = {"incidents": 2, "columns": {k: [list(c) for c in v] for k, v in BRIEF_COLUMNS.items()},
               "rows": brief_rows(report), "by_category": rows, "outcomes": report["outcomes"],
               "outcome_labels": {"arrest": {"zh": "抓获/刑事拘留", "en": "Arrest made"}}, "not_counted": {"x": 1}}
    html = accountability_html(section)
    assert "定级采纳率 level accepted" in html and "抓获/刑事拘留 arrest 1" in html and "robbery" in html
    assert accountability_html({"incidents": 0}) == '<p class="empty">—</p>'


def test_the_lean_ranking_of_the_dispatch_path_is_the_console_ranking() -> None:
    """best_ids (what an order records, capabilities and freshness judged in SQL) against rank_units (what
    GET /recommendations shows), on units that tie, lack capabilities, have stale or no fixes."""
    import random

    rng = random.Random(7)
    table = load_table()
    caps = sorted(table.capabilities)
    units = []
    for i in range(300):
        fix = None if i % 17 == 0 else NOW - dt.timedelta(seconds=rng.choice((10, 600, 4000)))
        lat, lon = (None, None) if i % 23 == 0 else (22.5 + rng.randrange(20) / 100, 114.0 + rng.randrange(20) / 100)
        units.append({"id": f"u{i}", "callsign": f"C{i:03d}", "status": "available" if i % 5 else "on_scene",
                      "capabilities": rng.sample(caps, rng.randrange(len(caps) + 1)), "lat": lat, "lon": lon,
                      "location_at": fix})
    for category in ("violent_crime", "medical", "theft", None):
        required = table.required(category)
        ranked, _ = rank_units({"category": category, "lat": 22.55, "lon": 114.05}, units, table, now=NOW,
                               stale_after_s=1800)
        lean = []
        for u in units:
            if u["status"] != "available":
                continue
            fixed = u["lat"] is not None and u["location_at"] is not None
            stale = not fixed or (NOW - u["location_at"]).total_seconds() > 1800
            lean.append((u["id"], u["callsign"], u["lat"] if fixed else None, u["lon"] if fixed else None,
                         sum(c not in u["capabilities"] for c in required), stale))
        assert best_ids(22.55, 114.05, lean, 25) == [r.unit_id for r in ranked[:25]], category
        assert best_ids(None, None, lean, 5) == [r.unit_id for r in rank_units(
            {"category": category}, units, table, now=NOW, stale_after_s=1800)[0][:5]]
