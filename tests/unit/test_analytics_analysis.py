"""Analysis: spike detection on a synthetic series with a known spike, DBSCAN hotspots, repeat places,
the daily brief and its HTML."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any
from zoneinfo import ZoneInfo

from analytics import analysis, demo, rules
from analytics.brief import render_html

P = analysis.AnalysisParams()
DAY = dt.date(2026, 5, 20)
TZ = ZoneInfo(P.tz)


def test_spike_found_on_known_spike_day() -> None:
    rng = random.Random(3)
    # 28 days of thefts around 10 a day, and robberies around 2 a day.
    history = [{"theft": rng.choice([8, 9, 10, 11, 12]), "robbery": rng.choice([1, 2, 3])} for _ in range(28)]
    found = analysis.spikes({"theft": 10, "robbery": 11}, history, P)
    assert [s["key"] for s in found] == ["robbery"]
    assert found[0]["z"] >= P.spike_z and found[0]["count"] == 11


def test_no_spike_on_ordinary_day_or_quiet_category_with_one_report() -> None:
    history = [{"theft": 10 + (i % 3) - 1} for i in range(28)]
    assert analysis.spikes({"theft": 11}, history, P) == []
    # mean 0, std 0: one fire must not become an infinite z (std floor 1, min count 3)
    assert analysis.spikes({"fire": 1}, [{} for _ in range(28)], P) == []


def test_dbscan_finds_two_clusters_and_noise() -> None:
    rng = random.Random(5)
    lat, lon = [], []
    for c_lat, c_lon, n in ((22.5445, 114.0855, 12), (22.5160, 114.0685, 6)):
        for _ in range(n):
            lat.append(c_lat + rng.gauss(0, 0.0004))
            lon.append(c_lon + rng.gauss(0, 0.0004))
    lat += [22.57, 22.50]
    lon += [114.00, 114.10]
    labels = analysis.dbscan(lat, lon, eps_m=300, min_points=4)
    assert len({lb for lb in labels if lb >= 0}) == 2
    assert labels[-2:] == [-1, -1]
    assert labels[:12] == [labels[0]] * 12


def _inc(i: int, when: dt.datetime, category: str, lat: float, lon: float, text: str = "") -> dict[str, Any]:
    return {"id": str(i), "created_at": when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
            "category": category, "level": "P3", "source": "call",
            "location": {"text": text, "lat": lat, "lon": lon}}


def test_daily_brief_counts_hotspots_spikes_and_repeats() -> None:
    rng = random.Random(9)
    incidents = []
    n = 0
    for back in range(28, 0, -1):
        day = DAY - dt.timedelta(days=back)
        for _ in range(5):
            n += 1
            when = dt.datetime.combine(day, dt.time(rng.randrange(24), 0), TZ)
            incidents.append(_inc(n, when, "traffic", 22.56 + rng.random() / 50, 114.03 + rng.random() / 50))
        n += 1
        incidents.append(_inc(n, dt.datetime.combine(day, dt.time(12), TZ), "theft", 22.523, 114.029, "上沙村"))
    # The day: an e-bike theft burst at one village, in the evening.
    for k in range(9):
        n += 1
        incidents.append(_inc(n, dt.datetime.combine(DAY, dt.time(20, k), TZ), "theft",
                              22.5230 + k * 0.0001, 114.0290, "上沙村"))
    n += 1
    incidents.append(_inc(n, dt.datetime.combine(DAY, dt.time(3), TZ), "traffic", 22.56, 114.05))
    brief = analysis.daily_brief(DAY, incidents, P)
    assert brief["total"] == 10
    assert brief["by_category"] == {"theft": 9, "traffic": 1}
    assert brief["by_hour"][20] == 9 and brief["by_hour"][3] == 1 and sum(brief["by_hour"]) == 10
    assert brief["by_area"]["上沙村"] == 9
    assert brief["hotspots"][0]["count"] == 9 and brief["hotspots"][0]["label"] == "上沙村"
    assert {s["key"] for s in brief["spikes"]} == {"theft", "(all)"}
    assert brief["repeat_locations"][0]["location"] == "上沙村"
    assert brief["repeat_locations"][0]["count"] == 28 + 9
    assert brief["baseline"] == {"days": 28, "incidents": 28 * 6, "complete": True}


def test_fresh_install_reports_no_spikes() -> None:
    incidents = [_inc(i, dt.datetime.combine(DAY, dt.time(10, i), TZ), "theft", 22.5, 114.0) for i in range(5)]
    brief = analysis.daily_brief(DAY, incidents, P)
    assert brief["spikes"] == [] and brief["baseline"]["complete"] is False


def test_local_day_bounds() -> None:
    start, end = analysis.day_bounds(DAY, "Asia/Shanghai")
    assert start == dt.datetime(2026, 5, 19, 16, 0, tzinfo=dt.UTC)
    assert end - start == dt.timedelta(days=1)


def test_brief_html_has_charts_and_escapes_text() -> None:
    incidents = [_inc(i, dt.datetime.combine(DAY, dt.time(9, i), TZ), "theft", 22.5445, 114.0855,
                      "<script>alert(1)</script>") for i in range(6)]
    page = render_html(analysis.daily_brief(DAY, incidents, P))
    assert page.count("<svg") >= 4
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "2026-05-20" in page


def test_demo_history_is_seeded_and_has_the_promised_spike() -> None:
    places = rules.default_rules().gazetteer.places
    a = demo.history(DAY, days=30, per_day=12, gazetteer_places=places, seed=1)
    b = demo.history(DAY, days=30, per_day=12, gazetteer_places=places, seed=1)
    assert [x["text"] for x in a] == [x["text"] for x in b]
    assert all(x["created_at"].tzinfo is not None for x in a)
    last_day = [x for x in a if x["created_at"].astimezone(TZ).date() == DAY - dt.timedelta(days=1)]
    assert sum(1 for x in last_day if x["location_text"] == "上沙村") >= 6


def test_repeat_locations_merge_names_of_one_place() -> None:
    when = dt.datetime.combine(DAY, dt.time(10), TZ)
    incs = [_inc(1, when, "theft", 22.516, 114.0685, "Futian Port"),
            _inc(2, when - dt.timedelta(days=2), "theft", 22.516, 114.0685, "福田口岸"),
            _inc(3, when - dt.timedelta(days=5), "public_order", 22.516, 114.0685, "futian port")]
    brief = analysis.daily_brief(DAY, incs, P)
    assert brief["repeat_locations"][0]["location"] == "福田口岸"
    assert brief["repeat_locations"][0]["count"] == 3
