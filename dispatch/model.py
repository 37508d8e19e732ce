"""States and transitions of incidents, units and orders: pure data, no I/O.

The tables here are the single definition of what may follow what; the service checks every
change against them and refuses an illegal one with :class:`~dispatch.errors.IllegalTransition`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from dispatch.errors import IllegalTransition

INCIDENT_STATES = ("new", "triaged", "dispatched", "en_route", "on_scene", "closed", "cancelled", "merged")
INCIDENT_TRANSITIONS: Mapping[str, tuple[str, ...]] = {
    "new": ("triaged", "dispatched", "cancelled", "merged", "closed"),
    # "triaged" again after dispatched: every order was withdrawn or expired with nobody to re-offer to.
    "triaged": ("dispatched", "cancelled", "merged", "closed"),
    "dispatched": ("en_route", "on_scene", "triaged", "closed", "cancelled", "merged"),
    "en_route": ("on_scene", "triaged", "closed", "cancelled"),
    "on_scene": ("closed",),
    "closed": (),
    "cancelled": (),
    "merged": (),
}
OPEN_INCIDENT_STATES = ("new", "triaged", "dispatched", "en_route", "on_scene")

UNIT_STATUSES = ("available", "dispatched", "en_route", "on_scene", "returning", "out_of_service")
UNIT_TRANSITIONS: Mapping[str, tuple[str, ...]] = {
    "available": ("dispatched", "en_route", "on_scene", "out_of_service"),
    "dispatched": ("en_route", "on_scene", "available", "out_of_service"),
    "en_route": ("on_scene", "available", "returning", "out_of_service"),
    "on_scene": ("returning", "available", "out_of_service"),
    "returning": ("available", "dispatched", "out_of_service"),
    "out_of_service": ("available",),
}
# Statuses in which a unit is busy with an order (its order stays open).
BUSY_UNIT_STATUSES = ("dispatched", "en_route", "on_scene")

ORDER_STATES = ("offered", "acknowledged", "completed", "expired", "withdrawn")
ORDER_TRANSITIONS: Mapping[str, tuple[str, ...]] = {
    "offered": ("acknowledged", "expired", "withdrawn"),
    "acknowledged": ("completed", "withdrawn"),
    "completed": (),
    "expired": (),
    "withdrawn": (),
}
OPEN_ORDER_STATES = ("offered", "acknowledged")

LEVELS = ("P1", "P2", "P3", "P4")
LEVEL_RANGES = {"P1": (8, 10), "P2": (6, 7), "P3": (3, 5), "P4": (0, 2)}


def check_transition(kind: str, table: Mapping[str, tuple[str, ...]], current: str, requested: str) -> None:
    """Raise :class:`IllegalTransition` unless ``current -> requested`` is in ``table``."""
    allowed = table.get(current, ())
    if requested not in allowed:
        raise IllegalTransition(kind, current, requested, list(allowed))


def level_for_priority(priority: int) -> str:
    """The P-level of an EIDO priority number (RUBRIC.md: P1 8-10, P2 6-7, P3 3-5, P4 0-2)."""
    for level, (lo, hi) in LEVEL_RANGES.items():
        if lo <= priority <= hi:
            return level
    raise ValueError(f"priority must be an integer from 0 to 10, got {priority!r}")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes: they were stored as UTC, so say so."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 UTC with a ``Z``, as the API promises."""
    v = as_utc(value)
    return None if v is None else v.isoformat().replace("+00:00", "Z")


def parse_time(value: str, name: str) -> dt.datetime:
    """Parse an ISO 8601 time from the API; naive means UTC."""
    from dispatch.errors import InvalidInput

    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise InvalidInput(f"{name} must be an ISO 8601 time such as 2026-01-31T08:00:00Z, got {value!r}",
                           field=name) from None
    return as_utc(parsed)  # type: ignore[return-value]
