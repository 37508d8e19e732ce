"""Security matrix: every registered route and WebSocket against ten kinds of caller.

Routes are enumerated from ``app.router.routes()``, so a route added later is covered without
touching this file. For each (route, caller) the expected answer follows from the route's declared
roles: no/expired/foreign token → 401, a role not declared → 403, an officer of unit B on unit A's
unit or order → 403, anything else is let through (its status is whatever the handler says, but
never 401/403). Every denial caused by a bad token, a wrong role, a foreign Origin or another
unit's resource must add one ``access_denied`` entry to the audit log.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from tests.fixtures_dispatch import DispatchApi
from tests.reliability.helpers import Caller, callers, concrete_path, denied_audit_count, denied_audit_rows
from web.auth import Role, route_roles

pytestmark = pytest.mark.redis


def _routes(app: Any) -> list[tuple[str, str, frozenset[Role] | None]]:
    out = []
    for route in app.router.routes():
        if route.method == "HEAD" or route.resource is None:
            continue
        canonical = route.resource.canonical
        if canonical == "/static":  # static files: public by design, covered by the page tests
            continue
        out.append((route.method, canonical, route_roles(route)))
    return out


async def _world(client: Any) -> dict[str, str]:
    api = DispatchApi(client)
    unit_a = (await api.unit("Matrix A"))["id"]
    unit_b = (await api.unit("Matrix B", lat=22.6))["id"]
    incident = (await api.incident())["id"]
    order = (await api.dispatch(incident, unit_a))["id"]
    return {"unit_a": unit_a, "unit_b": unit_b, "incident": incident, "order": order}


def _expected(caller: Caller, roles: frozenset[Role] | None, path: str, world: dict[str, str]) -> int | None:
    """401, 403, or None (= allowed: anything but 401/403)."""
    if roles is None:
        return None
    if caller.kind != "valid":
        return 401
    assert caller.role is not None
    if caller.role not in roles:
        return 403
    if caller.name == "officer_b" and (world["unit_a"] in path or world["order"] in path
                                       or path == f"/api/incidents/{world['incident']}"):  # A's incident
        return 403
    if caller.name == "officer_b" and path.startswith(f"/api/incidents/{world['incident']}/"):  # its notes, close
        return 403
    return None


async def _http(client: Any, method: str, path: str, token: str | None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs: dict[str, Any] = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    resp = await client.request(method, path, headers=headers, allow_redirects=False, **kwargs)
    text = await resp.text()
    body: Any = text
    if resp.content_type == "application/json":
        body = json.loads(text)
    return resp.status, body


async def _ws(client: Any, path: str, token: str | None, origin: str | None = None) -> tuple[int, Any]:
    url = path + (f"?token={token}" if token else "")
    headers = {"Origin": origin} if origin else {}
    try:
        ws = await client.ws_connect(url, headers=headers)
    except aiohttp.WSServerHandshakeError as exc:
        return exc.status, exc.message
    await ws.close()
    return 101, ""


async def test_every_route_against_every_caller(client: Any) -> None:
    app = client.server.app
    world = await _world(client)
    routes = _routes(app)
    assert len(routes) > 40, "the router lost routes?"
    failures: list[str] = []
    unaudited: list[str] = []
    handler_denials = 0
    checked = 0
    for method, canonical, roles in routes:
        path = concrete_path(canonical, {"/api/units/": world["unit_a"], "/api/orders/": world["order"],
                                         "/api/incidents/": world["incident"]})
        for caller in callers(world["unit_a"], world["unit_b"]):
            expected = _expected(caller, roles, path, world)
            before = await denied_audit_count(app)
            if path.startswith("/ws/"):
                status, body = await _ws(client, path, caller.token(app))
            else:
                status, body = await _http(client, method, path, caller.token(app))
            checked += 1
            where = f"{method} {path} as {caller.name}: {status} {str(body)[:160]}"
            if expected is None:
                if status in (401, 403):
                    failures.append("refused, should be allowed: " + where)
                continue
            if status != expected:
                failures.append(f"expected {expected}: " + where)
                continue
            if isinstance(body, dict):
                code = body.get("error", {}).get("code")
                if code not in ("unauthorized", "forbidden"):
                    failures.append("denial without a clear error code: " + where)
            if caller.kind == "none":
                continue  # see test_missing_token_is_audited
            if caller.name == "officer_b" and caller.role in (roles or ()):
                handler_denials += 1  # see test_other_units_refusals_are_audited
                continue
            if await denied_audit_count(app) - before != 1:
                unaudited.append(where)
    assert not failures, f"{len(failures)} of {checked} checks failed:\n" + "\n".join(failures)
    assert not unaudited, "denied but not in the audit log:\n" + "\n".join(unaudited)
    assert handler_denials >= 6  # unit A's unit, history, orders, status, location, order, ack
    rows = await denied_audit_rows(app)
    assert all(json.loads(r["after"])["reason"] for r in rows)


async def _other_unit_attempts(client: Any) -> tuple[dict[str, str], int, int]:
    """Officer B can neither read nor acknowledge unit A's orders, over REST or its own socket."""
    app = client.server.app
    world = await _world(client)
    api = DispatchApi(client)
    b = api.as_officer(world["unit_b"])
    attempts = [("GET", f"/api/orders/{world['order']}"), ("POST", f"/api/orders/{world['order']}/ack"),
                ("GET", f"/api/units/{world['unit_a']}/orders"), ("GET", f"/api/units/{world['unit_a']}"),
                ("POST", f"/api/units/{world['unit_a']}/status"), ("GET", f"/api/units/{world['unit_a']}/history")]
    before = await denied_audit_count(app)
    for method, path in attempts:
        kwargs: dict[str, Any] = {"json": {"status": "en_route"}} if method == "POST" else {}
        resp = await client.request(method, path, headers=b, **kwargs)
        assert resp.status == 403, f"{method} {path}: {resp.status} {await resp.text()}"
        assert (await resp.json())["error"]["code"] == "forbidden"
    # Over officer B's own socket: acknowledging A's order is refused with an error event.
    sock = await api.unit_ws(world["unit_b"])
    await sock.send({"type": "ack", "order_id": world["order"]})
    err = await sock.next("error")
    assert err["code"] in ("forbidden", "not_found"), err
    await sock.close()
    # The order is still offered to A and nothing leaked to B.
    order = await api.call("GET", f"/api/orders/{world['order']}")
    assert order["state"] == "offered"
    return world, before, len(attempts) + 1


async def test_other_units_resources_are_refused(client: Any) -> None:
    await _other_unit_attempts(client)


async def test_other_units_refusals_are_audited(client: Any) -> None:
    _, before, attempts = await _other_unit_attempts(client)
    assert await denied_audit_count(client.server.app) - before >= attempts, \
        "officer B's refused attempts on unit A are not all in the audit log"


async def test_missing_token_is_audited(client: Any) -> None:
    app = client.server.app
    before = await denied_audit_count(app)
    resp = await client.get("/api/incidents")
    assert resp.status == 401
    assert await denied_audit_count(app) - before == 1


async def test_websocket_origin_is_checked(make_client: Any) -> None:
    """A browser page from another site cannot open any WebSocket, whatever token it carries."""
    client = await make_client(env={"JINGYUN_ALLOWED_ORIGINS": "https://console.example"})
    app = client.server.app
    world = await _world(client)
    ws_routes = [(c, r) for m, c, r in _routes(app) if c.startswith("/ws/")]
    assert len(ws_routes) >= 5
    for canonical, roles in ws_routes:
        assert roles, f"{canonical} is public"
        role = sorted(roles)[0]
        caller = Caller("x", role, world["unit_a"] if role is Role.OFFICER else None)
        path = canonical.replace("{channel}", "x1")
        before = await denied_audit_count(app)
        status, _ = await _ws(client, path, caller.token(app), origin="https://evil.example")
        assert status == 403, f"{path}: foreign Origin got {status}"
        assert await denied_audit_count(app) - before == 1, f"{path}: foreign Origin not audited"
        # The configured origin, and no Origin (gateways, SDKs), are judged by the token alone.
        for origin in ("https://console.example", None):
            status, _ = await _ws(client, path, caller.token(app), origin=origin)
            assert status not in (401, 403), f"{path}: Origin {origin} got {status}"


async def test_default_origin_is_own_host_only(client: Any) -> None:
    app = client.server.app
    world = await _world(client)
    token = Caller("a", Role.OFFICER, world["unit_a"]).token(app)
    host = f"http://{client.server.host}:{client.server.port}"
    assert (await _ws(client, "/ws/unit", token, origin=host))[0] == 101
    for bad in ("http://evil.example", f"http://{client.server.host}:{client.server.port + 1}", "null",
                f"{host}.evil.example"):
        assert (await _ws(client, "/ws/unit", token, origin=bad))[0] == 403, bad


async def test_kiosk_requests_are_rate_limited_per_address(make_client: Any) -> None:
    """A kiosk (a public terminal) cannot hammer the server: past the per-minute limit it gets 429."""
    client = await make_client(env={"JINGYUN_RATE_LIMIT_PER_MIN": "5"})
    app = client.server.app
    kiosk = Caller("kiosk", Role.KIOSK).token(app)
    statuses = []
    for _ in range(8):
        resp = await client.get("/api/kiosk/templates", headers={"Authorization": f"Bearer {kiosk}"})
        statuses.append(resp.status)
        if resp.status == 429:
            body = await resp.json()
            assert body["error"]["code"] == "rate_limited" and "retry" in body["error"]["message"]
    # Requests counted within one clock minute: a boundary may reset the count once.
    assert statuses.count(429) >= 2, statuses
    assert statuses[:5].count(200) >= 4, statuses
    # Staff on the same address are not limited by the kiosk's bucket.
    dispatcher = Caller("d", Role.DISPATCHER).token(app)
    resp = await client.get("/api/kiosk/templates", headers={"Authorization": f"Bearer {dispatcher}"})
    assert resp.status == 200
