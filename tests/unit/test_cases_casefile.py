"""Case files: opening, corrections as chained versions, status, and the hand-over state machine."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cases.casefile import CaseFile, CaseVersion, correct, open_from_body, set_status, verify_versions
from cases.errors import Conflict, Forbidden, IllegalTransition, InvalidInput
from cases.handover import HANDOVER_STATES, HANDOVER_TRANSITIONS, ROUTES, Handover, cancel, confirm, propose, refuse
from cases.holders import Actor, Holder, parse_holder

T0 = dt.datetime(2026, 3, 2, 8, 0, 0, tzinfo=dt.UTC)
OFFICER = Actor("o-0123", "officer")
OTHER_OFFICER = Actor("o-0456", "officer")
CENTRE = Actor("centre-staff-1", "case_centre")
LEGAL = Actor("legal-1", "legal_review")
ADMIN = Actor("admin", "admin")


def opened(**over: Any) -> tuple[CaseFile, CaseVersion]:
    body = {"number": "深福公(华)立字〔2026〕123号", "incident_id": "INC-1", "title": "华强北盗窃案",
            "responsible_officer": "o-0123",
            "items": [{"kind": "evidence", "ref_id": "EV1"}, {"kind": "interview_record", "ref_id": "IV7"}]}
    body.update(over)
    return open_from_body(body, case_id="C1", created_by="o-0123", now=T0)


def test_open_starts_with_the_responsible_officer_at_version_one() -> None:
    case, v1 = opened()
    assert case.holder == Holder("officer", "o-0123") and case.held_since == T0 and case.version == 1
    assert v1.version == 1 and v1.reason == "opened" and len(v1.content.items) == 2
    assert verify_versions([v1]) == (True, "1 versions, chain intact")


@pytest.mark.parametrize(("over", "field"), [
    ({"number": "bad<number>"}, "number"), ({"title": ""}, "title"), ({"responsible_officer": None},
                                                                       "responsible_officer"),
    ({"items": [{"kind": "photo", "ref_id": "X"}]}, "items[0].kind"),
    ({"items": [{"kind": "evidence", "ref_id": "EV1"}, {"kind": "evidence", "ref_id": "EV1"}]}, "items[1]"),
    ({"items": "EV1"}, "items"), ({"owner": "x"}, "owner"),
])
def test_open_refusals_name_the_field(over: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        opened(**over)
    assert err.value.details["field"] == field


def test_corrections_are_chained_versions_and_old_versions_keep_removed_items() -> None:
    case, v1 = opened()
    case, v2 = correct(case, v1, {"items": [{"kind": "evidence", "ref_id": "EV1"}], "reason": "IV7 属另案"},
                       changed_by="o-0123", now=T0 + dt.timedelta(hours=1))
    case, v3 = correct(case, v2, {"title": "华强北路盗窃案", "reason": "案名更正"}, changed_by="o-0123",
                       now=T0 + dt.timedelta(hours=2))
    assert case.version == 3
    assert v2.changes["removed"] == [{"kind": "interview_record", "ref_id": "IV7", "note": None}]
    assert v3.changes["fields"] == ["title"] and v3.content.items == v2.content.items
    assert any(i.ref_id == "IV7" for i in v1.content.items)
    assert verify_versions([v3, v1, v2])[0]
    tampered = replace(v2, reason="别的理由")
    assert verify_versions([v1, tampered, v3]) == (False, "version 2 was altered: its content no longer matches "
                                                          "its hash")
    assert verify_versions([v1, v3])[1] == "version 2 is missing (found version 3 next)"


def test_correction_needs_a_reason_a_change_and_the_current_version() -> None:
    case, v1 = opened()
    with pytest.raises(InvalidInput, match="reason is required"):
        correct(case, v1, {"title": "新"}, changed_by="x", now=T0)
    with pytest.raises(InvalidInput, match="changes nothing"):
        correct(case, v1, {"title": v1.content.title, "reason": "r"}, changed_by="x", now=T0)
    case2, _ = correct(case, v1, {"title": "新", "reason": "r"}, changed_by="x", now=T0)
    with pytest.raises(Conflict, match="not the current version"):
        correct(case2, v1, {"title": "再新", "reason": "r"}, changed_by="x", now=T0)


def test_closed_file_is_reopened_with_a_reason_and_never_deleted() -> None:
    case, v1 = opened()
    closed = set_status(case, "closed", reason=None, actor="centre", now=T0)
    with pytest.raises(Conflict, match="reopen"):
        correct(closed, v1, {"title": "x", "reason": "r"}, changed_by="x", now=T0)
    with pytest.raises(InvalidInput, match="needs a reason"):
        set_status(closed, "open", reason=" ", actor="centre", now=T0)
    again = set_status(closed, "open", reason="检察院要求补充侦查", actor="centre", now=T0)
    assert [h["to"] for h in again.status_history] == ["closed", "open"]
    with pytest.raises(InvalidInput, match="open, closed"):
        set_status(case, "deleted", reason="x", actor="admin", now=T0)
    with pytest.raises(IllegalTransition):
        set_status(case, "open", reason="x", actor="x", now=T0)


def _send(case: CaseFile, actor: Actor, to: str, n: int, **extra: Any) -> Handover:
    return propose(case, {"to": to, **extra}, handover_id=f"H{n}", actor=actor, now=T0 + dt.timedelta(hours=n),
                   pending=None)


def test_full_route_officer_centre_legal_return_and_back() -> None:
    case, _ = opened()
    h1 = _send(case, OFFICER, "case_centre", 1)
    assert case.holder.kind == "officer"  # proposing moves nothing
    h1, case = confirm(h1, case, actor=CENTRE, now=T0 + dt.timedelta(hours=2))
    assert h1.state == "confirmed" and case.holder == Holder("case_centre", "case_centre")
    assert case.held_since == T0 + dt.timedelta(hours=2)
    h2 = _send(case, CENTRE, "legal_review", 3)
    _, case = confirm(h2, case, actor=LEGAL, now=T0 + dt.timedelta(hours=4))
    h3 = _send(case, LEGAL, "officer:o-0123", 5, purpose="return_for_correction", corrections=["补充证人笔录签名"])
    _, case = confirm(h3, case, actor=OFFICER, now=T0 + dt.timedelta(hours=6))
    assert case.awaiting_correction and case.returns == 1
    with pytest.raises(Conflict, match="returned for correction"):
        set_status(case, "closed", reason=None, actor="x", now=T0)
    h4 = _send(case, OFFICER, "case_centre", 7)
    _, case = confirm(h4, case, actor=CENTRE, now=T0 + dt.timedelta(hours=8))
    assert not case.awaiting_correction and case.returns == 1


def test_only_the_holder_proposes_and_only_the_receiver_confirms_or_refuses() -> None:
    case, _ = opened()
    with pytest.raises(Forbidden, match="only the current holder"):
        _send(case, OTHER_OFFICER, "case_centre", 1)
    with pytest.raises(Forbidden, match="only the current holder"):
        _send(case, CENTRE, "legal_review", 1)
    h = _send(case, OFFICER, "case_centre", 1)
    for wrong in (OFFICER, LEGAL, ADMIN):
        with pytest.raises(Forbidden):
            confirm(h, case, actor=wrong, now=T0)
        with pytest.raises(Forbidden):
            refuse(h, actor=wrong, now=T0, reason="no")
    with pytest.raises(InvalidInput, match="reason is required"):
        refuse(h, actor=CENTRE, now=T0, reason="")
    refused = refuse(h, actor=CENTRE, now=T0, reason="材料不全：缺少受案登记表")
    assert refused.state == "refused" and refused.decision_note == "材料不全：缺少受案登记表"
    with pytest.raises(IllegalTransition):
        confirm(refused, case, actor=CENTRE, now=T0)


def test_cancel_by_the_sender_or_an_admin_only() -> None:
    case, _ = opened()
    h = _send(case, OFFICER, "case_centre", 1)
    with pytest.raises(Forbidden):
        cancel(h, actor=CENTRE, now=T0)
    assert cancel(h, actor=OFFICER, now=T0).state == "cancelled"
    assert cancel(h, actor=ADMIN, now=T0, reason="接收人离职").decision_note == "接收人离职"


def test_one_proposal_at_a_time_and_no_route_around_the_centre() -> None:
    case, _ = opened()
    h = _send(case, OFFICER, "case_centre", 1)
    with pytest.raises(Conflict, match="already has a hand-over waiting"):
        propose(case, {"to": "officer:o-0456"}, handover_id="H2", actor=OFFICER, now=T0, pending=h)
    with pytest.raises(InvalidInput) as err:
        _send(case, OFFICER, "legal_review", 2)
    assert err.value.details["accepted"] == ["officer", "case_centre"]
    with pytest.raises(InvalidInput, match="already held by"):
        _send(case, OFFICER, "officer:o-0123", 2)


def test_return_for_correction_only_from_an_office_to_the_responsible_officer_with_a_list() -> None:
    case, _ = opened()
    with pytest.raises(InvalidInput, match="only the case centre or legal review"):
        _send(case, OFFICER, "officer:o-0456", 1, purpose="return_for_correction", corrections=["x"])
    _, case = confirm(_send(case, OFFICER, "case_centre", 1), case, actor=CENTRE, now=T0)
    with pytest.raises(InvalidInput, match="corrections"):
        _send(case, CENTRE, "officer:o-0123", 2, purpose="return_for_correction")
    with pytest.raises(InvalidInput, match="responsible officer"):
        _send(case, CENTRE, "officer:o-0456", 2, purpose="return_for_correction", corrections=["x"])
    with pytest.raises(InvalidInput, match="only with purpose"):
        _send(case, CENTRE, "officer:o-0123", 2, corrections=["x"])


def test_officer_to_officer_is_a_reassignment() -> None:
    case, _ = opened()
    h = _send(case, OFFICER, "officer:o-0456", 1)
    _, moved = confirm(h, case, actor=OTHER_OFFICER, now=T0)
    assert moved.responsible_officer == "o-0456" and moved.holder == Holder("officer", "o-0456")


def test_a_stale_proposal_cannot_move_the_file() -> None:
    case, _ = opened()
    h = _send(case, OFFICER, "case_centre", 1)
    moved = replace(case, holder=Holder("officer", "o-0456"))
    with pytest.raises(Conflict, match="stale"):
        confirm(h, moved, actor=CENTRE, now=T0)


@pytest.mark.parametrize(("value", "holder"), [("officer:o-1", Holder("officer", "o-1")),
                                               ("case_centre", Holder("case_centre", "case_centre")),
                                               ({"kind": "legal_review", "id": "LR2"}, Holder("legal_review", "LR2"))])
def test_holder_forms(value: Any, holder: Holder) -> None:
    assert parse_holder(value) == holder


@pytest.mark.parametrize("value", ["officer", "prosecutor", 5, "officer:../x"])
def test_bad_holders(value: Any) -> None:
    with pytest.raises(InvalidInput):
        parse_holder(value)


def test_handover_table_is_closed() -> None:
    assert set(HANDOVER_TRANSITIONS) == set(HANDOVER_STATES)
    for a, b in itertools.product(HANDOVER_STATES, repeat=2):
        assert (b in HANDOVER_TRANSITIONS[a]) == (a == "proposed" and b != "proposed")


ACTORS = [OFFICER, OTHER_OFFICER, CENTRE, LEGAL, ADMIN]
TARGETS = ["officer:o-0123", "officer:o-0456", "case_centre", "legal_review"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["propose", "confirm", "refuse", "cancel"]), st.sampled_from(ACTORS),
                          st.sampled_from(TARGETS)), max_size=25))
def test_property_file_moves_only_on_confirmation_by_the_receiver(steps: list[tuple[str, Actor, str]]) -> None:
    case, _ = opened()
    pending: Handover | None = None
    for n, (op, actor, target) in enumerate(steps):
        before = case
        now = T0 + dt.timedelta(minutes=n)
        try:
            if op == "propose":
                pending = propose(case, {"to": target}, handover_id=f"H{n}", actor=actor, now=now, pending=pending)
            elif pending is not None and op == "confirm":
                _, case = confirm(pending, case, actor=actor, now=now)
                assert case.holder == pending.to_holder and case.held_since == now
                assert actor.role == pending.to_holder.kind  # holder kinds and their roles share names
                pending = None
            elif pending is not None and op == "refuse":
                refuse(pending, actor=actor, now=now, reason="no")
                pending = None
            elif pending is not None:
                cancel(pending, actor=actor, now=now)
                pending = None
        except (Forbidden, InvalidInput, Conflict):
            assert case == before
        if op != "confirm":
            assert case.holder == before.holder
        assert case.holder.kind in ROUTES
