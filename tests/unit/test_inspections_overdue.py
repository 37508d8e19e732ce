"""Inspection data files, step deadlines, overdue alerts and due self-checks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from inspections.overdue import ALERT_KIND, overdue_alerts, overdue_steps, self_checks_due, step_due
from inspections.rules import load_checklist, load_deadlines, parse_checklist, parse_deadlines

NOW = dt.datetime(2026, 3, 20, 12, 0, 0, tzinfo=dt.UTC)
TABLE = load_deadlines()


def row(ident: str, state: str, age: dt.timedelta) -> dict[str, Any]:
    return {"id": ident, "building_id": "B" + ident, "state": state, "state_since": NOW - age}


def test_bundled_tables_load() -> None:
    assert TABLE.steps == {"submitted": dt.timedelta(days=3), "returned": dt.timedelta(days=7),
                           "grid_accepted": dt.timedelta(days=5), "escalated": dt.timedelta(days=15)}
    assert TABLE.self_check_every == dt.timedelta(days=30)
    checklist = load_checklist()
    assert len(checklist) >= 10 and all(c.zh and c.en for c in checklist)
    assert len({c.id for c in checklist}) == len(checklist)


@pytest.mark.parametrize(("doc", "msg"), [
    ({"steps": {"submitted": "3d", "returned": "7d", "grid_accepted": "5d"}, "self_check_every": "30d"},
     "steps lacks escalated"),
    ({"steps": {"submitted": "3d", "returned": "7d", "grid_accepted": "5d", "escalated": "15d", "closed": "1d"},
      "self_check_every": "30d"}, "unknown field(s) closed"),
    ({"steps": {"submitted": "soon", "returned": "7d", "grid_accepted": "5d", "escalated": "15d"},
      "self_check_every": "30d"}, "steps.submitted must be a positive duration"),
    ({"steps": {"submitted": "3d", "returned": "7d", "grid_accepted": "5d", "escalated": "15d"}},
     "self_check_every is required"),
])
def test_broken_deadline_tables_say_what_is_wrong(doc: Any, msg: str) -> None:
    with pytest.raises(ValueError, match=r"d\.yaml") as err:
        parse_deadlines(doc, "d.yaml")
    assert msg in str(err.value)


@pytest.mark.parametrize(("doc", "msg"), [
    ({"items": []}, "non-empty list"), ({"items": [{"id": "A", "zh": "甲", "en": "a"}]}, "lower-case"),
    ({"items": [{"id": "aa", "zh": "甲", "en": "a"}, {"id": "aa", "zh": "乙", "en": "b"}]}, "appears twice"),
    ({"items": [{"id": "aa", "zh": "", "en": "a"}]}, "zh text is required"),
])
def test_broken_checklists_say_what_is_wrong(doc: Any, msg: str) -> None:
    with pytest.raises(ValueError, match=msg):
        parse_checklist(doc)


def test_unreadable_files_are_named(tmp_path: Path) -> None:
    f = tmp_path / "x.yaml"
    f.write_text("steps: [", encoding="utf-8")
    with pytest.raises(ValueError, match="cannot read inspection deadline table"):
        load_deadlines(f)
    with pytest.raises(ValueError, match="cannot read checklist"):
        load_checklist(tmp_path / "missing.yaml")


def test_step_deadline_is_strict_and_closed_waits_for_nobody() -> None:
    on_time = step_due(row("1", "submitted", dt.timedelta(days=3)), NOW, TABLE)
    assert on_time is not None and not on_time.overdue and on_time.waiting_for == "grid_worker"
    late = step_due(row("1", "submitted", dt.timedelta(days=3, seconds=1)), NOW, TABLE)
    assert late is not None and late.overdue and late.overdue_by == dt.timedelta(seconds=1)
    assert step_due(row("1", "closed", dt.timedelta(days=300)), NOW, TABLE) is None
    naive = {"id": "2", "building_id": "B2", "state": "escalated", "state_since": (NOW - dt.timedelta(days=16))
             .replace(tzinfo=None)}
    due = step_due(naive, NOW, TABLE)
    assert due is not None and due.overdue and due.waiting_for == "fire_police"


def test_overdue_alerts_longest_first_in_both_languages() -> None:
    rows = [row("1", "submitted", dt.timedelta(days=4)), row("2", "returned", dt.timedelta(days=6)),
            row("3", "grid_accepted", dt.timedelta(days=10)), row("4", "closed", dt.timedelta(days=99)),
            {"id": "5", "building_id": "B5", "state": "escalated", "state_since": "2026-03-01T00:00:00Z"}]
    assert [d.inspection_id for d in overdue_steps(rows, NOW, TABLE)] == ["3", "5", "1"]
    alerts = overdue_alerts(rows, NOW, TABLE)
    assert [a["inspection_id"] for a in alerts] == ["3", "5", "1"]
    first = alerts[0]
    assert first["type"] == "alert" and first["kind"] == ALERT_KIND and first["waiting_for"] == "fire_office"
    assert "fire office" in first["message"] and "120 h" in first["message"] and "消防办" in first["message_zh"]


def test_self_checks_due() -> None:
    buildings = [{"id": "B1", "last_self_check_at": NOW - dt.timedelta(days=10)},
                 {"id": "B2", "last_self_check_at": NOW - dt.timedelta(days=31)},
                 {"id": "B3", "last_self_check_at": None}]
    due = self_checks_due(buildings, NOW, TABLE)
    assert [d["building_id"] for d in due] == ["B2", "B3"]
    assert due[1]["due_at"] is None and due[0]["due_at"] == "2026-03-19T12:00:00Z"
