"""Building records (一栋楼一档案): the checks on a registration or a correction.

A building is never deleted; a correction returns the new record and the list of changed fields, for
the store to keep as a version and the audit to record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from cases import fields
from cases.errors import InvalidInput

BUILDING_TYPES: Mapping[str, Mapping[str, str]] = {
    "residential": {"zh": "住宅", "en": "residential"},
    "urban_village": {"zh": "城中村自建房", "en": "urban-village self-built"},
    "commercial": {"zh": "商业", "en": "commercial"},
    "office": {"zh": "办公", "en": "office"},
    "mixed": {"zh": "商住混合", "en": "mixed use"},
    "industrial": {"zh": "厂房", "en": "industrial"},
    "warehouse": {"zh": "仓储", "en": "warehouse"},
    "public": {"zh": "公共建筑(学校、医院等)", "en": "public (school, hospital...)"},
    "other": {"zh": "其他", "en": "other"},
}
MAX_FLOORS_ABOVE = 200
MAX_FLOORS_BELOW = 20
_KEYS = ("name", "building_code", "address", "lat", "lon", "building_type", "floors_above", "floors_below",
         "grid_id", "manager")
_MANAGER_KEYS = ("id", "name", "phone")


@dataclass(frozen=True)
class Building:
    id: str
    address: str
    lat: float
    lon: float
    building_type: str
    floors_above: int
    floors_below: int
    grid_id: str
    manager_id: str         # the building manager's account (token subject)
    manager_name: str
    manager_phone: str
    created_at: dt.datetime
    name: str | None = None
    building_code: str | None = None  # the district's building code (楼栋编码), when it has one
    version: int = 1

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["created_at"] = fields.iso(self.created_at)
        return out


def _phone(value: Any) -> str:
    phone = fields.required_text(value, "manager.phone", 32)
    if not all(c.isdigit() or c in "+-() " for c in phone) or sum(c.isdigit() for c in phone) < 5:
        raise InvalidInput(f"manager.phone must be a telephone number (digits, + - ( ) and spaces), got {phone!r}",
                           field="manager.phone")
    return phone


def _fields(body: Mapping[str, Any]) -> dict[str, Any]:
    manager = fields.obj(body.get("manager"), "manager")
    fields.reject_unknown(manager, _MANAGER_KEYS, "manager")
    if body.get("lat") is None or body.get("lon") is None:
        raise InvalidInput("lat and lon are required: the building's WGS 84 coordinates in degrees", field="lat")
    lat, lon = fields.coordinates(body.get("lat"), body.get("lon"), "building")
    code = body.get("building_code")
    return {
        "name": fields.text(body.get("name"), "name", 200, required=False),
        "building_code": None if code is None else fields.identifier(code, "building_code"),
        "address": fields.required_text(body.get("address"), "address", 300),
        "lat": lat, "lon": lon,
        "building_type": fields.choice(body.get("building_type"), "building_type", tuple(BUILDING_TYPES)),
        "floors_above": fields.integer(body.get("floors_above"), "floors_above", 1, MAX_FLOORS_ABOVE),
        "floors_below": fields.integer(body.get("floors_below", 0), "floors_below", 0, MAX_FLOORS_BELOW),
        "grid_id": fields.identifier(body.get("grid_id"), "grid_id"),
        "manager_id": fields.identifier(manager.get("id"), "manager.id"),
        "manager_name": fields.required_text(manager.get("name"), "manager.name", 100),
        "manager_phone": _phone(manager.get("phone")),
    }


def building_from_body(body: Any, *, building_id: str, now: dt.datetime) -> Building:
    """Check a registration: address, coordinates, type, floors, grid and manager are all required."""
    body = fields.obj(body, "body")
    fields.reject_unknown(body, _KEYS)
    return Building(id=building_id, created_at=now, **_fields(body))


def corrected(building: Building, body: Any) -> tuple[Building, list[str]]:
    """A correction: the whole record is sent again and checked again; returns it with the changed fields."""
    body = fields.obj(body, "body")
    fields.reject_unknown(body, _KEYS)
    new = _fields(body)
    changed = [k for k, v in new.items() if getattr(building, k) != v]
    if not changed:
        raise InvalidInput("this correction changes nothing", field="body")
    return replace(building, version=building.version + 1, **new), changed
