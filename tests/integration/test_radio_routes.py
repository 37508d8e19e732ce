"""Every radio and interview route declares roles and is documented in /api/openapi.json."""

from __future__ import annotations

from tests.conftest import auth
from web.auth import Role, route_roles


async def test_routes_documented_with_roles(client):
    app = client.server.app
    doc = await (await client.get("/api/openapi.json", headers=auth(app, "service"))).json()
    mine = [r for r in app.router.routes() if r.method != "HEAD" and r.resource is not None and
            r.resource.canonical.startswith(("/api/radio", "/api/call-upload", "/ws/radio", "/api/interviews"))]
    assert len(mine) >= 30
    for route in mine:
        path = route.resource.canonical
        roles = route_roles(route)
        assert roles, path  # never public
        assert Role.KIOSK not in roles and Role.OFFICER not in roles, path
        assert route.method.lower() in doc["paths"].get(path, {}), f"{route.method} {path} not in the OpenAPI document"
