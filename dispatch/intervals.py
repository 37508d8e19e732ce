"""Response intervals per incident and their p50/p90 over a period: pure functions over incident dicts."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

# (name, from milestone, to milestone); milestones are the incident's ISO time fields.
INTERVALS = (
    ("created_to_dispatched", "created_at", "dispatched_at"),
    ("dispatched_to_acknowledged", "dispatched_at", "acknowledged_at"),
    ("created_to_acknowledged", "created_at", "acknowledged_at"),
    ("acknowledged_to_on_scene", "acknowledged_at", "on_scene_at"),
    ("created_to_on_scene", "created_at", "on_scene_at"),
    ("created_to_closed", "created_at", "closed_at"),
)


def _t(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def incident_intervals(incident: Mapping[str, Any]) -> dict[str, float | None]:
    """Seconds between the incident's milestones; None where a milestone was not reached."""
    times = {key: _t(incident.get(key)) for key in
             ("created_at", "dispatched_at", "acknowledged_at", "on_scene_at", "closed_at")}
    out: dict[str, float | None] = {}
    for name, a, b in INTERVALS:
        ta, tb = times[a], times[b]
        out[name] = None if ta is None or tb is None else round((tb - ta).total_seconds(), 3)
    return out


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100) of ``values``; None when empty."""
    if not values:
        return None
    data = sorted(values)
    pos = (len(data) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return round(data[lo] + (data[hi] - data[lo]) * (pos - lo), 3)


def summarize(incidents: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Per-incident intervals plus count, p50 and p90 of each interval over all of them."""
    rows = [{"id": inc["id"], "number": inc.get("number"), "level": inc.get("level"),
             "intervals": incident_intervals(inc)} for inc in incidents]
    stats: dict[str, dict[str, Any]] = {}
    for name, _a, _b in INTERVALS:
        vals = [r["intervals"][name] for r in rows if r["intervals"][name] is not None]
        stats[name] = {"count": len(vals), "p50_s": percentile(vals, 50), "p90_s": percentile(vals, 90)}
    return {"incidents": rows, "stats": stats}
