"""Building records: registration checks, corrections, and who sees which building."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cases.errors import InvalidInput
from inspections.access import INSPECTION_ROLES, Viewer, can_see_building, visible
from inspections.buildings import building_from_body, corrected

NOW = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def body(**over: Any) -> dict[str, Any]:
    b: dict[str, Any] = {"name": "福华大厦", "address": "深圳市福田区福华一路 88 号", "lat": 22.5367, "lon": 114.0557,
                         "building_type": "office", "floors_above": 32, "floors_below": 3, "grid_id": "FT-FTJD-07",
                         "manager": {"id": "mgr-li", "name": "李明", "phone": "+86 138-0000-0000"}}
    b.update(over)
    return b


def test_registration_keeps_every_field() -> None:
    b = building_from_body(body(), building_id="B1", now=NOW)
    assert (b.manager_id, b.grid_id, b.floors_above, b.floors_below, b.version) == ("mgr-li", "FT-FTJD-07", 32, 3, 1)
    assert b.to_dict()["created_at"] == "2026-03-01T00:00:00Z"


@pytest.mark.parametrize(("over", "field"), [
    ({"address": " "}, "address"), ({"lat": None}, "lat"), ({"lat": 91}, "building.lat"),
    ({"building_type": "castle"}, "building_type"), ({"floors_above": 0}, "floors_above"),
    ({"floors_above": 3.5}, "floors_above"), ({"floors_below": 21}, "floors_below"),
    ({"grid_id": "网格 7"}, "grid_id"), ({"manager": {"id": "m", "name": "n"}}, "manager.phone"),
    ({"manager": {"id": "m", "name": "n", "phone": "call me"}}, "manager.phone"),
    ({"manager": {"id": "m", "name": "n", "phone": "123456", "email": "x"}}, "email"),
    ({"owner": "x"}, "owner"), ({"manager": "李明"}, "manager"),
])
def test_refusals_name_the_field(over: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        building_from_body(body(**over), building_id="B1", now=NOW)
    assert err.value.details["field"] == field


def test_building_type_error_lists_the_types() -> None:
    with pytest.raises(InvalidInput) as err:
        building_from_body(body(building_type="castle"), building_id="B1", now=NOW)
    assert "urban_village" in err.value.message


def test_correction_is_a_new_version_naming_what_changed() -> None:
    b = building_from_body(body(), building_id="B1", now=NOW)
    new_manager = {"id": "mgr-wang", "name": "王芳", "phone": "0755-1234567"}
    new, changed = corrected(b, body(floors_above=33, manager=new_manager))
    assert new.version == 2 and set(changed) == {"floors_above", "manager_id", "manager_name", "manager_phone"}
    assert new.created_at == b.created_at and new.id == "B1"
    with pytest.raises(InvalidInput, match="changes nothing"):
        corrected(b, body())


BUILDINGS = [{"id": "B1", "manager_id": "mgr-li", "grid_id": "G1"},
             {"id": "B2", "manager_id": "mgr-wang", "grid_id": "G1"},
             {"id": "B3", "manager_id": "mgr-li", "grid_id": "G2"},
             {"id": "B4", "manager_id": "mgr-zhao", "grid_id": "G3"}]


@pytest.mark.parametrize(("viewer", "ids"), [
    (Viewer("mgr-li", "building_manager"), ["B1", "B3"]),
    (Viewer("mgr-wang", "building_manager"), ["B2"]),
    (Viewer("nobody", "building_manager"), []),
    (Viewer("gw-1", "grid_worker", frozenset({"G1"})), ["B1", "B2"]),
    (Viewer("gw-2", "grid_worker", frozenset({"G2", "G3"})), ["B3", "B4"]),
    (Viewer("gw-3", "grid_worker"), []),
    (Viewer("fo", "fire_office"), ["B1", "B2", "B3", "B4"]),
    (Viewer("fp", "fire_police"), ["B1", "B2", "B3", "B4"]),
    (Viewer("root", "admin"), ["B1", "B2", "B3", "B4"]),
    (Viewer("d", "dispatcher"), []),
    (Viewer("unit:P1", "officer"), []),
    (Viewer("", "building_manager"), []),
])
def test_each_role_sees_only_its_own_buildings(viewer: Viewer, ids: list[str]) -> None:
    assert [b["id"] for b in visible(viewer, BUILDINGS)] == ids


def test_manager_with_an_empty_subject_never_matches_a_building_without_manager() -> None:
    assert not can_see_building(Viewer("", "building_manager"), {"id": "B9", "manager_id": ""})


@given(role=st.sampled_from([*INSPECTION_ROLES, "dispatcher", "officer", "kiosk"]), subject=st.text(max_size=6),
       grids=st.frozensets(st.sampled_from(["G1", "G2", "G3", "G4"])))
def test_property_visibility_follows_manager_and_grid(role: str, subject: str, grids: frozenset[str]) -> None:
    v = Viewer(subject, role, grids)
    for b in BUILDINGS:
        seen = can_see_building(v, b)
        if role == "building_manager":
            assert seen == (b["manager_id"] == subject)
        elif role == "grid_worker":
            assert seen == (b["grid_id"] in grids)
        else:
            assert seen == (role in ("fire_office", "fire_police", "admin"))
