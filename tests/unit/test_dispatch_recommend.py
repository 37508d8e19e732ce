"""Recommendation ranking: capabilities first, then fresh location, then straight-line distance."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dispatch.recommend import haversine_m, load_table, rank_units

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
TABLE = load_table()
INCIDENT = {"category": "violent_crime", "lat": 22.5405, "lon": 114.0601}


def unit(uid: str, lat: float | None, lon: float | None, *, caps: tuple[str, ...] = ("patrol", "armed"),
         status: str = "available", age_min: float = 1) -> dict[str, object]:
    return {"id": uid, "callsign": uid.upper(), "status": status, "capabilities": list(caps), "lat": lat,
            "lon": lon, "location_at": NOW - dt.timedelta(minutes=age_min)}


def test_haversine_matches_a_known_distance() -> None:
    # One degree of latitude is about 111.2 km everywhere.
    assert haversine_m(22.0, 114.0, 23.0, 114.0) == pytest.approx(111_195, rel=1e-3)
    assert haversine_m(22.5, 114.0, 22.5, 114.0) == 0


def test_ranking_prefers_capable_then_fresh_then_near() -> None:
    units = [
        unit("near_unarmed", 22.5406, 114.0602, caps=("patrol",)),
        unit("far_armed", 22.60, 114.10),
        unit("mid_armed", 22.55, 114.07),
        unit("near_stale", 22.5405, 114.0601, age_min=45),
        unit("busy", 22.5405, 114.0601, status="on_scene"),
    ]
    ranked, excluded = rank_units(INCIDENT, units, TABLE, now=NOW, stale_after_s=1800)
    assert [r.unit_id for r in ranked] == ["mid_armed", "far_armed", "near_stale", "near_unarmed"]
    assert [r.rank for r in ranked] == [1, 2, 3, 4]
    assert ranked[0].distance_m is not None and ranked[0].distance_m < ranked[1].distance_m  # type: ignore[operator]
    assert any("stale" in reason for reason in ranked[2].reasons)
    assert ranked[3].missing_capabilities == ["armed"]
    assert any("lacks required capabilities: armed" in reason for reason in ranked[3].reasons)
    assert excluded == [{"unit_id": "busy", "callsign": "BUSY", "reason": "status is on_scene, not available"}]


def test_tried_units_are_excluded_with_a_reason() -> None:
    ranked, excluded = rank_units(INCIDENT, [unit("a", 22.54, 114.06), unit("b", 22.55, 114.07)], TABLE,
                                  now=NOW, stale_after_s=1800, exclude=frozenset({"a"}))
    assert [r.unit_id for r in ranked] == ["b"]
    assert excluded[0]["unit_id"] == "a" and "already offered" in excluded[0]["reason"]


def test_incident_without_coordinates_ranks_by_capability_and_says_so() -> None:
    ranked, _ = rank_units({"category": "theft", "lat": None, "lon": None},
                           [unit("b", 22.6, 114.1), unit("a", 22.5, 114.0, caps=())], TABLE,
                           now=NOW, stale_after_s=1800)
    assert [r.unit_id for r in ranked] == ["b", "a"]
    assert all(r.distance_m is None for r in ranked)
    assert "incident has no coordinates: distance not ranked" in ranked[0].reasons


def test_unit_without_location_counts_as_stale() -> None:
    ranked, _ = rank_units(INCIDENT, [unit("nowhere", None, None), unit("far", 22.7, 114.2)], TABLE,
                           now=NOW, stale_after_s=1800)
    assert [r.unit_id for r in ranked] == ["far", "nowhere"]
    assert "no known location" in ranked[1].reasons


def test_table_is_editable_and_validated(tmp_path: Path) -> None:
    good = tmp_path / "caps.yaml"
    good.write_text("categories:\n  fraud: [cyber]\ncapabilities: [cyber]\nunit_types: {car: PatrolUnit}\n")
    table = load_table(good)
    assert table.required("fraud") == ("cyber",)
    assert table.required("unknown-category") == ()
    bad = tmp_path / "bad.yaml"
    bad.write_text("categories:\n  fraud: [laser]\ncapabilities: [cyber]\n")
    with pytest.raises(ValueError, match="unknown capabilities"):
        load_table(bad)
    with pytest.raises(ValueError, match="cannot read"):
        load_table(tmp_path / "missing.yaml")
