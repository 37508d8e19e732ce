"""State machines of incidents, units and orders: every transition is checked against the tables."""

from __future__ import annotations

import itertools

import pytest

from dispatch.errors import IllegalTransition
from dispatch.model import (
    INCIDENT_STATES,
    INCIDENT_TRANSITIONS,
    ORDER_TRANSITIONS,
    UNIT_STATUSES,
    UNIT_TRANSITIONS,
    check_transition,
    level_for_priority,
)


def test_every_state_has_a_row_and_targets_are_known() -> None:
    assert set(INCIDENT_TRANSITIONS) == set(INCIDENT_STATES)
    assert set(UNIT_TRANSITIONS) == set(UNIT_STATUSES)
    for table in (INCIDENT_TRANSITIONS, UNIT_TRANSITIONS, ORDER_TRANSITIONS):
        for targets in table.values():
            assert set(targets) <= set(table)


def test_happy_path_of_an_incident_is_allowed() -> None:
    path = ["new", "triaged", "dispatched", "en_route", "on_scene", "closed"]
    for a, b in itertools.pairwise(path):
        check_transition("incident", INCIDENT_TRANSITIONS, a, b)


@pytest.mark.parametrize("final", ["closed", "cancelled", "merged"])
def test_final_states_allow_nothing(final: str) -> None:
    with pytest.raises(IllegalTransition) as err:
        check_transition("incident", INCIDENT_TRANSITIONS, final, "dispatched")
    assert f"from {final!r} to 'dispatched'" in err.value.message
    assert "final state" in err.value.message
    assert err.value.details == {"current": final, "requested": "dispatched", "allowed": []}


def test_illegal_unit_change_names_current_requested_and_allowed() -> None:
    with pytest.raises(IllegalTransition) as err:
        check_transition("unit", UNIT_TRANSITIONS, "out_of_service", "on_scene")
    assert err.value.details["current"] == "out_of_service"
    assert err.value.details["requested"] == "on_scene"
    assert err.value.details["allowed"] == ["available"]
    assert "'out_of_service' to 'on_scene'" in err.value.message


def test_on_scene_incident_cannot_go_back_to_dispatched() -> None:
    with pytest.raises(IllegalTransition):
        check_transition("incident", INCIDENT_TRANSITIONS, "on_scene", "dispatched")


@pytest.mark.parametrize(("priority", "level"), [(10, "P1"), (8, "P1"), (7, "P2"), (6, "P2"), (5, "P3"),
                                                 (3, "P3"), (2, "P4"), (0, "P4")])
def test_levels_follow_the_rubric(priority: int, level: str) -> None:
    assert level_for_priority(priority) == level


@pytest.mark.parametrize("bad", [-1, 11])
def test_priority_out_of_range_is_refused(bad: int) -> None:
    with pytest.raises(ValueError, match="0 to 10"):
        level_for_priority(bad)
