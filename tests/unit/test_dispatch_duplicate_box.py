"""The SQL pre-filter box of the duplicate search never drops a point within the distance limit."""

from __future__ import annotations

import math
import random

from dispatch.recommend import bounding_box, haversine_m


def _destination(lat: float, lon: float, meters: float, bearing_deg: float) -> tuple[float, float]:
    """The point ``meters`` from (lat, lon) along ``bearing_deg`` on the same sphere as haversine_m."""
    r = meters / 6_371_000.0
    p1, l1, b = math.radians(lat), math.radians(lon), math.radians(bearing_deg)
    p2 = math.asin(math.sin(p1) * math.cos(r) + math.cos(p1) * math.sin(r) * math.cos(b))
    l2 = l1 + math.atan2(math.sin(b) * math.sin(r) * math.cos(p1), math.cos(r) - math.sin(p1) * math.sin(p2))
    return math.degrees(p2), (math.degrees(l2) + 540) % 360 - 180


def _inside(box: tuple[float, float, float | None, float | None], lat: float, lon: float) -> bool:
    lat_lo, lat_hi, lon_lo, lon_hi = box
    if not lat_lo <= lat <= lat_hi:
        return False
    return lon_lo is None or (lon_hi is not None and lon_lo <= lon <= lon_hi)


def test_every_point_within_the_limit_is_inside_the_box() -> None:
    rng = random.Random(3)
    for lat in (-88.5, -60.0, -22.5, 0.0, 22.54, 45.0, 70.0, 88.9):
        for lon in (-179.999, -120.0, 0.0, 114.06, 179.999):
            for meters in (50.0, 500.0, 5000.0):
                box = bounding_box(lat, lon, meters)
                for _ in range(60):
                    d = meters * math.sqrt(rng.random())  # up to and including the limit
                    p = _destination(lat, lon, d, rng.uniform(0, 360))
                    assert haversine_m(lat, lon, *p) <= meters + 1e-6
                    assert _inside(box, *p), (lat, lon, meters, p, box)
                for bearing in range(0, 360, 15):  # exactly on the circle
                    assert _inside(box, *_destination(lat, lon, meters, bearing)), (lat, lon, meters, bearing)


def test_the_box_is_tight_enough_to_filter() -> None:
    lat_lo, lat_hi, lon_lo, lon_hi = bounding_box(22.54, 114.06, 500.0)
    assert lon_lo is not None and lon_hi is not None
    assert haversine_m(lat_lo, 114.06, lat_hi, 114.06) < 1.05 * 1000
    assert haversine_m(22.54, lon_lo, 22.54, lon_hi) < 1.05 * 1000
    # Near a pole or across the 180th meridian only latitude is filtered.
    assert bounding_box(89.5, 0.0, 500.0)[2:] == (None, None)
    assert bounding_box(0.0, 179.9999, 500.0)[2:] == (None, None)
