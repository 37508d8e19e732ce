"""The server on both stacks: probes, metrics, errors, tokens, Origin checks."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web

from tests.conftest import auth
from web.auth import Role, issue_token
from web.middleware import origin_allowed

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


async def test_ready_on_both_stacks(make_client: Any, stack: dict[str, str]) -> None:
    client = await make_client(env=stack)
    resp = await client.get("/healthz")
    assert resp.status == 200 and (await resp.json()) == {"status": "ok"}
    resp = await client.get("/readyz")
    body = await resp.json()
    assert resp.status == 200, body
    comps = body["components"]
    assert comps["redis"]["status"] == "ready" and comps["database"]["status"] == "ready"
    assert comps["model"]["status"] == "ready"  # JINGYUN_LOAD_MODEL=0 in tests: reported as disabled
    expected_db = "sqlite" if "DATABASE_URL" not in stack else "postgresql"
    assert comps["database"]["detail"] == expected_db
    expected_redis = "embedded Valkey" if stack.get("REDIS_URL") == "" else "external Redis"
    assert comps["redis"]["detail"] == expected_redis


async def test_readyz_reads_the_disk_on_every_probe(make_client: Any) -> None:
    """The disk component follows the data dir's real free space on each probe, both ways, not only when
    audio last came in (the console's status strip polls /readyz)."""
    from web import appkeys

    for min_free_mb, expected in (("1", "ready"), (str(10**9), "not_ready")):
        client = await make_client(env={"JINGYUN_AUDIO_MIN_FREE_MB": min_free_mb})
        readiness = client.server.app[appkeys.READINESS]
        # A stale state, the opposite of the truth, as if set by an upload long ago.
        readiness.set("disk", expected != "ready", "stale", free_mb=-1)
        resp = await client.get("/readyz")
        disk = (await resp.json())["components"]["disk"]
        assert disk["status"] == expected and disk["detail"] != "stale", disk
        assert disk["free_mb"] >= 0 and disk["min_free_mb"] == float(min_free_mb), disk
        assert (resp.status == 503) == (expected == "not_ready")


async def test_metrics_need_a_scraper_role(client: Any) -> None:
    app = client.server.app
    assert (await client.get("/metrics")).status == 401
    assert (await client.get("/metrics", headers=auth(app, "kiosk"))).status == 403
    resp = await client.get("/metrics", headers=auth(app, "service"))
    assert resp.status == 200
    text = await resp.text()
    assert "jingyun_http_requests_total" in text and 'status="401"' in text


async def test_error_shape_and_request_id(client: Any) -> None:
    resp = await client.get("/api/whoami")
    assert resp.status == 401
    body = await resp.json()
    assert body["error"]["code"] == "unauthorized" and "Bearer" in body["error"]["message"]
    assert resp.headers.get("WWW-Authenticate", "").startswith("Bearer")
    resp = await client.get("/no/such/thing", headers={"X-Request-Id": "abc-123"})
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "not_found"


async def test_expired_and_foreign_tokens(client: Any) -> None:
    app = client.server.app
    from web import appkeys

    expired = issue_token(app[appkeys.SECRET], "admin", ttl=60, now=0)
    foreign = issue_token("f" * 40, "admin")
    for token, word in ((expired, "expired"), (foreign, "invalid")):
        resp = await client.get("/api/whoami", headers={"Authorization": f"Bearer {token}"})
        assert resp.status == 401
        assert word in (await resp.json())["error"]["message"]
    resp = await client.get("/api/whoami", headers=auth(app, Role.OFFICER, "U-9"))
    assert (await resp.json()) | {"expires_at": 0} == {"subject": "unit:U-9", "role": "officer", "unit_id": "U-9",
                                                       "expires_at": 0}


def _request(headers: dict[str, str], host: str = "jy.example:8080") -> web.Request:
    from aiohttp.test_utils import make_mocked_request

    return make_mocked_request("GET", "/ws/x", headers={"Host": host, **headers})


def test_origin_rule() -> None:
    assert origin_allowed(_request({}), ())  # non-browser client: judged by its token
    assert origin_allowed(_request({"Origin": "http://jy.example:8080"}), ())
    assert not origin_allowed(_request({"Origin": "http://evil.example"}), ())
    allowed = ("https://console.example",)
    assert origin_allowed(_request({"Origin": "https://console.example"}), allowed)
    assert not origin_allowed(_request({"Origin": "http://jy.example:8080"}), allowed)



async def test_token_in_form_field_only_where_declared(make_settings: Any) -> None:
    """A route marked @token_in_form("key") accepts the token as a form field; others do not."""
    from aiohttp import FormData
    from aiohttp.test_utils import TestClient, TestServer

    from web import appkeys
    from web.app import create_app
    from web.auth import principal, requires, token_in_form

    @token_in_form("key")
    @requires(Role.SERVICE)
    async def upload(request: web.Request) -> web.Response:
        form = await request.post()
        return web.Response(text=f"{principal(request).role.value}:{form['talkgroup']}")

    app = create_app(make_settings())
    app.router.add_post("/test/upload", upload)
    async with TestClient(TestServer(app)) as client:
        token = issue_token(app[appkeys.SECRET], "service")
        form = FormData({"key": token, "talkgroup": "101"})
        resp = await client.post("/test/upload", data=form)
        assert resp.status == 200 and await resp.text() == "service:101"
        resp = await client.post("/test/upload", data=FormData({"key": "nonsense", "talkgroup": "1"}))
        assert resp.status == 401
        kiosk = issue_token(app[appkeys.SECRET], "kiosk")
        resp = await client.post("/test/upload", data=FormData({"key": kiosk, "talkgroup": "1"}))
        assert resp.status == 403
        # Routes without the marker never read a token from the body.
        resp = await client.post("/api/whoami", data=FormData({"key": token}))
        assert resp.status in (401, 405)


async def test_shutdown_closes_websockets_with_going_away(make_settings: Any) -> None:
    """Graceful shutdown: every open WebSocket is closed with 1001 so clients reconnect elsewhere."""
    from aiohttp import WSMsgType
    from aiohttp.test_utils import TestClient, TestServer

    from web import appkeys
    from web.app import create_app

    app = create_app(make_settings())
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        token = issue_token(app[appkeys.SECRET], "dispatcher")
        ws = await client.ws_connect(f"/ws/console?token={token}")
        first = await ws.receive_json(timeout=10)
        assert first["type"]
        assert len(app[appkeys.WEBSOCKETS]) == 1
        # Shut down (on_shutdown, then the cleanup contexts) while the client keeps reading, as real ones do.
        stopping = asyncio.ensure_future(client.server.close())
        msg = await ws.receive(timeout=10)
        while msg.type is WSMsgType.TEXT:  # live events queued before the close
            msg = await ws.receive(timeout=10)
        assert msg.type is WSMsgType.CLOSE and msg.extra == "server shutting down"
        assert ws.close_code == 1001
        await stopping
    finally:
        await client.close()
