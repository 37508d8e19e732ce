"""Analysis for supervisors: counts, hotspots (DBSCAN), spikes against a rolling baseline, repeat places.

Pure functions over incident dicts (as :meth:`DispatchService.incidents_between` returns them:
``created_at`` ISO string or datetime, ``category``, ``level``, ``source``, ``location`` with
``text``/``lat``/``lon``). Times are bucketed in the configured time zone.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from analytics.rules import RuleSet, default_rules

EARTH_M = 6_371_000.0
MAX_HOTSPOT_POINTS = 5000  # pairwise distances are O(n^2) memory; a day in one district is far below this
AREA_KINDS = ("area", "village", "estate", "port")
AREA_MAX_M = 1500.0


@dataclass(frozen=True)
class AnalysisParams:
    tz: str = "Asia/Shanghai"
    baseline_days: int = 28
    spike_z: float = 3.0
    spike_min_count: int = 3
    hotspot_radius_m: float = 300.0
    hotspot_min_points: int = 4
    repeat_location_min: int = 3


def _when(inc: Mapping[str, Any]) -> dt.datetime:
    value = inc.get("created_at")
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, dt.datetime):
        raise ValueError(f"incident {inc.get('id')}: created_at missing or not a time: {value!r}")
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _loc(inc: Mapping[str, Any]) -> tuple[str, float | None, float | None]:
    loc = inc.get("location") or {}
    text = loc.get("text") or inc.get("location_text") or ""
    lat = loc.get("lat", inc.get("lat"))
    lon = loc.get("lon", inc.get("lon"))
    if isinstance(lat, int | float) and isinstance(lon, int | float):
        return str(text), float(lat), float(lon)
    return str(text), None, None


def day_bounds(date: dt.date, tz: str) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a local calendar day, as aware UTC datetimes."""
    zone = ZoneInfo(tz)
    start = dt.datetime.combine(date, dt.time(0), zone)
    end = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(0), zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def haversine_matrix(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Pairwise great-circle distances in metres."""
    p, lam = np.radians(lat), np.radians(lon)
    dp = p[:, None] - p[None, :]
    dl = lam[:, None] - lam[None, :]
    a = np.sin(dp / 2) ** 2 + np.cos(p)[:, None] * np.cos(p)[None, :] * np.sin(dl / 2) ** 2
    return 2 * EARTH_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def dbscan(lat: Sequence[float], lon: Sequence[float], *, eps_m: float, min_points: int) -> list[int]:
    """DBSCAN cluster labels (-1 = noise) with great-circle distance; core points need ``min_points``
    neighbours within ``eps_m`` counting themselves."""
    n = len(lat)
    if n == 0:
        return []
    if n > MAX_HOTSPOT_POINTS:
        raise ValueError(f"{n} points is more than the {MAX_HOTSPOT_POINTS} hotspot analysis accepts")
    dist = haversine_matrix(np.asarray(lat, float), np.asarray(lon, float))
    neighbours = [np.flatnonzero(row <= eps_m) for row in dist]
    core = np.array([len(nb) >= min_points for nb in neighbours])
    labels = [-1] * n
    cluster = 0
    for i in range(n):
        if labels[i] != -1 or not core[i]:
            continue
        labels[i] = cluster
        stack = [i]
        while stack:
            j = stack.pop()
            if not core[j]:
                continue
            for k in neighbours[j]:
                if labels[k] == -1:
                    labels[k] = cluster
                    stack.append(int(k))
        cluster += 1
    return labels


def hotspots(incidents: Sequence[Mapping[str, Any]], params: AnalysisParams,
             rules: RuleSet | None = None) -> list[dict[str, Any]]:
    """Dense clusters of incidents, biggest first, each with its centre, radius and categories."""
    pts: list[tuple[Mapping[str, Any], float, float]] = []
    for inc in incidents:
        _text, la, lo = _loc(inc)
        if la is not None and lo is not None:
            pts.append((inc, la, lo))
    labels = dbscan([p[1] for p in pts], [p[2] for p in pts], eps_m=params.hotspot_radius_m,
                    min_points=params.hotspot_min_points)
    groups: dict[int, list[tuple[Mapping[str, Any], float, float]]] = defaultdict(list)
    for label, p in zip(labels, pts, strict=True):
        if label >= 0:
            groups[label].append(p)
    out: list[dict[str, Any]] = []
    for members in groups.values():
        lat = sum(m[1] for m in members) / len(members)
        lon = sum(m[2] for m in members) / len(members)
        radius = max(_meters(lat, lon, m[1], m[2]) for m in members)
        cats = Counter(str(m[0].get("category") or "unscored") for m in members)
        out.append({"label": nearest_place(lat, lon, rules) or f"{lat:.4f},{lon:.4f}",
                    "count": len(members), "lat": round(lat, 6), "lon": round(lon, 6),
                    "radius_m": round(radius), "top_category": cats.most_common(1)[0][0],
                    "categories": dict(cats.most_common())})
    out.sort(key=lambda h: -h["count"])
    return out


def _meters(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_M * math.asin(min(1.0, math.sqrt(a)))


def nearest_place(lat: float, lon: float, rules: RuleSet | None = None, kinds: Iterable[str] = AREA_KINDS,
                  max_m: float = AREA_MAX_M) -> str | None:
    """Name of the nearest gazetteer area (village, estate, neighbourhood) within ``max_m``."""
    rs = rules or default_rules()
    kinds = tuple(kinds)
    best, best_d = None, max_m
    for place in rs.gazetteer.places:
        if place.kind in kinds:
            d = _meters(lat, lon, place.lat, place.lon)
            if d <= best_d:
                best, best_d = place.name, d
    return best


def spikes(today: Mapping[str, int], history: Sequence[Mapping[str, int]],
           params: AnalysisParams) -> list[dict[str, Any]]:
    """Counts well above their rolling baseline: z = (today - mean) / max(std, 1).

    ``history`` holds one {key: count} per baseline day (missing keys count 0). The std floor of 1
    stops a quiet category (mean 0, std 0) from turning one report into an infinite z.
    """
    keys = set(today) | {k for day in history for k in day}
    out: list[dict[str, Any]] = []
    for key in sorted(keys):
        series = [float(day.get(key, 0)) for day in history]
        count = int(today.get(key, 0))
        if not series:
            continue
        mean = statistics.fmean(series)
        std = statistics.pstdev(series) if len(series) > 1 else 0.0
        z = (count - mean) / max(std, 1.0)
        if z >= params.spike_z and count >= params.spike_min_count:
            out.append({"key": key, "count": count, "baseline_mean": round(mean, 2), "baseline_std": round(std, 2),
                        "z": round(z, 2)})
    out.sort(key=lambda s: -s["z"])
    return out


def _place_key(inc: Mapping[str, Any], rules: RuleSet) -> str | None:
    text, lat, lon = _loc(inc)
    facts = ((inc.get("facts") or {}).get("location") or {}) if isinstance(inc.get("facts"), dict) else {}
    # The gazetteer's canonical name first, so "Futian Port" and "福田口岸" count as one place.
    if facts.get("name") and facts.get("kind") not in ("district", "city"):
        return str(facts["name"])
    if text:
        place = rules.gazetteer.get(text.strip())
        return place.name if place else text.strip()
    if facts.get("text"):
        return str(facts["text"])
    if lat is not None and lon is not None:
        # ~100 m grid cell when no words name the place
        return f"{round(lat, 3):.3f},{round(lon, 3):.3f}"
    return None


def repeat_locations(window: Sequence[Mapping[str, Any]], today: Sequence[Mapping[str, Any]],
                     params: AnalysisParams, rules: RuleSet | None = None) -> list[dict[str, Any]]:
    """Places named in at least ``repeat_location_min`` incidents over the baseline window and today,
    with at least one of them today."""
    rs = rules or default_rules()
    today_ids = {inc.get("id") for inc in today}
    groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for inc in list(window) + [i for i in today if i.get("id") not in {w.get("id") for w in window}]:
        key = _place_key(inc, rs)
        if key:
            groups[key].append(inc)
    out: list[dict[str, Any]] = []
    for key, members in groups.items():
        if len(members) < params.repeat_location_min or not any(m.get("id") in today_ids for m in members):
            continue
        days = sorted({_when(m).astimezone(ZoneInfo(params.tz)).date().isoformat() for m in members})
        cats = Counter(str(m.get("category") or "unscored") for m in members)
        out.append({"location": key, "count": len(members), "days": len(days), "last": days[-1],
                    "categories": dict(cats.most_common())})
    out.sort(key=lambda r: (-int(r["count"]), str(r["location"])))
    return out[:20]


def daily_brief(date: dt.date, incidents: Sequence[Mapping[str, Any]], params: AnalysisParams,
                rules: RuleSet | None = None, *, generated_at: dt.datetime | None = None) -> dict[str, Any]:
    """The brief for one local day. ``incidents`` may span the baseline window before ``date`` too;
    they are split here."""
    zone = ZoneInfo(params.tz)
    start, end = day_bounds(date, params.tz)
    base_start = start - dt.timedelta(days=params.baseline_days)
    today = [i for i in incidents if start <= _when(i) < end]
    window = [i for i in incidents if base_start <= _when(i) < start]
    rs = rules or default_rules()

    by_hour = [0] * 24
    for inc in today:
        by_hour[_when(inc).astimezone(zone).hour] += 1
    by_area: Counter[str] = Counter()
    for inc in today:
        _t, lat, lon = _loc(inc)
        area = nearest_place(lat, lon, rs) if lat is not None and lon is not None else None
        by_area[area or "unknown"] += 1

    def counts(items: Iterable[Mapping[str, Any]], key: str) -> Counter[str]:
        return Counter(str(i.get(key) or "unscored") for i in items)

    history_cat: list[Counter[str]] = [Counter() for _ in range(params.baseline_days)]
    for inc in window:
        idx = (_when(inc) - base_start).days
        if 0 <= idx < params.baseline_days:
            history_cat[idx][str(inc.get("category") or "unscored")] += 1
            history_cat[idx]["(all)"] += 1
    today_cat = counts(today, "category")
    today_cat["(all)"] = len(today)
    # Only a full window makes a fair baseline; a fresh install reports no spikes rather than false ones.
    have_history = bool(window) and (start - min(_when(i) for i in window)).days >= params.baseline_days // 2
    spike_list = spikes(today_cat, history_cat, params) if have_history else []
    return {
        "date": date.isoformat(),
        "timezone": params.tz,
        "generated_at": (generated_at or dt.datetime.now(dt.UTC)).isoformat().replace("+00:00", "Z"),
        "total": len(today),
        "p1": sum(1 for i in today if i.get("level") == "P1"),
        "by_level": dict(sorted(counts(today, "level").items())),
        "by_category": dict(counts(today, "category").most_common()),
        "by_area": dict(by_area.most_common()),
        "by_source": dict(counts(today, "source").most_common()),
        "by_hour": by_hour,
        "hotspots": hotspots(today, params, rs),
        "spikes": spike_list,
        "repeat_locations": repeat_locations(window, today, params, rs),
        "baseline": {"days": params.baseline_days, "incidents": len(window), "complete": have_history},
    }
