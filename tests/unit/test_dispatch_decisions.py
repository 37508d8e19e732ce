"""The decisions of dispatch (dispatch.model), checked without a database or Redis: what settles an
order, how far a unit's move carries its incident, deadlines, escalation, and input validation."""

from __future__ import annotations

import datetime as dt

import pytest

from dispatch.errors import Conflict, Forbidden, InvalidInput
from dispatch.model import (
    INCIDENT_TRANSITIONS,
    UNIT_STATUSES,
    ack_deadline,
    acknowledged_already,
    auto_dispatch_choice,
    check_capabilities,
    check_choice,
    check_coords,
    check_dispatchable,
    check_lang,
    check_merge,
    check_number,
    check_priority,
    check_shift,
    check_source,
    check_text,
    escalation_alert,
    falls_back_to_triaged,
    incident_status_after_unit_move,
    may_reoffer,
    order_state_when_incident_ends,
    order_state_when_unit_freed,
    stamps_for,
)
from dispatch.settings import DispatchSettings

NOW = dt.datetime(2026, 12, 6, 8, 0, tzinfo=dt.UTC)


# ---- what settles an order -------------------------------------------------------------------------
@pytest.mark.parametrize(("order_state", "incident_status", "expected"), [
    ("acknowledged", "closed", "completed"),
    ("offered", "closed", "withdrawn"),
    ("acknowledged", "cancelled", "withdrawn"),
    ("acknowledged", "merged", "withdrawn"),
    ("offered", "cancelled", "withdrawn"),
])
def test_an_ending_incident_completes_only_acknowledged_orders_of_a_closed_incident(
        order_state: str, incident_status: str, expected: str) -> None:
    assert order_state_when_incident_ends(order_state, incident_status) == expected


@pytest.mark.parametrize(("order_state", "before", "expected"), [
    ("acknowledged", "on_scene", "completed"),
    ("acknowledged", "en_route", "withdrawn"),
    ("offered", "on_scene", "withdrawn"),
    ("offered", "dispatched", "withdrawn"),
])
def test_a_freed_unit_completes_only_an_acknowledged_order_it_worked_on_scene(
        order_state: str, before: str, expected: str) -> None:
    assert order_state_when_unit_freed(order_state, before) == expected


# ---- how a unit's move carries its incident ---------------------------------------------------------
def test_a_unit_moving_carries_its_incident_forward_never_back() -> None:
    assert incident_status_after_unit_move("dispatched", "en_route") == "en_route"
    assert incident_status_after_unit_move("dispatched", "on_scene") == "on_scene"
    assert incident_status_after_unit_move("en_route", "on_scene") == "on_scene"
    # A second unit arriving en route does not pull an on-scene incident back.
    assert incident_status_after_unit_move("on_scene", "en_route") is None
    assert incident_status_after_unit_move("en_route", "en_route") is None
    # Only an incident already on the dispatch path moves.
    assert incident_status_after_unit_move("triaged", "on_scene") is None
    assert incident_status_after_unit_move("closed", "on_scene") is None


def test_each_timestamp_is_set_once_when_its_status_is_first_entered() -> None:
    assert stamps_for("en_route", {"en_route_at": None}, NOW) == {"en_route_at": NOW}
    assert stamps_for("en_route", {"en_route_at": NOW - dt.timedelta(minutes=5)}, NOW) == {}
    # closed, cancelled and merged all end the incident: one closed_at.
    for status in ("closed", "cancelled", "merged"):
        assert stamps_for(status, {}, NOW) == {"closed_at": NOW}
    assert stamps_for("triaged", {}, NOW) == {}


# ---- dispatch -------------------------------------------------------------------------------------------
def test_only_an_open_incident_goes_to_an_available_or_returning_unit() -> None:
    incident = {"number": "JY-20261206-00001", "status": "triaged"}
    check_dispatchable(incident, "Futian 01", "available")
    check_dispatchable(incident, "Futian 01", "returning")
    with pytest.raises(Conflict, match="unit Futian 01 is on_scene") as unit_busy:
        check_dispatchable(incident, "Futian 01", "on_scene")
    assert unit_busy.value.details == {"current": "on_scene"}
    with pytest.raises(Conflict, match="incident JY-20261206-00001 is closed; only open incidents"):
        check_dispatchable({**incident, "status": "closed"}, "Futian 01", "available")


def test_the_ack_deadline_follows_the_level_when_one_is_set() -> None:
    settings = DispatchSettings(ack_timeout_s=30.0, ack_timeout_p1_s=10.0)
    assert ack_deadline(NOW, "P1", settings) == NOW + dt.timedelta(seconds=10)
    assert ack_deadline(NOW, "P3", settings) == NOW + dt.timedelta(seconds=30)
    assert ack_deadline(NOW, None, settings) == NOW + dt.timedelta(seconds=30)  # unscored incident


def test_an_ack_that_changed_nothing_is_a_repeat_or_a_refusal_with_a_reason() -> None:
    order = {"id": "o1", "unit_id": "u1", "state": "acknowledged", "close_reason": None}
    assert acknowledged_already(order, "u1") is True
    assert acknowledged_already({**order, "state": "completed"}, None) is True
    with pytest.raises(Forbidden, match="not addressed to your unit"):
        acknowledged_already(order, "u2")
    with pytest.raises(Conflict, match=r"order o1 is expired \(not acknowledged before the deadline\)"):
        acknowledged_already({**order, "state": "expired", "close_reason": "not acknowledged before the deadline"},
                             "u1")
    with pytest.raises(Conflict, match="withdrawn \\(no reason\\)"):
        acknowledged_already({**order, "state": "withdrawn"}, "u1")


def test_auto_dispatch_takes_the_best_capable_unit_with_a_fresh_location() -> None:
    ranked = [{"unit_id": "a", "missing_capabilities": ["armed"], "stale": False},
              {"unit_id": "b", "missing_capabilities": [], "stale": True},
              {"unit_id": "c", "missing_capabilities": [], "stale": False},
              {"unit_id": "d", "missing_capabilities": [], "stale": False}]
    best = auto_dispatch_choice(ranked)
    assert best is not None and best["unit_id"] == "c"
    assert auto_dispatch_choice(ranked[:2]) is None


# ---- escalation -------------------------------------------------------------------------------------------
def test_an_expired_order_is_reoffered_while_tries_are_left_and_the_incident_is_open() -> None:
    assert may_reoffer(1, 3, "dispatched")
    assert may_reoffer(3, 3, "dispatched")
    assert not may_reoffer(4, 3, "dispatched")
    assert not may_reoffer(1, 0, "dispatched")
    assert not may_reoffer(1, 3, "closed")


def test_the_escalation_alert_is_severe_for_p1_and_p2_and_names_the_next_unit() -> None:
    assert escalation_alert("P1", "Futian 01", "JY-1", "Futian 02") == (
        "severe", "unit Futian 01 did not acknowledge incident JY-1 in time; re-offered to Futian 02",
        "Futian 01 未在时限内确认警情 JY-1，已改派 Futian 02")
    severity, message, message_zh = escalation_alert("P3", "Futian 01", "JY-1", None)
    assert severity == "moderate"
    assert message.endswith("no other unit could be offered it; dispatch by hand")
    assert message_zh.endswith("没有其他可派单位；请人工派警")
    assert escalation_alert(None, "Futian 01", "JY-1", None)[0] == "moderate"


def test_an_incident_nobody_holds_goes_back_to_triaged() -> None:
    assert falls_back_to_triaged("dispatched", has_open_order=False)
    assert falls_back_to_triaged("en_route", has_open_order=False)
    assert not falls_back_to_triaged("dispatched", has_open_order=True)
    assert not falls_back_to_triaged("on_scene", has_open_order=False)  # someone is there


# ---- validation of inputs -----------------------------------------------------------------------------------
def test_text_is_stripped_bounded_and_required_unless_optional() -> None:
    assert check_text("  fight  ", "text", max_chars=10) == "fight"
    assert check_text(None, "note", max_chars=10, required=False) == ""
    with pytest.raises(InvalidInput, match="text must be a non-empty string"):
        check_text("   ", "text", max_chars=10)
    with pytest.raises(InvalidInput, match="text is 11 characters; at most 10 are accepted"):
        check_text("x" * 11, "text", max_chars=10)


def test_numbers_and_coordinates() -> None:
    assert check_number(3, "lat", -90, 90) == 3.0
    assert check_number(None, "lat", -90, 90) is None
    with pytest.raises(InvalidInput, match="lat must be a number"):
        check_number(True, "lat", -90, 90)  # a boolean is not a number here
    with pytest.raises(InvalidInput, match="lon must be from -180 to 180, got 181"):
        check_number(181, "lon", -180, 180)
    assert check_coords(22.5, 114.0) == (22.5, 114.0)
    assert check_coords(None, None) == (None, None)
    with pytest.raises(InvalidInput, match="give both lat and lon") as half:
        check_coords(22.5, None)
    assert half.value.details == {"field": "lon"}


def test_choices_sources_languages_and_priorities() -> None:
    assert check_choice("available", UNIT_STATUSES, "status") == "available"
    with pytest.raises(InvalidInput, match="status must be one of available, dispatched"):
        check_choice("asleep", UNIT_STATUSES, "status")
    with pytest.raises(InvalidInput, match="status must be among new, triaged"):
        check_choice("asleep", INCIDENT_TRANSITIONS, "status", wording="among")
    assert check_source("kiosk", "call, radio or kiosk") == "kiosk"
    with pytest.raises(InvalidInput, match="such as call or radio, got 'Radio'"):
        check_source("Radio", "call or radio")
    assert check_lang(None) is None and check_lang("yue") == "yue"
    with pytest.raises(InvalidInput, match="lang must be a language code"):
        check_lang("")
    assert check_priority(0) == 0 and check_priority(10) == 10
    for bad in (11, -1, True, 5.0):
        with pytest.raises(InvalidInput, match="priority must be an integer from 0 to 10"):
            check_priority(bad)


def test_merge_needs_another_incident() -> None:
    check_merge("a", "closed", None)
    check_merge("a", "merged", "b")
    with pytest.raises(InvalidInput, match="merging needs 'into'"):
        check_merge("a", "merged", None)
    with pytest.raises(InvalidInput, match="cannot be merged into itself"):
        check_merge("a", "merged", "a")


def test_capabilities_are_known_sorted_and_unique_and_shifts_end_after_they_start() -> None:
    known = {"patrol", "armed", "first_aid"}
    assert check_capabilities(["patrol", "armed", "patrol"], known) == ["armed", "patrol"]
    with pytest.raises(InvalidInput, match=r"unknown capabilities \['flying'\]; known: armed, first_aid, patrol"):
        check_capabilities(["flying"], known)
    with pytest.raises(InvalidInput, match="capabilities must be a list of strings"):
        check_capabilities("patrol", known)
    check_shift(NOW, NOW + dt.timedelta(hours=8))
    check_shift(None, NOW)
    with pytest.raises(InvalidInput, match="shift_end must be after shift_start"):
        check_shift(NOW, NOW)
