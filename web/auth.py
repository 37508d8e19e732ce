"""Signed bearer tokens, roles, and the per-route role declarations.

Tokens are HS256 JWTs (PyJWT) carrying ``role``, ``unit`` (officers only), ``sub``, ``iat``,
``exp`` and ``jti``. Every route handler declares the roles it accepts with :func:`requires`
or declares itself :func:`public`; the app factory refuses to start if a route declares
neither, so nothing is open by accident.
"""

from __future__ import annotations

import enum
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import jwt
from aiohttp import web

ALGORITHM = "HS256"
ISSUER = "jingyun"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Callable[..., Any])

ROLES_ATTR = "__jingyun_roles__"
PUBLIC_ATTR = "__jingyun_public__"
FORM_TOKEN_ATTR = "__jingyun_form_token__"


class Role(enum.StrEnum):
    ADMIN = "admin"
    DISPATCHER = "dispatcher"
    OFFICER = "officer"
    INTERVIEWER = "interviewer"
    KIOSK = "kiosk"
    SERVICE = "service"
    # Case files (cases/): the offices a file passes through besides its officer.
    CASE_CENTRE = "case_centre"
    LEGAL_REVIEW = "legal_review"
    # Building hazard inspections (inspections/): the chain manager -> grid -> fire office -> fire police.
    BUILDING_MANAGER = "building_manager"
    GRID_WORKER = "grid_worker"
    FIRE_OFFICE = "fire_office"
    FIRE_POLICE = "fire_police"


ALL_ROLES: frozenset[Role] = frozenset(Role)


class TokenError(Exception):
    """A token was missing, malformed, expired or signed with another secret."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: from a verified token."""

    subject: str
    role: Role
    unit_id: str | None = None
    token_id: str = ""
    expires_at: float = 0.0
    # The grids a grid worker covers (claim ``grids``); empty for every other role.
    grids: frozenset[str] = frozenset()

    def can_see_unit(self, unit_id: str) -> bool:
        """Officers see only their own unit; dispatch roles see every unit."""
        if self.role is Role.OFFICER:
            return self.unit_id == unit_id
        return self.role in (Role.ADMIN, Role.DISPATCHER, Role.SERVICE)


def issue_token(secret: str, role: Role | str, *, unit_id: str | None = None, ttl: int = 3600,
                subject: str | None = None, now: float | None = None,
                grids: tuple[str, ...] | list[str] = ()) -> str:
    """Sign a token. Officers must be bound to a unit and grid workers to their grids; no other role may be."""
    role = Role(role)
    if role is Role.OFFICER and not unit_id:
        raise ValueError("an officer token must be bound to a unit: pass --unit UNIT_ID")
    if role is not Role.OFFICER and unit_id:
        raise ValueError("only officer tokens are bound to a unit")
    if role is Role.GRID_WORKER and not grids:
        raise ValueError("a grid worker token must name its grids: pass --grid GRID_ID (repeatable)")
    if role is not Role.GRID_WORKER and grids:
        raise ValueError("only grid worker tokens carry grids")
    if ttl <= 0:
        raise ValueError("ttl must be a positive number of seconds")
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER, "sub": subject or (f"unit:{unit_id}" if unit_id else f"{role.value}"),
        "role": role.value, "iat": issued, "exp": issued + int(ttl), "jti": uuid.uuid4().hex,
    }
    if unit_id:
        claims["unit"] = str(unit_id)
    if grids:
        claims["grids"] = sorted({str(g) for g in grids})
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(secret: str, token: str) -> Principal:
    """Check signature, expiry and shape; return the principal or raise :class:`TokenError`."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], issuer=ISSUER,
                            options={"require": ["exp", "iat", "role", "sub"]})
    except jwt.ExpiredSignatureError:
        raise TokenError("token expired") from None
    except jwt.InvalidTokenError as exc:
        raise TokenError(f"invalid token: {exc}") from None
    try:
        role = Role(claims["role"])
    except ValueError:
        raise TokenError(f"invalid token: unknown role {claims['role']!r}") from None
    unit = claims.get("unit")
    if role is Role.OFFICER and not unit:
        raise TokenError("invalid token: officer token without a unit")
    grids = claims.get("grids") or []
    if not isinstance(grids, list) or not all(isinstance(g, str) for g in grids):
        raise TokenError("invalid token: grids must be a list of grid ids")
    if role is Role.GRID_WORKER and not grids:
        raise TokenError("invalid token: grid worker token without grids")
    return Principal(subject=str(claims["sub"]), role=role, unit_id=str(unit) if unit else None,
                     token_id=str(claims.get("jti", "")), expires_at=float(claims["exp"]),
                     grids=frozenset(grids))


def requires(*roles: Role) -> Callable[[H], H]:
    """Declare the roles a handler accepts. The auth middleware enforces it."""
    if not roles:
        raise ValueError("requires() needs at least one role; use @public for open routes")

    def mark(handler: H) -> H:
        setattr(handler, ROLES_ATTR, frozenset(roles))
        return handler

    return mark


def token_in_form(field: str) -> Callable[[H], H]:
    """Also accept the token from a form field (recorders such as rdio-scanner uploaders send ``key``).

    Only for multipart/urlencoded POST routes whose clients cannot set headers; the header still wins.
    """

    def mark(handler: H) -> H:
        setattr(handler, FORM_TOKEN_ATTR, field)
        return handler

    return mark


def form_token_field(handler: Any) -> str | None:
    return getattr(getattr(handler, "__func__", handler), FORM_TOKEN_ATTR, None)


def public(handler: H) -> H:
    """Declare a handler open to everyone (health probes and static pages only)."""
    setattr(handler, PUBLIC_ATTR, True)
    return handler


def declared_roles(handler: Any) -> frozenset[Role] | None:
    """Roles a handler accepts; None if it is public. Raises if it declares nothing."""
    target = getattr(handler, "__func__", handler)
    if getattr(target, PUBLIC_ATTR, False):
        return None
    roles = getattr(target, ROLES_ATTR, None)
    if roles is None:
        raise LookupError(f"route handler {getattr(handler, '__qualname__', handler)!r} declares no roles")
    return roles


def route_roles(route: Any) -> frozenset[Role] | None:
    """Roles of an aiohttp route; static file resources are public by design."""
    if isinstance(route.resource, web.StaticResource):
        return None
    return declared_roles(route.handler)


def principal(request: web.Request) -> Principal:
    """The verified caller of a protected route (set by the auth middleware)."""
    value = request.get(PRINCIPAL_KEY)
    if value is None:
        raise RuntimeError("principal() called on a public route")
    return value


PRINCIPAL_KEY = web.RequestKey("principal", Principal)


def bearer_from_request(request: web.Request) -> str | None:
    """Token from ``Authorization: Bearer``; WebSocket upgrades may use ``?token=`` instead."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    is_ws = request.headers.get("Upgrade", "").lower() == "websocket"
    if is_ws or (request.method == "GET" and request.path.startswith("/ws/")):
        return request.query.get("token") or None
    return None
