"""Inspection settings, read by ``web.envparse`` like every other section (field metadata names the variable).

The step deadlines default to the bundled table ``inspections/data/deadlines.yaml``, so the table stays
the one place the district's defaults are written; a deployment changes a deadline with its variable.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from common.settings import setting
from inspections.rules import StepDeadlines, load_deadlines

_BUNDLED = load_deadlines()
_HOUR = dt.timedelta(hours=1)


def _hours(state: str) -> float:
    return _BUNDLED.steps[state] / _HOUR


_MAX_HOURS = 366 * 24.0
# A deadline below a second is a typo; tests still get overdue steps within seconds.
_MIN_HOURS = 0.0003


@dataclass(frozen=True)
class InspectionSettings:
    photo_max_bytes: int = setting(10 * 1024 * 1024, "JINGYUN_INSPECTION_PHOTO_MAX_BYTES",
                                   "largest inspection photo accepted, bytes (larger: 413 and nothing kept)",
                                   lo=1024, hi=200 * 1024 * 1024)
    deadline_submitted_h: float = setting(_hours("submitted"), "JINGYUN_INSPECTION_DEADLINE_SUBMITTED_HOURS",
                                          "hours the grid worker has to review a submitted self-check",
                                          lo=_MIN_HOURS, hi=_MAX_HOURS)
    deadline_returned_h: float = setting(_hours("returned"), "JINGYUN_INSPECTION_DEADLINE_RETURNED_HOURS",
                                         "hours the building manager has to resubmit a returned self-check",
                                         lo=_MIN_HOURS, hi=_MAX_HOURS)
    deadline_grid_accepted_h: float = setting(_hours("grid_accepted"),
                                              "JINGYUN_INSPECTION_DEADLINE_GRID_ACCEPTED_HOURS",
                                              "hours the fire office has to close, return or escalate an "
                                              "accepted self-check", lo=_MIN_HOURS, hi=_MAX_HOURS)
    deadline_escalated_h: float = setting(_hours("escalated"), "JINGYUN_INSPECTION_DEADLINE_ESCALATED_HOURS",
                                          "hours the fire police have to resolve an escalated hazard",
                                          lo=_MIN_HOURS, hi=_MAX_HOURS)
    self_check_every_h: float = setting(_BUNDLED.self_check_every / _HOUR, "JINGYUN_INSPECTION_SELF_CHECK_EVERY_HOURS",
                                        "hours after a building's last self-check before it is due again",
                                        lo=_MIN_HOURS, hi=_MAX_HOURS)
    overdue_check_s: float = setting(300.0, "JINGYUN_INSPECTION_OVERDUE_CHECK_SECONDS",
                                     "seconds between checks for overdue inspection steps (one process acts, by "
                                     "lease); each overdue step raises one console alert", lo=0.1, hi=86400.0)

    def deadlines(self) -> StepDeadlines:
        """The step deadline table these settings give (``inspections.overdue`` reads it)."""
        hours = {"submitted": self.deadline_submitted_h, "returned": self.deadline_returned_h,
                 "grid_accepted": self.deadline_grid_accepted_h, "escalated": self.deadline_escalated_h}
        return StepDeadlines({k: dt.timedelta(hours=v) for k, v in hours.items()},
                             dt.timedelta(hours=self.self_check_every_h))
