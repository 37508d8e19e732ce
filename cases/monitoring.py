"""Process monitoring (流程监控) and per-officer counts (执法考评 basis), over plain rows.

Rows are what the store reads from its case-file table, as mappings with the keys of
:meth:`cases.casefile.CaseFile.to_dict`: ``id``, ``status``, ``responsible_officer``, ``holder_kind``,
``holder_id``, ``held_since`` (datetime, naive meaning UTC, or ISO 8601 text), ``awaiting_correction``
and ``returns``. Nothing here reads a clock: ``now`` is passed in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cases import fields
from cases.deadlines import CaseDeadlines


@dataclass(frozen=True)
class Position:
    """Where one open file is now, for how long, and whether that is past its deadline."""

    case_id: str
    holder_kind: str
    holder_id: str
    since: dt.datetime
    age: dt.timedelta
    deadline_at: dt.datetime
    overdue: bool
    awaiting_correction: bool

    @property
    def overdue_by(self) -> dt.timedelta:
        return max(dt.timedelta(0), self.age - (self.deadline_at - self.since))

    def to_dict(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "holder_kind": self.holder_kind, "holder_id": self.holder_id,
                "since": fields.iso(self.since), "age_s": int(self.age.total_seconds()),
                "deadline_at": fields.iso(self.deadline_at), "overdue": self.overdue,
                "overdue_by_s": int(self.overdue_by.total_seconds()), "awaiting_correction": self.awaiting_correction}


def position(row: Mapping[str, Any], now: dt.datetime, table: CaseDeadlines) -> Position:
    since = fields.moment(row["held_since"])
    waiting = bool(row.get("awaiting_correction"))
    deadline = since + table.for_holding(str(row["holder_kind"]), waiting)
    # Overdue is strictly after the deadline: a file handed on at the last second is on time.
    return Position(str(row["id"]), str(row["holder_kind"]), str(row["holder_id"]), since, now - since, deadline,
                    now > deadline, waiting)


def board(rows: Iterable[Mapping[str, Any]], now: dt.datetime, table: CaseDeadlines) -> list[Position]:
    """Every open file's position, the most overdue first, then the longest held."""
    out = [position(r, now, table) for r in rows if r["status"] == "open"]
    out.sort(key=lambda p: (not p.overdue, -p.overdue_by.total_seconds(), -p.age.total_seconds(), p.case_id))
    return out


def handover_overdue(proposed_at: Any, now: dt.datetime, table: CaseDeadlines) -> bool:
    """Whether a proposal has waited for its receiver longer than the table allows."""
    return now > fields.moment(proposed_at) + table.pending_handover


@dataclass
class OfficerCounts:
    open: int = 0                  # open files the officer is responsible for, wherever they are
    overdue: int = 0               # of those, held by the officer past the deadline
    returned: int = 0              # files returned for correction at least once (in the rows given)
    awaiting_correction: int = 0   # files with the officer now, returned and not yet handed back

    def to_dict(self) -> dict[str, int]:
        return dict(vars(self))


def officer_counts(rows: Iterable[Mapping[str, Any]], now: dt.datetime,
                   table: CaseDeadlines) -> dict[str, OfficerCounts]:
    """Per responsible officer: open, overdue, returned-for-correction and awaiting-correction files.

    Overdue counts only the time a file sits with the officer themselves: a file late at legal review
    is legal review's delay, shown on the board, not the officer's. ``returned`` counts closed files
    too, since a supervisor assessing a period wants every file that came back. The caller chooses the
    period by the rows it passes.
    """
    out: dict[str, OfficerCounts] = {}
    for row in rows:
        officer = str(row["responsible_officer"])
        counts = out.setdefault(officer, OfficerCounts())
        if int(row.get("returns") or 0) > 0:
            counts.returned += 1
        if row["status"] != "open":
            continue
        counts.open += 1
        held_by_officer = row["holder_kind"] == "officer" and str(row["holder_id"]) == officer
        if held_by_officer and row.get("awaiting_correction"):
            counts.awaiting_correction += 1
        if held_by_officer and position(row, now, table).overdue:
            counts.overdue += 1
    return out
