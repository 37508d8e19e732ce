"""The console's page-side P-level thresholds (web/static/console/levels.js) are the server's.

The page prefers the ``level`` the server sends with each incident and derives one from the priority
only when it is missing; this keeps that fallback from drifting from ``common.levels.LEVEL_RANGES``
(RUBRIC.md) without running JavaScript.
"""

from __future__ import annotations

import re
from pathlib import Path

from common.levels import LEVEL_RANGES

LEVELS_JS = Path(__file__).resolve().parents[2] / "web" / "static" / "console" / "levels.js"


def test_console_level_floors_match_the_server() -> None:
    source = LEVELS_JS.read_text(encoding="utf-8")
    match = re.search(r"export const LEVEL_FLOORS = \[(.*?)\];", source)
    assert match is not None, "LEVEL_FLOORS not found in levels.js"
    floors = [(level, int(floor)) for level, floor in re.findall(r'\["(P\d)", (\d+)\]', match.group(1))]
    # Most urgent first, each level starting at the server's lowest priority for it.
    assert floors == sorted(((lvl, lo) for lvl, (lo, _hi) in LEVEL_RANGES.items()), key=lambda f: -f[1])


def test_no_other_copy_of_the_thresholds_in_the_pages() -> None:
    static = LEVELS_JS.parent.parent
    for path in static.rglob("*.js"):
        if path == LEVELS_JS:
            continue
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"priority\s*>=\s*[368]\b", text), f"{path.name} derives levels itself; use levels.js"
