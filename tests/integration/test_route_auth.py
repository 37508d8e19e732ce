"""Table-driven: every registered route refuses a missing token (401) and a wrong-role token (403)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import auth
from web.api.pages import PAGES
from web.auth import ALL_ROLES, Role, route_roles

pytestmark = pytest.mark.redis

PUBLIC_PATHS = {"/healthz", "/readyz"}


def _protected_routes(app: Any) -> list[tuple[str, str, frozenset[Role]]]:
    out = []
    for route in app.router.routes():
        if route.method == "HEAD" or route.resource is None:
            continue
        roles = route_roles(route)
        path = re.sub(r"\{[^}]+\}", "x1", route.resource.canonical)
        if roles is None:
            continue
        out.append((route.method, path, roles))
    return out


async def test_every_route_declares_and_enforces_roles(client: Any) -> None:
    app = client.server.app
    routes = _protected_routes(app)
    assert len(routes) >= 2
    public = {route.resource.canonical for route in app.router.routes()
              if route.resource is not None and route_roles(route) is None}
    # Only probes, pages and static files may be public.
    for path in public:
        assert path in PUBLIC_PATHS or path.startswith("/static") or "/" + path.strip("/").split("/")[0] in {
            "/", *(f"/{page}" for page in PAGES)}, f"{path} is public"
    for method, path, roles in routes:
        resp = await client.request(method, path)
        assert resp.status == 401, f"{method} {path} answered {resp.status} without a token"
        assert (await resp.json())["error"]["code"] == "unauthorized"
        wrong = sorted(ALL_ROLES - roles)
        if not wrong:
            continue
        role = wrong[0]
        unit = "U-x" if role is Role.OFFICER else None
        resp = await client.request(method, path, headers=auth(app, role, unit))
        assert resp.status == 403, f"{method} {path} answered {resp.status} to role {role}"
        assert (await resp.json())["error"]["code"] == "forbidden"
