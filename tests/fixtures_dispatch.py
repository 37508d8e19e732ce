"""Dispatch test helpers: a thin client for the dispatch API and a unit WebSocket reader.

Imported by tests/conftest.py. The helpers go through the real HTTP and WebSocket routes of an
app built by the production factory; nothing here stands in for the server.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse, WSMsgType, web
from aiohttp.test_utils import TestClient

from web.auth import Role, issue_token

FAST_TIMERS = {"JINGYUN_DISPATCH_SWEEP_INTERVAL": "0.1", "JINGYUN_ORDER_REDELIVERY": "1"}


def _token(app: web.Application, role: Role | str, unit_id: str | None = None) -> str:
    from web import appkeys

    return issue_token(app[appkeys.SECRET], role, unit_id=unit_id, ttl=600,
                       subject=f"unit:{unit_id}" if unit_id else f"test-{Role(role).value}")


class DispatchApi:
    """Calls the dispatch REST API as a dispatcher (or another role) and checks status codes."""

    def __init__(self, client: TestClient[web.Request, web.Application], role: Role = Role.DISPATCHER) -> None:
        self.client = client
        self.app: web.Application | None = client.app
        assert self.app is not None
        self.headers = {"Authorization": f"Bearer {_token(self.app, role)}"}

    def as_officer(self, unit_id: str) -> dict[str, str]:
        assert self.app is not None
        return {"Authorization": f"Bearer {_token(self.app, Role.OFFICER, unit_id)}"}

    async def call(self, method: str, path: str, expect: int | tuple[int, ...] = 200, *,
                   headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        resp = await self.client.request(method, path, headers=headers or self.headers, **kwargs)
        text = await resp.text()
        expected = (expect,) if isinstance(expect, int) else expect
        assert resp.status in expected, f"{method} {path}: {resp.status} {text}"
        if resp.content_type == "application/json":
            return json.loads(text)
        return text

    async def unit(self, callsign: str, lat: float = 22.54, lon: float = 114.06,
                   capabilities: tuple[str, ...] = ("patrol", "armed", "first_aid"), **extra: Any) -> dict[str, Any]:
        return await self.call("POST", "/api/units", 201, json={"callsign": callsign, "unit_type": "patrol_car",
                                                                "capabilities": list(capabilities), "lat": lat,
                                                                "lon": lon, **extra})

    async def incident(self, text: str = "Fight outside the Futian metro station, two men punching each other",
                       **extra: Any) -> dict[str, Any]:
        body = {"text": text, "source": "call", "lat": 22.541, "lon": 114.061, **extra}
        return await self.call("POST", "/api/incidents", 201, json=body)

    async def dispatch(self, incident_id: str, unit_id: str, expect: int | tuple[int, ...] = 201) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("POST", f"/api/incidents/{incident_id}/dispatch", expect,
                                                 json={"unit_id": unit_id})
        return result

    async def unit_ws(self, unit_id: str) -> UnitSocket:
        assert self.app is not None
        ws = await self.client.ws_connect(f"/ws/unit?token={_token(self.app, Role.OFFICER, unit_id)}")
        sock = UnitSocket(ws)
        hello = await sock.next("hello")
        assert hello["unit"]["id"] == unit_id
        return sock

    async def console_ws(self) -> UnitSocket:
        assert self.app is not None
        ws = await self.client.ws_connect(f"/ws/console?token={_token(self.app, Role.DISPATCHER)}")
        sock = UnitSocket(ws)
        await sock.next("snapshot")
        return sock


class UnitSocket:
    """Reads JSON messages from a WebSocket, keeping the ones not yet asked for."""

    def __init__(self, ws: ClientWebSocketResponse) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []

    async def next(self, type_: str, wait_s: float = 5.0,
                   where: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
        for i, old in enumerate(self.seen):
            if old.get("type") == type_ and (where is None or where(old)):
                return self.seen.pop(i)
        deadline = asyncio.get_running_loop().time() + wait_s
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError(f"no {type_!r} message within {wait_s}s; "
                                     f"got {[m.get('type') for m in self.seen]}")
            try:
                msg = await self.ws.receive(timeout=left)
            except TimeoutError:
                raise AssertionError(f"no {type_!r} message within {wait_s}s; "
                                     f"got {[m.get('type') for m in self.seen]}") from None
            if msg.type is not WSMsgType.TEXT:
                raise AssertionError(f"socket closed while waiting for {type_!r}: {msg.type} {msg.extra}")
            data = json.loads(msg.data)
            if data.get("type") == type_ and (where is None or where(data)):
                return data
            self.seen.append(data)

    async def orders(self, n: int, wait_s: float = 5.0) -> list[dict[str, Any]]:
        """The next ``n`` distinct orders (re-sends of the same order id are skipped)."""
        got: dict[str, dict[str, Any]] = {}
        while len(got) < n:
            msg = await self.next("order", wait_s)
            got.setdefault(msg["order"]["id"], msg["order"])
        return list(got.values())

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send_json(message)

    async def close(self) -> None:
        await self.ws.close()


@pytest.fixture
def dispatch_api() -> Callable[..., DispatchApi]:
    """``dispatch_api(client)``: a DispatchApi for a client made with ``make_client``."""
    return DispatchApi
