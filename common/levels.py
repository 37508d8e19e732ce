"""The priority levels of ../shared/incidents/RUBRIC.md, once for every package.

An incident's priority is an EIDO ``incidentCommonPriorityNumber`` 0-10; its level P1-P4 is the
range the number falls in. P1 is the most urgent.
"""

from __future__ import annotations

LEVELS = ("P1", "P2", "P3", "P4")
LEVEL_RANGES = {"P1": (8, 10), "P2": (6, 7), "P3": (3, 5), "P4": (0, 2)}
RANK = {level: n for n, level in enumerate(LEVELS, 1)}  # P1 -> 1 ... P4 -> 4: lower is more urgent


def level_for_priority(priority: int) -> str:
    """The P-level of an EIDO priority number (RUBRIC.md: P1 8-10, P2 6-7, P3 3-5, P4 0-2)."""
    for level, (lo, hi) in LEVEL_RANGES.items():
        if lo <= priority <= hi:
            return level
    raise ValueError(f"priority must be an integer from 0 to 10, got {priority!r}")
