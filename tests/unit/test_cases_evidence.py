"""Evidence registration: what is accepted, what is refused and why, and the states that follow."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cases.errors import Conflict, IllegalTransition, InvalidInput
from cases.evidence import (
    EVIDENCE_STATES,
    EVIDENCE_TRANSITIONS,
    check_media_type,
    registration_digest,
    registration_from_body,
    with_file,
    with_loss,
)

NOW = dt.datetime(2026, 3, 2, 10, 0, 0, tzinfo=dt.UTC)
SHA = "ab" * 32


def video_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "video", "incident_id": "INC-20260302-0007", "title": "华强北路口监控",
        "purpose": "嫌疑人 09:12 由北向南经过路口",
        "source": {"device": "DS-2CD2T47 #12", "device_type": "cctv", "place": "华强北路与深南中路交叉口东北角",
                   "owner": "华强北商圈物业", "lat": 22.5431, "lon": 114.0862},
        "pulled_at": "2026-03-02T17:45:09+08:00", "pulled_place": "物业监控室",
        "recorded_from": "2026-03-02T09:00:00+08:00", "recorded_to": "2026-03-02T09:30:00+08:00",
        "sign_off": {"officer": "张伟", "badge": "012345", "confirmed": True},
    }
    body.update(over)
    return body


def register(body: dict[str, Any]) -> Any:
    return registration_from_body(body, evidence_id="EV1", submitted_by="unit:P12", now=NOW)


def test_video_registration_waits_for_its_file_and_keeps_times_in_utc_to_the_second() -> None:
    ev = register(video_body())
    assert ev.state == "awaiting_file"
    assert ev.pulled_at == dt.datetime(2026, 3, 2, 9, 45, 9, tzinfo=dt.UTC)
    assert ev.source is not None and ev.source.owner == "华强北商圈物业"
    assert ev.submitted_by == "unit:P12" and ev.sign_off.signed_by == "unit:P12"
    assert ev.sign_off.digest == registration_digest(ev)
    assert ev.to_dict()["pulled_at"] == "2026-03-02T09:45:09Z"


def test_sign_off_digest_changes_with_any_registered_fact() -> None:
    ev = register(video_body())
    other = register(video_body(purpose="另一目的"))
    moved = register(video_body(pulled_at="2026-03-02T17:45:10+08:00"))
    assert len({ev.sign_off.digest, other.sign_off.digest, moved.sign_off.digest}) == 3


@pytest.mark.parametrize(("value", "why"), [
    ("2026-03-02T17:45+08:00", "with seconds"),
    ("2026-03-02T17:45:09", "time zone"),
    ("2026-03-02", "with seconds"),
    ("2026-02-30T17:45:09+08:00", "not a real date"),
    (1740000000, "ISO 8601"),
])
def test_pulled_at_needs_seconds_and_a_zone(value: Any, why: str) -> None:
    with pytest.raises(InvalidInput) as err:
        register(video_body(pulled_at=value))
    assert err.value.details["field"] == "pulled_at"
    assert why in err.value.message
    assert "2026-01-31T08:15:42+08:00" in err.value.message or why == "not a real date"


def test_pulled_in_the_future_is_refused() -> None:
    with pytest.raises(InvalidInput, match="in the future"):
        register(video_body(pulled_at="2026-03-02T11:00:00Z", recorded_to=None))


def test_footage_cannot_end_after_it_was_pulled() -> None:
    with pytest.raises(InvalidInput) as err:
        register(video_body(recorded_to="2026-03-02T18:00:00+08:00"))
    assert err.value.details["field"] == "recorded_to"


def test_footage_window_must_be_in_order() -> None:
    with pytest.raises(InvalidInput, match="recorded_from must not be after recorded_to"):
        register(video_body(recorded_from="2026-03-02T09:40:00+08:00"))


@pytest.mark.parametrize(("path", "field"), [
    (("title",), "title"), (("purpose",), "purpose"), (("pulled_place",), "pulled_place"),
    (("source", "owner"), "source.owner"), (("source", "device"), "source.device"),
    (("sign_off", "badge"), "sign_off.badge"), (("source",), "source"),
])
def test_each_required_field_is_named_when_missing(path: tuple[str, ...], field: str) -> None:
    body = video_body()
    target = body
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    with pytest.raises(InvalidInput) as err:
        register(body)
    assert err.value.details["field"] == field


def test_unconfirmed_sign_off_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"sign_off\.confirmed must be true"):
        register(video_body(sign_off={"officer": "张伟", "badge": "012345", "confirmed": "yes"}))


def test_unknown_fields_are_refused_not_dropped() -> None:
    with pytest.raises(InvalidInput) as err:
        register(video_body(pulled_by="李四"))
    assert "pulled_by" in err.value.message and "accepted:" in err.value.message
    body = video_body()
    body["source"]["serial"] = "X"
    with pytest.raises(InvalidInput, match="source has unknown field"):
        register(body)


def test_evidence_must_belong_to_an_incident_or_case() -> None:
    with pytest.raises(InvalidInput, match="incident_id, case_id or both"):
        register(video_body(incident_id=None))
    assert register(video_body(incident_id=None, case_id="CASE-1")).case_id == "CASE-1"


def test_bad_device_type_lists_what_is_accepted() -> None:
    body = video_body()
    body["source"]["device_type"] = "drone"
    with pytest.raises(InvalidInput) as err:
        register(body)
    assert "cctv" in err.value.message and err.value.details["field"] == "source.device_type"


def test_only_half_the_coordinates_is_refused() -> None:
    body = video_body()
    del body["source"]["lon"]
    with pytest.raises(InvalidInput, match="both lat and lon"):
        register(body)


def test_radio_transmission_is_attached_by_reference_only() -> None:
    body = {"kind": "radio_transmission", "incident_id": "INC-1", "reference_id": "TX9f2", "title": "指挥中心通话",
            "purpose": "到达时间", "sign_off": {"officer": "张伟", "badge": "012345", "confirmed": True}}
    ev = register(body)
    assert ev.state == "referenced" and ev.reference_id == "TX9f2" and ev.source is None
    with pytest.raises(InvalidInput, match="attached by reference_id"):
        register({**body, "pulled_at": "2026-03-02T17:45:09+08:00"})
    with pytest.raises(InvalidInput) as err:
        register({k: v for k, v in body.items() if k != "reference_id"})
    assert err.value.details["field"] == "reference_id"


def test_lost_footage_is_registered_with_a_signed_statement() -> None:
    loss = {"condition": "lost", "statement": "硬盘录像机已循环覆盖 3 月 1 日之前的录像", "responsible": "王五",
            "responsible_role": "物业监控员", "confirmed": True}
    ev = register(video_body(loss=loss))
    assert ev.state == "lost" and ev.loss is not None and ev.loss.responsible == "王五"
    assert ev.loss.signed_at == NOW
    with pytest.raises(InvalidInput, match=r"loss\.confirmed must be true"):
        register(video_body(loss={**loss, "confirmed": False}))
    with pytest.raises(InvalidInput, match="not both"):
        register(video_body(loss=loss, expected_sha256=SHA))


def test_file_received_moves_to_kept_once_and_only_once() -> None:
    ev = register(video_body(expected_sha256=SHA))
    kept = with_file(ev, sha256=SHA, size=10, media_type="video/mp4", filename="a.mp4", received_by="unit:P12", at=NOW)
    assert kept.state == "kept" and kept.file is not None and kept.file.size == 10
    with pytest.raises(IllegalTransition) as err:
        with_file(kept, sha256=SHA, size=10, media_type="video/mp4", filename=None, received_by="x", at=NOW)
    assert "final state" in err.value.message


def test_file_with_another_hash_than_the_pull_is_refused() -> None:
    ev = register(video_body(expected_sha256=SHA))
    with pytest.raises(Conflict, match="it was not kept"):
        with_file(ev, sha256="cd" * 32, size=10, media_type="video/mp4", filename=None, received_by="x", at=NOW)


def test_loss_can_follow_a_registration_but_not_a_kept_file() -> None:
    ev = register(video_body())
    loss = {"condition": "damaged", "statement": "U 盘损坏无法读取", "responsible": "张伟",
            "responsible_role": "调取民警", "confirmed": True}
    assert with_loss(ev, loss, recorded_by="unit:P12", now=NOW).state == "damaged"
    kept = with_file(ev, sha256=SHA, size=1, media_type=None, filename=None, received_by="x", at=NOW)
    with pytest.raises(IllegalTransition):
        with_loss(kept, loss, recorded_by="unit:P12", now=NOW)


@pytest.mark.parametrize(("kind", "mt", "ok"), [
    ("video", "video/mp4", True), ("video", "application/octet-stream", True), ("video", "image/jpeg", False),
    ("photo", "image/jpeg; q=1", True), ("audio", "audio/ogg", True), ("audio", "text/plain", False),
    ("radio_transmission", "audio/ogg", False),
])
def test_media_type_must_fit_the_kind(kind: str, mt: str, ok: bool) -> None:
    if ok:
        assert check_media_type(kind, mt) == mt.split(";")[0]
    else:
        with pytest.raises(InvalidInput):
            check_media_type(kind, mt)


def test_state_table_is_closed() -> None:
    assert set(EVIDENCE_TRANSITIONS) == set(EVIDENCE_STATES)
    for targets in EVIDENCE_TRANSITIONS.values():
        assert set(targets) <= set(EVIDENCE_STATES)


_junk = st.one_of(st.none(), st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2),
                  st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


@given(key=st.sampled_from(sorted(video_body())), value=_junk)
def test_any_bad_value_is_a_clear_400_never_a_crash(key: str, value: Any) -> None:
    body = copy.deepcopy(video_body())
    body[key] = value
    try:
        ev = register(body)
    except InvalidInput as exc:
        assert exc.status == 400 and exc.message and "field" in exc.details
    else:  # the few junk values that are valid (e.g. no recorded_from) still give a signed item
        assert ev.sign_off.digest == registration_digest(ev)
