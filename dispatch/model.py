"""The decisions of dispatch, as pure functions over plain values: no database, no Redis, no clock
unless one is passed in.

* States and transitions of incidents, units and orders. The tables here are the single definition
  of what may follow what; every change is checked against them and an illegal one is refused with
  :class:`~dispatch.errors.IllegalTransition`.
* What follows from a change: which order state settles an order when its incident ends or its unit
  is freed, how far a unit's move carries its incident, the acknowledgement deadline, whether and how
  an expired order escalates.
* Validation of what callers send, with messages that say what is accepted.

The async modules (``incidents``, ``units``, ``orders``, ``expiry``, ``alerts``) read the rows, ask
these functions, and write what they decide.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from common import times
from common.levels import LEVEL_RANGES as LEVEL_RANGES  # re-exported for the dispatch modules
from common.levels import LEVELS as LEVELS
from common.levels import level_for_priority as level_for_priority
from common.times import as_utc as as_utc  # re-exported: the dispatch modules take their time helpers from here
from dispatch.errors import Conflict, Forbidden, IllegalTransition, InvalidInput
from dispatch.settings import DispatchSettings

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



def check_transition(kind: str, table: Mapping[str, tuple[str, ...]], current: str, requested: str) -> None:
    """Raise :class:`IllegalTransition` unless ``current -> requested`` is in ``table``."""
    allowed = table.get(current, ())
    if requested not in allowed:
        raise IllegalTransition(kind, current, requested, list(allowed))


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


iso = times.iso_exact  # dispatch's published format (microseconds when there are any)


def parse_time(value: str, name: str) -> dt.datetime:
    """Parse an ISO 8601 time from the API; naive means UTC."""
    try:
        return times.parse_iso(value)
    except (ValueError, AttributeError):
        raise InvalidInput(f"{name} must be an ISO 8601 time such as 2026-01-31T08:00:00Z, got {value!r}",
                           field=name) from None


# ---- validation of inputs --------------------------------------------------------------------------
SOURCE_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


def check_text(value: Any, name: str, *, max_chars: int, required: bool = True) -> str:
    """A stripped string of at most ``max_chars``; ``""`` for a missing optional one."""
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidInput(f"{name} must be a non-empty string", field=name)
    if len(value) > max_chars:
        raise InvalidInput(f"{name} is {len(value)} characters; at most {max_chars} are accepted", field=name)
    return value.strip()


def check_number(value: Any, name: str, lo: float, hi: float) -> float | None:
    """A number in [lo, hi] as float, or None; booleans are not numbers here."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{name} must be a number from {lo:g} to {hi:g}, got {value!r}", field=name)
    if not lo <= float(value) <= hi:
        raise InvalidInput(f"{name} must be from {lo:g} to {hi:g}, got {value!r}", field=name)
    return float(value)


def check_coords(lat: Any, lon: Any) -> tuple[float | None, float | None]:
    """Both coordinates or neither."""
    la, lo = check_number(lat, "lat", -90, 90), check_number(lon, "lon", -180, 180)
    if (la is None) != (lo is None):
        raise InvalidInput("give both lat and lon, or neither", field="lat" if la is None else "lon")
    return la, lo


def check_source(source: Any, examples: str) -> str:
    """Where text came from: a short lower-case name (``examples`` go into the message)."""
    if not isinstance(source, str) or not SOURCE_RE.match(source):
        raise InvalidInput(f"source must be a short lower-case name such as {examples}, got {source!r}",
                           field="source")
    return source


def check_lang(lang: Any) -> str | None:
    if lang is not None and (not isinstance(lang, str) or not 1 <= len(lang) <= 16):
        raise InvalidInput(f"lang must be a language code such as zh, en or yue, got {lang!r}", field="lang")
    return lang


def check_choice(value: Any, choices: Iterable[str], name: str, *, wording: str = "one of") -> str:
    """``value`` if it is one of ``choices`` (a status, a unit type), else a message listing them."""
    options = list(choices)
    if value not in options:
        raise InvalidInput(f"{name} must be {wording} {', '.join(options)}, got {value!r}", field=name)
    return str(value)


def check_priority(priority: Any) -> int:
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 10:
        raise InvalidInput(f"priority must be an integer from 0 to 10, got {priority!r}", field="priority")
    return priority


def check_merge(incident_id: str, status: str, merged_into: str | None) -> None:
    """Merging needs a target that is another incident (whether it exists is the caller's read)."""
    if status != "merged":
        return
    if not merged_into:
        raise InvalidInput("merging needs 'into': the id of the incident this one duplicates", field="into")
    if merged_into == incident_id:
        raise InvalidInput("an incident cannot be merged into itself", field="into")


def check_capabilities(capabilities: Any, known: Iterable[str]) -> list[str]:
    """Known capability names, sorted and without repeats."""
    if not isinstance(capabilities, list) or not all(isinstance(c, str) for c in capabilities):
        raise InvalidInput("capabilities must be a list of strings", field="capabilities")
    known_set = set(known)
    unknown = sorted(set(capabilities) - known_set)
    if unknown:
        raise InvalidInput(f"unknown capabilities {unknown}; known: {', '.join(sorted(known_set))}",
                           field="capabilities")
    return sorted(set(capabilities))


def check_shift(shift_start: dt.datetime | None, shift_end: dt.datetime | None) -> None:
    if shift_start and shift_end and shift_end <= shift_start:
        raise InvalidInput("shift_end must be after shift_start", field="shift_end")


# ---- what follows from a change ------------------------------------------------------------------------
# The incident column stamped the first time it enters each status.
STATUS_STAMPS: Mapping[str, str] = {"dispatched": "dispatched_at", "en_route": "en_route_at",
                                    "on_scene": "on_scene_at", "closed": "closed_at", "cancelled": "closed_at",
                                    "merged": "closed_at"}
ENDED_INCIDENT_STATES = ("closed", "cancelled", "merged")
# A unit moving to the job (proof the order arrived) and a unit leaving it (its order is settled).
MOVING_UNIT_STATUSES = ("en_route", "on_scene")
FREED_UNIT_STATUSES = ("available", "returning", "out_of_service")
DISPATCHABLE_UNIT_STATUSES = ("available", "returning")
# The forward path an incident follows as its unit moves; it never goes back along it.
_INCIDENT_PROGRESS = ("dispatched", "en_route", "on_scene")


def stamps_for(status: str, row: Mapping[str, Any], now: dt.datetime) -> dict[str, dt.datetime]:
    """The timestamp column to set when an incident enters ``status``, if it was never set."""
    stamp = STATUS_STAMPS.get(status)
    return {stamp: now} if stamp and row.get(stamp) is None else {}


def order_state_when_incident_ends(order_state: str, incident_status: str) -> str:
    """Closing an incident completes an acknowledged order; anything else withdraws it."""
    return "completed" if order_state == "acknowledged" and incident_status == "closed" else "withdrawn"


def order_state_when_unit_freed(order_state: str, unit_status_before: str) -> str:
    """A unit leaving the job completes an acknowledged order it worked on scene, else withdraws it."""
    return "completed" if order_state == "acknowledged" and unit_status_before == "on_scene" else "withdrawn"


def incident_status_after_unit_move(incident_status: str, unit_status: str) -> str | None:
    """The incident status a unit's move to ``unit_status`` carries its incident to: forward only
    along dispatched -> en_route -> on_scene, None when it stays where it is."""
    if unit_status not in _INCIDENT_PROGRESS or incident_status not in _INCIDENT_PROGRESS:
        return None
    if _INCIDENT_PROGRESS.index(incident_status) < _INCIDENT_PROGRESS.index(unit_status):
        return unit_status
    return None


def check_dispatchable(incident: Mapping[str, Any], callsign: str, unit_status: str) -> None:
    """Only an open incident goes to an available or returning unit."""
    if incident["status"] not in OPEN_INCIDENT_STATES:
        raise Conflict(f"incident {incident['number']} is {incident['status']}; only open incidents "
                       f"({', '.join(OPEN_INCIDENT_STATES)}) can be dispatched", current=incident["status"])
    if unit_status not in DISPATCHABLE_UNIT_STATUSES:
        raise Conflict(f"unit {callsign} is {unit_status}; only available or returning "
                       "units can be dispatched", current=unit_status)


def ack_deadline(created: dt.datetime, level: str | None, settings: DispatchSettings) -> dt.datetime:
    """When an order offered at ``created`` for an incident of ``level`` expires unacknowledged."""
    return created + dt.timedelta(seconds=settings.ack_timeout_for(level))


def acknowledged_already(order: Mapping[str, Any], caller_unit_id: str | None) -> bool:
    """Why an acknowledgement changed nothing: True for a repeat (harmless, answered as a duplicate);
    otherwise raises: not the caller's unit, or the order was settled another way."""
    order_id = order["id"]
    if caller_unit_id is not None and order["unit_id"] != caller_unit_id:
        raise Forbidden(f"order {order_id} is not addressed to your unit; you may only acknowledge "
                        "your own unit's orders")
    if order["state"] in ("acknowledged", "completed"):
        return True
    if order["state"] in ("expired", "withdrawn"):
        raise Conflict(f"order {order_id} is {order['state']} ({order['close_reason'] or 'no reason'}); "
                       "it can no longer be acknowledged", current=order["state"])
    raise Conflict(f"order {order_id} could not be acknowledged (state {order['state']}); try again",
                   current=order["state"])


def may_reoffer(attempt: int, max_reoffers: int, incident_status: str) -> bool:
    """Whether an expired order's job is offered to another unit (an open incident, tries left)."""
    return attempt <= max_reoffers and incident_status in OPEN_INCIDENT_STATES


def escalation_alert(level: str | None, callsign: str, number: str,
                     reoffered_to: str | None) -> tuple[str, str, str]:
    """Severity and message (English, Chinese) of the alert raised when an order expires: severe for
    P1/P2."""
    severity = "severe" if level in ("P1", "P2") else "moderate"
    if reoffered_to:
        return severity, (f"unit {callsign} did not acknowledge incident {number} in time; "
                          f"re-offered to {reoffered_to}"), (
                f"{callsign} 未在时限内确认警情 {number}，已改派 {reoffered_to}")
    return severity, (f"unit {callsign} did not acknowledge incident {number} in time and no other "
                      "unit could be offered it; dispatch by hand"), (
            f"{callsign} 未在时限内确认警情 {number}，且没有其他可派单位；请人工派警")


def auto_dispatch_choice(recommendations: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The unit a P1 goes to without a dispatcher: the best ranked with every capability and a fresh
    location; None when there is none (a dispatcher must decide)."""
    return next((r for r in recommendations if not r["missing_capabilities"] and not r["stale"]), None)


def falls_back_to_triaged(incident_status: str, *, has_open_order: bool) -> bool:
    """An incident whose last order expired with nobody to re-offer it to waits for a dispatcher again."""
    return not has_open_order and incident_status in ("dispatched", "en_route")
