"""Unit recommendation: a pure ranking of available units for an incident, with reasons.

Ranking key, best first: has every capability the category requires, location fresh (newer than
the stale cutoff), straight-line (haversine) distance. Units that are not available are listed
separately as excluded, each with the reason, so a dispatcher sees why a close unit is missing.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dispatch.model import as_utc

EARTH_RADIUS_M = 6_371_008.8
DEFAULT_TABLE = Path(__file__).with_name("data") / "capabilities.yaml"


@dataclass(frozen=True)
class CapabilityTable:
    """What each incident category requires, the capability vocabulary, unit types -> EIDO types."""

    categories: Mapping[str, tuple[str, ...]]
    capabilities: frozenset[str]
    unit_types: Mapping[str, str]

    def required(self, category: str | None) -> tuple[str, ...]:
        """Capabilities the category needs; an unknown category needs what ``other`` needs."""
        if category and category in self.categories:
            return self.categories[category]
        return self.categories.get("other", ())


def load_table(path: str | Path | None = None) -> CapabilityTable:
    """Read the capability table (YAML); a broken file fails start-up with the reason."""
    source = Path(path) if path else DEFAULT_TABLE
    try:
        doc = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read capability table {source}: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("categories"), dict):
        raise ValueError(f"capability table {source} needs a 'categories' mapping of category -> list")
    caps = frozenset(str(c) for c in doc.get("capabilities") or ())
    categories: dict[str, tuple[str, ...]] = {}
    for name, needed in doc["categories"].items():
        needed = tuple(str(c) for c in (needed or ()))
        unknown = [c for c in needed if caps and c not in caps]
        if unknown:
            raise ValueError(f"capability table {source}: category {name!r} needs unknown capabilities "
                             f"{unknown}; known: {sorted(caps)}")
        categories[str(name)] = needed
    unit_types = {str(k): str(v) for k, v in (doc.get("unit_types") or {}).items()}
    return CapabilityTable(categories, caps, unit_types)


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


# Metres per degree of latitude, rounded down (the earth's radius used by haversine_m gives 111,195),
# so the box below is never smaller than the circle it stands for.
_M_PER_DEG_LAT = 111_000.0


def bounding_box(lat: float, lon: float, meters: float) -> tuple[float, float, float | None, float | None]:
    """``(lat_lo, lat_hi, lon_lo, lon_hi)`` holding every point within ``meters`` of (lat, lon).

    A slightly larger box than the circle, so a pre-filter with it never drops a point that
    :func:`haversine_m` puts within ``meters``. ``lon_lo``/``lon_hi`` are None where no longitude
    band is safe (near a pole, or a box crossing the 180th meridian): filter on latitude only there.
    """
    dlat = meters / _M_PER_DEG_LAT * 1.01
    lat_lo, lat_hi = max(-90.0, lat - dlat), min(90.0, lat + dlat)
    widest = max(abs(lat_lo), abs(lat_hi))
    if widest >= 89.0:
        return lat_lo, lat_hi, None, None
    dlon = dlat / math.cos(math.radians(widest))
    if lon - dlon < -180.0 or lon + dlon > 180.0:
        return lat_lo, lat_hi, None, None
    return lat_lo, lat_hi, lon - dlon, lon + dlon


def sort_key(missing: int, stale: bool, distance_m: float | None, callsign: str) -> tuple[int, bool, float, str]:
    """The ranking order, best first: every required capability, a fresh location, nearest, callsign.
    The one definition both :func:`rank_units` and :func:`best_ids` sort by."""
    return (missing, stale, distance_m if distance_m is not None else math.inf, callsign)


def best_ids(incident_lat: float | None, incident_lon: float | None,
             candidates: Sequence[tuple[str, str, float | None, float | None, int, bool]], limit: int) -> list[str]:
    """The ids of the ``limit`` best-ranked units, in the order :func:`rank_units` gives them, from lean
    rows ``(id, callsign, lat, lon, missing_capabilities, stale)`` of available units where ``lat``/``lon``
    are None unless the unit has a timed fix (what the dispatch path records with each order, without
    building every unit's reasons)."""
    def key(c: tuple[str, str, float | None, float | None, int, bool]) -> tuple[int, bool, float, str]:
        _uid, callsign, lat, lon, missing, stale = c
        distance = None
        if lat is not None and lon is not None and incident_lat is not None and incident_lon is not None:
            distance = haversine_m(float(incident_lat), float(incident_lon), float(lat), float(lon))
        return sort_key(int(missing), bool(stale), distance, callsign)

    return [c[0] for c in heapq.nsmallest(limit, candidates, key=key)]


@dataclass
class Recommendation:
    unit_id: str
    callsign: str
    rank: int = 0
    distance_m: float | None = None
    location_age_s: float | None = None
    missing_capabilities: list[str] = field(default_factory=list)
    stale: bool = False
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if d["distance_m"] is not None:
            d["distance_m"] = round(d["distance_m"], 1)
        if d["location_age_s"] is not None:
            d["location_age_s"] = round(d["location_age_s"], 1)
        return d


def rank_units(incident: Mapping[str, Any], units: Sequence[Mapping[str, Any]], table: CapabilityTable, *,
               now: dt.datetime, stale_after_s: float,
               exclude: frozenset[str] = frozenset()) -> tuple[list[Recommendation], list[dict[str, Any]]]:
    """Rank ``units`` for ``incident`` (keys: category, lat, lon).

    Units are mappings with id, callsign, status, capabilities, lat, lon, location_at. Returns
    (ranked available units, excluded units with a reason). ``exclude`` holds unit ids already
    tried for this incident (an expired offer is not re-offered to the same unit).
    """
    required = table.required(incident.get("category"))
    ilat, ilon = incident.get("lat"), incident.get("lon")
    ranked: list[Recommendation] = []
    excluded: list[dict[str, Any]] = []
    for unit in units:
        uid = str(unit["id"])
        if uid in exclude:
            excluded.append({"unit_id": uid, "callsign": unit["callsign"],
                             "reason": "already offered this incident and did not acknowledge"})
            continue
        if unit["status"] != "available":
            excluded.append({"unit_id": uid, "callsign": unit["callsign"],
                             "reason": f"status is {unit['status']}, not available"})
            continue
        rec = Recommendation(unit_id=uid, callsign=str(unit["callsign"]))
        have = set(unit.get("capabilities") or ())
        rec.missing_capabilities = [c for c in required if c not in have]
        if required and not rec.missing_capabilities:
            rec.reasons.append(f"has every required capability: {', '.join(required)}")
        elif rec.missing_capabilities:
            rec.reasons.append(f"lacks required capabilities: {', '.join(rec.missing_capabilities)}")
        fix = as_utc(unit.get("location_at"))
        ulat, ulon = unit.get("lat"), unit.get("lon")
        if ulat is None or ulon is None or fix is None:
            rec.stale = True
            rec.reasons.append("no known location")
        else:
            rec.location_age_s = max(0.0, (now - fix).total_seconds())
            if rec.location_age_s > stale_after_s:
                rec.stale = True
                rec.reasons.append(f"location is stale: {rec.location_age_s / 60:.0f} min old "
                                   f"(cutoff {stale_after_s / 60:.0f} min)")
            if ilat is not None and ilon is not None:
                rec.distance_m = haversine_m(float(ilat), float(ilon), float(ulat), float(ulon))
                rec.reasons.append(f"{rec.distance_m / 1000:.2f} km away (straight line)")
        if ilat is None or ilon is None:
            rec.reasons.append("incident has no coordinates: distance not ranked")
        ranked.append(rec)
    ranked.sort(key=lambda r: sort_key(len(r.missing_capabilities), r.stale, r.distance_m, r.callsign))
    for i, rec in enumerate(ranked, 1):
        rec.rank = i
    return ranked, excluded
