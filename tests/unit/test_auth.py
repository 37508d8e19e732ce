"""Tokens: signing, expiry, roles, unit binding; and the WebSocket Origin rule."""

from __future__ import annotations

import time

import pytest

from web.auth import Role, TokenError, issue_token, verify_token

SECRET = "s" * 40


def test_round_trip_keeps_role_and_unit() -> None:
    who = verify_token(SECRET, issue_token(SECRET, "officer", unit_id="U-7", ttl=60))
    assert who.role is Role.OFFICER and who.unit_id == "U-7"
    assert who.can_see_unit("U-7") and not who.can_see_unit("U-8")
    assert verify_token(SECRET, issue_token(SECRET, Role.DISPATCHER)).can_see_unit("U-8")


def test_expired_token_is_refused() -> None:
    token = issue_token(SECRET, "admin", ttl=60, now=time.time() - 120)
    with pytest.raises(TokenError, match="expired"):
        verify_token(SECRET, token)


def test_token_signed_with_another_secret_is_refused() -> None:
    with pytest.raises(TokenError, match="invalid token"):
        verify_token(SECRET, issue_token("x" * 40, "admin"))


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer x"])
def test_garbage_is_refused(garbage: str) -> None:
    with pytest.raises(TokenError):
        verify_token(SECRET, garbage)


def test_officer_must_be_bound_to_a_unit_and_others_must_not() -> None:
    with pytest.raises(ValueError, match="unit"):
        issue_token(SECRET, "officer")
    with pytest.raises(ValueError, match="only officer"):
        issue_token(SECRET, "dispatcher", unit_id="U-1")
    with pytest.raises(ValueError):
        issue_token(SECRET, "superuser")


def test_grid_worker_tokens_carry_their_grids_and_only_theirs() -> None:
    who = verify_token(SECRET, issue_token(SECRET, Role.GRID_WORKER, grids=["G-2", "G-1", "G-1"]))
    assert who.role is Role.GRID_WORKER and who.grids == frozenset({"G-1", "G-2"})
    assert verify_token(SECRET, issue_token(SECRET, Role.FIRE_OFFICE)).grids == frozenset()
    with pytest.raises(ValueError, match="--grid"):
        issue_token(SECRET, "grid_worker")
    with pytest.raises(ValueError, match="only grid worker"):
        issue_token(SECRET, "building_manager", grids=["G-1"])


def test_a_grid_worker_token_without_grids_is_refused() -> None:
    import jwt

    forged = jwt.encode({"iss": "jingyun", "sub": "gw", "role": "grid_worker", "iat": int(time.time()),
                         "exp": int(time.time()) + 60}, SECRET, algorithm="HS256")
    with pytest.raises(TokenError, match="without grids"):
        verify_token(SECRET, forged)
