"""Who sees which building, and who may act at each step of an inspection.

A building manager sees only the buildings they manage; a grid worker only the buildings in their
grid(s); the fire office, the fire police and admins see every building. Everyone else (dispatchers,
officers, kiosks...) sees none through this module: the web layer decides whether to add them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

BUILDING_MANAGER = "building_manager"
GRID_WORKER = "grid_worker"
FIRE_OFFICE = "fire_office"
FIRE_POLICE = "fire_police"
ADMIN = "admin"
INSPECTION_ROLES = (BUILDING_MANAGER, GRID_WORKER, FIRE_OFFICE, FIRE_POLICE, ADMIN)
SEES_ALL = frozenset({FIRE_OFFICE, FIRE_POLICE, ADMIN})
LABELS: Mapping[str, Mapping[str, str]] = {
    BUILDING_MANAGER: {"zh": "楼栋管理人", "en": "building manager"},
    GRID_WORKER: {"zh": "网格员", "en": "grid worker"},
    FIRE_OFFICE: {"zh": "消防办", "en": "fire office"},
    FIRE_POLICE: {"zh": "消防监督(消防警察)", "en": "fire police"},
    ADMIN: {"zh": "管理员", "en": "admin"},
}


@dataclass(frozen=True)
class Viewer:
    """The caller as the rules need it: subject, role, and for a grid worker the grids they cover."""

    subject: str
    role: str
    grids: frozenset[str] = field(default_factory=frozenset)


def can_see_building(viewer: Viewer, building: Mapping[str, Any]) -> bool:
    """``building`` is a row or :meth:`Building.to_dict` (``manager_id``, ``grid_id``)."""
    if viewer.role in SEES_ALL:
        return True
    if viewer.role == BUILDING_MANAGER:
        return bool(viewer.subject) and building.get("manager_id") == viewer.subject
    if viewer.role == GRID_WORKER:
        return building.get("grid_id") in viewer.grids
    return False


def visible(viewer: Viewer, buildings: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The buildings ``viewer`` may see, in the order given (for list endpoints and pages)."""
    return [b for b in buildings if can_see_building(viewer, b)]
