"""Step deadlines and the console alerts for overdue steps, over plain rows; ``now`` is passed in.

Inspection rows carry ``id``, ``building_id``, ``state`` and ``state_since`` (datetime, naive meaning
UTC, or ISO 8601 text). Building rows carry ``id`` and ``last_self_check_at`` (None when never checked).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cases import fields
from inspections.access import LABELS
from inspections.chain import WAITING_FOR
from inspections.rules import StepDeadlines

ALERT_KIND = "inspection_overdue"
SELF_CHECK_ALERT_KIND = "self_check_due"


@dataclass(frozen=True)
class StepDue:
    inspection_id: str
    building_id: str
    state: str
    waiting_for: str
    since: dt.datetime
    deadline_at: dt.datetime
    overdue: bool
    overdue_by: dt.timedelta

    def to_dict(self) -> dict[str, Any]:
        return {"inspection_id": self.inspection_id, "building_id": self.building_id, "state": self.state,
                "waiting_for": self.waiting_for, "since": fields.iso(self.since),
                "deadline_at": fields.iso(self.deadline_at), "overdue": self.overdue,
                "overdue_by_s": int(self.overdue_by.total_seconds())}


def step_due(row: Mapping[str, Any], now: dt.datetime, table: StepDeadlines) -> StepDue | None:
    """The current step's deadline; None for a closed inspection (nobody is waited for)."""
    state = str(row["state"])
    if state not in WAITING_FOR:
        return None
    since = fields.moment(row["state_since"])
    deadline = since + table.steps[state]
    # Strictly after: a step finished at its last second is on time.
    return StepDue(str(row["id"]), str(row["building_id"]), state, WAITING_FOR[state], since, deadline,
                   now > deadline, max(dt.timedelta(0), now - deadline))


def overdue_steps(rows: Iterable[Mapping[str, Any]], now: dt.datetime, table: StepDeadlines) -> list[StepDue]:
    """Every overdue step, the longest overdue first."""
    out = [d for d in (step_due(r, now, table) for r in rows) if d is not None and d.overdue]
    out.sort(key=lambda d: (-d.overdue_by.total_seconds(), d.inspection_id))
    return out


def _hours(delta: dt.timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.0f} h"


def overdue_alerts(rows: Iterable[Mapping[str, Any]], now: dt.datetime, table: StepDeadlines) -> list[dict[str, Any]]:
    """Console alert events (``{"type": "alert", ...}``) for overdue steps, in both languages."""
    alerts = []
    for d in overdue_steps(rows, now, table):
        who = LABELS[d.waiting_for]
        alerts.append({
            "type": "alert", "kind": ALERT_KIND, "severity": "warning", **d.to_dict(),
            "message": f"inspection {d.inspection_id} (building {d.building_id}) has waited for the {who['en']} "
                       f"{_hours(d.overdue_by)} past its deadline",
            "message_zh": f"隐患排查 {d.inspection_id}（楼栋 {d.building_id}）等待{who['zh']}处理，已超期 "
                          f"{_hours(d.overdue_by)}"})
    return alerts


def self_checks_due(buildings: Iterable[Mapping[str, Any]], now: dt.datetime,
                    table: StepDeadlines) -> list[dict[str, Any]]:
    """Buildings whose last self-check is older than the cadence, or that never had one."""
    out = []
    for b in buildings:
        last = b.get("last_self_check_at")
        due_at = None if last is None else fields.moment(last) + table.self_check_every
        if due_at is None or now > due_at:
            out.append({"building_id": str(b["id"]), "kind": SELF_CHECK_ALERT_KIND,
                        "last_self_check_at": None if last is None else fields.iso(fields.moment(last)),
                        "due_at": None if due_at is None else fields.iso(due_at)})
    return out
