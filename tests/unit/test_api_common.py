"""web.api.common: one mapping from every package's errors to the API's, and the shared query parsing."""

from __future__ import annotations

import datetime as dt

import pytest
from aiohttp.test_utils import make_mocked_request

from dispatch import errors as derr
from voice.calls.service import CallError
from voice.gaps import GapError
from voice.interview.model import InterviewError
from voice.radio.channels import ChannelError
from voice.radio.rdio import CallFormError
from voice.radio.service import RadioError
from web.api.common import api_error, limit_param, since_param
from web.errors import ApiError


@pytest.mark.parametrize(("exc", "status", "code", "details"), [
    (RadioError(409, "busy", "m", channel="c1"), 409, "busy", {"channel": "c1"}),
    (CallError(404, "not_found", "m"), 404, "not_found", {}),
    (InterviewError(409, "locked", "m", signed_at="t"), 409, "locked", {"signed_at": "t"}),
    (GapError(410, "gone", "m"), 410, "gone", {}),
    (ChannelError("name", "m"), 400, "bad_request", {"field": "name"}),
    (CallFormError("talkgroup", "m"), 400, "bad_request", {"field": "talkgroup"}),
    (derr.IllegalTransition("order", "done", "offered", ["done"]), 409, "illegal_transition", None),
    (derr.NotFound("m", id="x"), 404, "not_found", {"id": "x"}),
    (derr.Forbidden("m"), 403, "forbidden", {}),
    (derr.Conflict("m", state="s"), 409, "conflict", {"state": "s"}),
    (derr.InvalidInput("m", field="lat"), 400, "bad_request", {"field": "lat"}),
])
def test_each_package_error_becomes_its_api_error(exc: Exception, status: int, code: str,
                                                  details: dict[str, str] | None) -> None:
    err = api_error(exc)
    assert err is not None and (err.status, err.code) == (status, code)
    if details is not None:
        assert err.details == details


def test_other_exceptions_are_left_alone() -> None:
    assert api_error(RuntimeError("bug")) is None


def test_limit_and_since() -> None:
    assert limit_param(make_mocked_request("GET", "/x"), default=50, hi=500) == 50
    assert limit_param(make_mocked_request("GET", "/x?limit=7"), default=50, hi=500) == 7
    with pytest.raises(ApiError, match="from 1 to 500"):
        limit_param(make_mocked_request("GET", "/x?limit=501"), default=50, hi=500)
    assert since_param(make_mocked_request("GET", "/x")) is None
    since = since_param(make_mocked_request("GET", "/x?since=2026-05-01T20:00:00%2B08:00"))
    assert since == dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)
    with pytest.raises(ApiError, match="ISO 8601"):
        since_param(make_mocked_request("GET", "/x?since=yesterday"))
