"""Response intervals and their percentiles."""

from __future__ import annotations

import pytest

from dispatch.intervals import incident_intervals, percentile, summarize


def test_intervals_between_milestones() -> None:
    inc = {"id": "a", "created_at": "2026-01-01T00:00:00Z", "dispatched_at": "2026-01-01T00:00:30Z",
           "acknowledged_at": "2026-01-01T00:00:35Z", "on_scene_at": "2026-01-01T00:08:00Z", "closed_at": None}
    got = incident_intervals(inc)
    assert got["created_to_dispatched"] == 30
    assert got["dispatched_to_acknowledged"] == 5
    assert got["created_to_on_scene"] == 480
    assert got["created_to_closed"] is None


def test_percentiles_interpolate() -> None:
    assert percentile([], 50) is None
    assert percentile([10.0], 90) == 10
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile(list(map(float, range(1, 11))), 90) == pytest.approx(9.1)


def test_summary_counts_only_reached_milestones() -> None:
    incs = [{"id": str(i), "created_at": "2026-01-01T00:00:00Z",
             "dispatched_at": f"2026-01-01T00:00:{10 * i:02d}Z" if i else None} for i in range(4)]
    stats = summarize(incs)["stats"]["created_to_dispatched"]
    assert stats == {"count": 3, "p50_s": 20.0, "p90_s": 28.0}
