"""Deadline table, where each file is and whether it is overdue, and per-officer counts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cases.deadlines import load_deadlines, parse_deadlines
from cases.monitoring import board, handover_overdue, officer_counts, position

NOW = dt.datetime(2026, 3, 10, 12, 0, 0, tzinfo=dt.UTC)
TABLE = load_deadlines()


def row(ident: str, officer: str = "o1", holder: str = "officer", holder_id: str | None = None,
        age: dt.timedelta = dt.timedelta(hours=1), **over: Any) -> dict[str, Any]:
    r = {"id": ident, "status": "open", "responsible_officer": officer, "holder_kind": holder,
         "holder_id": holder_id or (officer if holder == "officer" else holder), "held_since": NOW - age,
         "awaiting_correction": False, "returns": 0}
    r.update(over)
    return r


def test_bundled_table_has_every_holder() -> None:
    assert TABLE.holders["officer"] == dt.timedelta(days=7)
    assert TABLE.holders["case_centre"] == dt.timedelta(days=2)
    assert TABLE.correction == dt.timedelta(days=3) and TABLE.pending_handover == dt.timedelta(days=1)


@pytest.mark.parametrize(("doc", "msg"), [
    ({"holders": {"officer": "7d", "case_centre": "2d"}, "correction": "3d", "pending_handover": "1d"},
     "holders lacks legal_review"),
    ({"holders": {"officer": "7 days", "case_centre": "2d", "legal_review": "3d"}, "correction": "3d",
      "pending_handover": "1d"}, "holders.officer must be a positive duration such as 90m, 48h or 7d"),
    ({"holders": {"officer": "7d", "case_centre": "2d", "legal_review": "3d"}, "pending_handover": "1d"},
     "correction is required"),
    ({"holders": {"officer": "7d", "case_centre": "2d", "legal_review": "3d", "court": "1d"}, "correction": "3d",
      "pending_handover": "1d"}, "unknown field(s) court"),
    ([], "must be a mapping"),
])
def test_broken_tables_say_what_is_wrong(doc: Any, msg: str) -> None:
    with pytest.raises(ValueError, match=r"x\.yaml") as err:
        parse_deadlines(doc, "x.yaml")
    assert msg in str(err.value)


def test_unreadable_file_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "d.yaml"
    bad.write_text("holders: [", encoding="utf-8")
    with pytest.raises(ValueError, match="cannot read case deadline table"):
        load_deadlines(bad)
    bad.write_text("holders: {officer: 90m, case_centre: 12h, legal_review: 1.5}\ncorrection: 2d\n"
                   "pending_handover: 30m\n", encoding="utf-8")
    t = load_deadlines(bad)
    assert t.holders["officer"] == dt.timedelta(minutes=90) and t.holders["legal_review"] == dt.timedelta(hours=1.5)


def test_overdue_is_strictly_after_the_deadline() -> None:
    at_deadline = position(row("C1", age=dt.timedelta(days=7)), NOW, TABLE)
    assert not at_deadline.overdue and at_deadline.overdue_by == dt.timedelta(0)
    late = position(row("C1", age=dt.timedelta(days=7, seconds=1)), NOW, TABLE)
    assert late.overdue and late.overdue_by == dt.timedelta(seconds=1)
    assert late.to_dict()["overdue_by_s"] == 1


def test_awaiting_correction_uses_the_correction_deadline_and_naive_times_are_utc() -> None:
    r = row("C1", age=dt.timedelta(days=4), awaiting_correction=True)
    r["held_since"] = r["held_since"].replace(tzinfo=None)
    p = position(r, NOW, TABLE)
    assert p.overdue and p.deadline_at == NOW - dt.timedelta(days=1)
    iso = row("C2", held_since="2026-03-10T11:00:00Z")
    assert position(iso, NOW, TABLE).age == dt.timedelta(hours=1)


def test_board_lists_open_files_most_overdue_first() -> None:
    rows = [row("fresh"), row("late-1d", age=dt.timedelta(days=8)), row("closed", status="closed",
                                                                          age=dt.timedelta(days=99)),
            row("centre-late-3d", holder="case_centre", age=dt.timedelta(days=5)),
            row("old-but-ok", holder="legal_review", age=dt.timedelta(days=2))]
    assert [p.case_id for p in board(rows, NOW, TABLE)] == ["centre-late-3d", "late-1d", "old-but-ok", "fresh"]


def test_pending_handover_deadline() -> None:
    assert not handover_overdue(NOW - dt.timedelta(days=1), NOW, TABLE)
    assert handover_overdue("2026-03-09T11:59:59Z", NOW, TABLE)


def test_officer_counts() -> None:
    rows = [
        row("a", "o1"), row("b", "o1", age=dt.timedelta(days=9)),
        row("c", "o1", holder="legal_review", age=dt.timedelta(days=30)),       # late, but not the officer's delay
        row("d", "o1", age=dt.timedelta(days=5), awaiting_correction=True, returns=2),  # overdue correction
        row("e", "o1", status="closed", returns=1),
        row("f", "o2", holder="case_centre", returns=1),
    ]
    counts = {k: v.to_dict() for k, v in officer_counts(rows, NOW, TABLE).items()}
    assert counts == {"o1": {"open": 4, "overdue": 2, "returned": 2, "awaiting_correction": 1},
                      "o2": {"open": 1, "overdue": 0, "returned": 1, "awaiting_correction": 0}}


_rows = st.lists(st.builds(
    lambda i, off, holder, hours, waiting, returns, closed: row(
        f"C{i}", off, holder, None, dt.timedelta(hours=hours), awaiting_correction=waiting and holder == "officer",
        returns=returns, status="closed" if closed else "open"),
    st.integers(0, 10_000), st.sampled_from(["o1", "o2", "o3"]),
    st.sampled_from(["officer", "case_centre", "legal_review"]), st.integers(0, 400), st.booleans(),
    st.integers(0, 3), st.booleans()), max_size=30)


@given(_rows)
def test_property_counts_add_up(rows: list[dict[str, Any]]) -> None:
    counts = officer_counts(rows, NOW, TABLE)
    assert sum(c.open for c in counts.values()) == sum(r["status"] == "open" for r in rows)
    assert sum(c.returned for c in counts.values()) == sum(r["returns"] > 0 for r in rows)
    for c in counts.values():
        assert 0 <= c.overdue <= c.open and 0 <= c.awaiting_correction <= c.open
    positions = board(rows, NOW, TABLE)
    assert len(positions) == sum(r["status"] == "open" for r in rows)
    flags = [p.overdue for p in positions]
    assert flags == sorted(flags, reverse=True)
