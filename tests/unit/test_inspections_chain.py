"""The inspection chain: every step, who may take it, what it must carry, and what is kept."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cases.errors import Conflict, Forbidden, IllegalTransition, InvalidInput
from inspections.access import Viewer
from inspections.chain import (
    ACTIONS,
    OPEN_STATES,
    STATES,
    WAITING_FOR,
    Inspection,
    apply,
    incident_draft,
    submit,
)
from inspections.rules import load_checklist

T0 = dt.datetime(2026, 3, 1, 9, 0, 0, tzinfo=dt.UTC)
CHECKLIST = load_checklist()
BUILDING = {"id": "B1", "manager_id": "mgr-li", "grid_id": "G1", "address": "福华一路 88 号", "name": "福华大厦",
            "lat": 22.5367, "lon": 114.0557}
MANAGER = Viewer("mgr-li", "building_manager")
OTHER_MANAGER = Viewer("mgr-wang", "building_manager")
GRID = Viewer("gw-1", "grid_worker", frozenset({"G1"}))
OTHER_GRID = Viewer("gw-2", "grid_worker", frozenset({"G2"}))
FIRE_OFFICE = Viewer("fo-1", "fire_office")
FIRE_POLICE = Viewer("fp-1", "fire_police")
ADMIN = Viewer("root", "admin")
PHOTO = {"sha256": "a" * 64, "size": 123456, "name": "stairs.jpg"}


def self_check(hazard: str | None = None, **over: Any) -> dict[str, Any]:
    answers = [{"item": c.id, "result": "ok"} for c in CHECKLIST]
    if hazard:
        for a in answers:
            if a["item"] == hazard:
                a.update(result="hazard", note="楼道停放电动车 3 辆", photos=[PHOTO["sha256"]])
    body = {"answers": answers, "photos": [PHOTO], "note": "三月自查"}
    body.update(over)
    return body


def submitted(hazard: str | None = None) -> Inspection:
    return submit(self_check(hazard), inspection_id="I1", building=BUILDING, viewer=MANAGER, checklist=CHECKLIST,
                  now=T0, open_inspection=None)


def at(hours: int) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def test_the_whole_chain_with_a_return_and_an_escalation() -> None:
    i = submitted("ebike_charging")
    assert i.state == "submitted" and i.waiting_for == "grid_worker" and i.current.hazards[0].item == "ebike_charging"
    i = apply(i, "return", {"reasons": ["照片看不清楼道"]}, viewer=GRID, building=BUILDING, now=at(1))
    assert i.state == "returned" and i.state_since == at(1)
    i = apply(i, "resubmit", self_check("ebike_charging", photos=[PHOTO, {**PHOTO, "sha256": "b" * 64}]),
              viewer=MANAGER, building=BUILDING, now=at(2), checklist=CHECKLIST)
    assert i.round == 2 and len(i.self_checks) == 2 and i.self_checks[0].round == 1
    i = apply(i, "accept", {}, viewer=GRID, building=BUILDING, now=at(3))
    i = apply(i, "escalate", {"hazard": "电动车楼道充电，屡改屡犯", "severity": "major"}, viewer=FIRE_OFFICE,
              building=BUILDING, now=at(4))
    assert i.state == "escalated" and i.escalation is not None and i.escalation.severity == "major"
    i = apply(i, "link_incident", {"incident_id": "INC-20260301-0042"}, viewer=FIRE_POLICE, building=BUILDING,
              now=at(5))
    assert i.state == "escalated" and i.state_since == at(4) and i.incident_id == "INC-20260301-0042"
    i = apply(i, "resolve", {"result": "责令当场清理，下达整改通知书", "measures": ["rectified_on_site",
                                                                       "rectification_order"]},
              viewer=FIRE_POLICE, building=BUILDING, now=at(6))
    assert i.state == "closed" and i.waiting_for is None and i.result is not None
    assert [d.action for d in i.decisions] == ["submit", "return", "resubmit", "accept", "escalate", "link_incident",
                                               "resolve"]
    assert [d.seq for d in i.decisions] == list(range(1, 8))
    audit = i.decisions[4].audit_kwargs(i.id)
    assert audit["action"] == "inspection.escalate" and audit["target"] == "inspection:I1"
    assert audit["before"] == {"state": "grid_accepted"}
    assert audit["after"]["state"] == "escalated" and audit["after"]["role"] == "fire_office"
    assert i.to_dict()["actions"] == [] and i.to_dict()["self_checks"][1]["submitted_at"] == "2026-03-01T11:00:00Z"


def test_decisions_carry_the_photo_hashes() -> None:
    i = submitted()
    assert i.decisions[0].details["photos"] == [PHOTO["sha256"]]


@pytest.mark.parametrize(("viewer", "why"), [
    (OTHER_MANAGER, "not one of yours"), (GRID, "for building_manager"), (ADMIN, "for building_manager"),
    (FIRE_OFFICE, "for building_manager"),
])
def test_only_the_buildings_manager_submits(viewer: Viewer, why: str) -> None:
    with pytest.raises(Forbidden, match=why):
        submit(self_check(), inspection_id="I1", building=BUILDING, viewer=viewer, checklist=CHECKLIST, now=T0,
               open_inspection=None)


def test_one_inspection_in_progress_per_building() -> None:
    with pytest.raises(Conflict, match="already has an inspection in progress"):
        submit(self_check(), inspection_id="I2", building=BUILDING, viewer=MANAGER, checklist=CHECKLIST, now=T0,
               open_inspection=submitted())


@pytest.mark.parametrize(("over", "field"), [
    ({"photos": []}, "photos"), ({"photos": [{**PHOTO, "sha256": "zz"}]}, "photos[0].sha256"),
    ({"photos": [PHOTO, PHOTO]}, "photos[1]"), ({"photos": [{**PHOTO, "size": 0}]}, "photos[0].size"),
    ({"answers": []}, "answers"), ({"answers": "all ok"}, "answers"),
    ({"extra": 1}, "extra"),
])
def test_self_check_refusals_name_the_field(over: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        submit(self_check(**over), inspection_id="I1", building=BUILDING, viewer=MANAGER, checklist=CHECKLIST, now=T0,
               open_inspection=None)
    assert err.value.details["field"] == field


def test_every_item_must_be_answered_and_a_hazard_needs_a_note() -> None:
    body = self_check()
    body["answers"] = body["answers"][1:]
    with pytest.raises(InvalidInput) as err:
        submit(body, inspection_id="I1", building=BUILDING, viewer=MANAGER, checklist=CHECKLIST, now=T0,
               open_inspection=None)
    assert err.value.details["missing"] == [CHECKLIST[0].id]
    body = self_check()
    body["answers"][0]["result"] = "hazard"
    with pytest.raises(InvalidInput) as err:
        submit(body, inspection_id="I1", building=BUILDING, viewer=MANAGER, checklist=CHECKLIST, now=T0,
               open_inspection=None)
    assert err.value.details["field"] == "answers[0].note"
    body = self_check()
    body["answers"][0]["photos"] = ["c" * 64]
    with pytest.raises(InvalidInput, match="not in photos"):
        submit(body, inspection_id="I1", building=BUILDING, viewer=MANAGER, checklist=CHECKLIST, now=T0,
               open_inspection=None)


def test_grid_worker_of_another_grid_cannot_act() -> None:
    with pytest.raises(Forbidden, match="not one of yours"):
        apply(submitted(), "accept", {}, viewer=OTHER_GRID, building=BUILDING, now=at(1))


def test_steps_out_of_turn_are_refused_with_what_is_allowed() -> None:
    with pytest.raises(IllegalTransition) as err:
        apply(submitted(), "escalate", {"hazard": "x", "severity": "major"}, viewer=FIRE_OFFICE, building=BUILDING,
              now=at(1))
    assert err.value.details["allowed"] == ["accept", "return"]
    with pytest.raises(Forbidden, match="for admin or grid_worker"):
        apply(submitted(), "accept", {}, viewer=FIRE_OFFICE, building=BUILDING, now=at(1))
    with pytest.raises(InvalidInput, match="action must be one of"):
        apply(submitted(), "delete", {}, viewer=ADMIN, building=BUILDING, now=at(1))


def test_admin_may_cover_review_steps() -> None:
    i = apply(submitted(), "accept", None, viewer=ADMIN, building=BUILDING, now=at(1))
    assert i.state == "grid_accepted" and i.decisions[-1].role == "admin"


def test_return_needs_reasons_and_escalation_needs_hazard_and_severity() -> None:
    with pytest.raises(InvalidInput, match="reasons is required"):
        apply(submitted(), "return", {"note": "不行"}, viewer=GRID, building=BUILDING, now=at(1))
    accepted = apply(submitted(), "accept", {}, viewer=GRID, building=BUILDING, now=at(1))
    with pytest.raises(InvalidInput) as err:
        apply(accepted, "escalate", {"hazard": "x", "severity": "huge"}, viewer=FIRE_OFFICE, building=BUILDING,
              now=at(2))
    assert "general, major" in err.value.message


def test_closing_over_reported_hazards_needs_a_note() -> None:
    accepted = apply(submitted("ebike_charging"), "accept", {}, viewer=GRID, building=BUILDING, now=at(1))
    with pytest.raises(InvalidInput, match="ebike_charging"):
        apply(accepted, "close", {}, viewer=FIRE_OFFICE, building=BUILDING, now=at(2))
    closed = apply(accepted, "close", {"note": "已现场清理，复查合格"}, viewer=FIRE_OFFICE, building=BUILDING,
                   now=at(2))
    assert closed.state == "closed"
    plain = apply(submitted(), "accept", {}, viewer=GRID, building=BUILDING, now=at(1))
    assert apply(plain, "close", {}, viewer=FIRE_OFFICE, building=BUILDING, now=at(2)).state == "closed"


def test_incident_link_only_once_and_draft_only_when_escalated() -> None:
    with pytest.raises(Conflict):
        incident_draft(submitted(), BUILDING)
    i = apply(apply(submitted(), "accept", {}, viewer=GRID, building=BUILDING, now=at(1)), "escalate",
              {"hazard": "消防通道被占", "severity": "general"}, viewer=FIRE_OFFICE, building=BUILDING, now=at(2))
    draft = incident_draft(i, BUILDING)
    assert draft["category"] == "hazard" and draft["lat"] == 22.5367 and "消防通道被占" in draft["text"]
    i = apply(i, "link_incident", {"incident_id": "INC-1"}, viewer=FIRE_POLICE, building=BUILDING, now=at(3))
    with pytest.raises(Conflict, match="already linked"):
        apply(i, "link_incident", {"incident_id": "INC-2"}, viewer=FIRE_POLICE, building=BUILDING, now=at(4))


def test_inspection_of_another_building_is_refused() -> None:
    with pytest.raises(Conflict, match="not B2"):
        apply(submitted(), "accept", {}, viewer=ADMIN, building={**BUILDING, "id": "B2"}, now=at(1))


def test_tables_are_consistent() -> None:
    for (state, _action), (to, roles) in ACTIONS.items():
        assert state in STATES and to in STATES and roles
    assert set(WAITING_FOR) == set(OPEN_STATES)
    for state in OPEN_STATES:  # whoever an open state waits for can act in it
        assert any(WAITING_FOR[state] in roles for (s, _), (_, roles) in ACTIONS.items() if s == state)
    assert not [a for (s, a) in ACTIONS if s == "closed"]


VIEWERS = [MANAGER, OTHER_MANAGER, GRID, OTHER_GRID, FIRE_OFFICE, FIRE_POLICE, ADMIN]
BODIES = {"accept": {}, "return": {"reasons": ["r"]}, "resubmit": self_check(), "close": {"note": "n"},
          "escalate": {"hazard": "h", "severity": "general"}, "link_incident": {"incident_id": "INC-9"},
          "resolve": {"result": "done"}}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(sorted(BODIES)), st.sampled_from(VIEWERS)), max_size=20))
def test_property_only_allowed_roles_move_it_and_nothing_is_lost(steps: list[tuple[str, Viewer]]) -> None:
    i = submitted()
    for n, (action, viewer) in enumerate(steps, start=1):
        before = i
        try:
            i = apply(i, action, BODIES[action], viewer=viewer, building=BUILDING, now=at(n), checklist=CHECKLIST)
        except (Forbidden, IllegalTransition, Conflict):
            assert i is before
            continue
        to, roles = ACTIONS[(before.state, action)]
        assert i.state == to and viewer.role in roles
        assert i.decisions[: len(before.decisions)] == before.decisions
        assert len(i.decisions) == len(before.decisions) + 1
        assert i.self_checks[: len(before.self_checks)] == before.self_checks


def test_every_pair_of_state_and_action_is_either_in_the_table_or_refused() -> None:
    for state, action in itertools.product(OPEN_STATES, BODIES):
        i = Inspection("I1", "B1", state, T0, submitted().self_checks)
        if (state, action) not in ACTIONS:
            with pytest.raises(IllegalTransition):
                apply(i, action, BODIES[action], viewer=ADMIN, building=BUILDING, now=at(1), checklist=CHECKLIST)


def test_a_self_check_without_a_checklist_is_a_programming_error() -> None:
    i = apply(submitted(), "return", {"reasons": ["r"]}, viewer=GRID, building=BUILDING, now=at(1))
    with pytest.raises(ValueError, match="load_checklist"):
        apply(i, "resubmit", self_check(), viewer=MANAGER, building=BUILDING, now=at(2))
