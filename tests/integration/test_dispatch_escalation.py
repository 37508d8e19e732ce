"""Acknowledgement deadlines, re-offers, alerts, several server processes on one Redis, and the
live console picture, against the real Redis server and both databases."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.fixtures_dispatch import FAST_TIMERS, DispatchApi
from web import appkeys

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

TIMEOUT_1S = {**FAST_TIMERS, "JINGYUN_ACK_TIMEOUT": "1"}


async def test_ack_timeout_reoffers_to_next_unit_and_alerts(make_client: Any, stack: dict[str, str]) -> None:
    api = DispatchApi(await make_client(env={**stack, **TIMEOUT_1S}))
    first = await api.unit("First", 22.5410, 114.0610)
    second = await api.unit("Second", 22.5500, 114.0700)
    console = await api.console_ws()
    inc = await api.incident("Fight outside the Futian metro station, two men punching each other")
    sock1 = await api.unit_ws(first["id"])
    sock2 = await api.unit_ws(second["id"])
    rec = await api.call("GET", f"/api/incidents/{inc['id']}/recommendations")
    assert rec["recommendations"][0]["unit_id"] == first["id"]
    order = await api.dispatch(inc["id"], first["id"])
    assert (await sock1.next("order"))["order"]["id"] == order["id"]
    # First never acknowledges: after ~1 s the order expires and goes to Second.
    withdrawn = await sock1.next("order_withdrawn", wait_s=5)
    assert withdrawn["order_id"] == order["id"]
    reoffer = (await sock2.next("order", wait_s=5))["order"]
    assert reoffer["incident_id"] == inc["id"] and reoffer["attempt"] == 2
    alert = (await console.next("alert", wait_s=5, where=lambda m: m["alert"]["kind"] == "ack_timeout"))["alert"]
    assert alert["order_id"] == order["id"] and alert["reoffered_to"] == second["id"]
    assert "First" in alert["message"] and "Second" in alert["message"]
    assert "未在时限内确认" in alert["message_zh"] and "Second" in alert["message_zh"]

    await sock1.send({"type": "ack", "order_id": order["id"]})  # too late
    late = await sock1.next("error")
    assert late["code"] == "conflict" and "expired" in late["message"]
    await sock2.send({"type": "ack", "order_id": reoffer["id"]})
    await sock2.next("acked")
    full = await api.call("GET", f"/api/incidents/{inc['id']}")
    assert [(o["unit_id"], o["state"]) for o in full["orders"]] == [(first["id"], "expired"),
                                                                     (second["id"], "acknowledged")]
    assert (await api.call("GET", f"/api/units/{first['id']}"))["status"] == "available"
    alerts = (await api.call("GET", "/api/alerts"))["alerts"]
    assert [a for a in alerts if a["id"] == alert["id"]] == [alert]  # a reloaded console sees the same
    for s in (sock1, sock2, console):
        await s.close()


async def test_no_unit_left_alerts_and_returns_incident_to_triaged(make_client: Any) -> None:
    api = DispatchApi(await make_client(env=TIMEOUT_1S))
    only = await api.unit("Only")
    console = await api.console_ws()
    inc = await api.incident()
    await api.dispatch(inc["id"], only["id"])
    alert = (await console.next("alert", wait_s=5, where=lambda m: m["alert"]["kind"] == "ack_timeout"))["alert"]
    assert "no other unit" in alert["message"] and alert["reoffered_to"] is None
    await asyncio.sleep(0.2)
    again = await api.call("GET", f"/api/incidents/{inc['id']}")
    assert again["status"] == "triaged"
    assert again["history"][-1]["reason"] == "no unit holds the job"
    await console.close()


async def test_p1_auto_dispatch_when_enabled(make_client: Any) -> None:
    api = DispatchApi(await make_client(env={**FAST_TIMERS, "JINGYUN_AUTO_DISPATCH_P1": "1"}))
    unit = await api.unit("Auto", 22.5406, 114.0602)
    sock = await api.unit_ws(unit["id"])
    inc = await api.incident("深南大道和福田路交叉口有人拿刀砍人，地上躺着一个人一直在流血，你们快来！")
    assert inc["level"] == "P1" and inc["status"] == "dispatched"
    assert inc["orders"][0]["created_by"] == "auto-dispatch"
    assert (await sock.next("order"))["order"]["incident_id"] == inc["id"]
    p3 = await api.incident("Someone scratched my parked car last night on Fuhua Road.")
    assert p3["status"] == "triaged" and p3["orders"] == []
    await sock.close()


@pytest.mark.parametrize("db", ["postgres", "sqlite"])
async def test_two_server_processes_share_one_picture(make_client: Any, pg_url: str, db: str) -> None:
    # Two apps, same Redis server and prefix, same database: a unit on B gets an order made on A.
    env = {**TIMEOUT_1S, "JINGYUN_ACK_TIMEOUT": "30"}
    if db == "postgres":
        env["DATABASE_URL"] = pg_url
    a = DispatchApi(await make_client(env=env))
    b = DispatchApi(await make_client(env=env))
    console_a = await a.console_ws()
    console_b = await b.console_ws()
    unit = await a.unit("Shared")
    sock_b = await b.unit_ws(unit["id"])
    inc = await a.incident()
    order = await a.dispatch(inc["id"], unit["id"])
    got = await sock_b.next("order")
    assert got["order"]["id"] == order["id"]
    await sock_b.send({"type": "ack", "order_id": order["id"]})
    await sock_b.next("acked")
    seen_a = await console_a.next("order", where=lambda m: m["order"]["state"] == "acknowledged")
    seen_b = await console_b.next("order", where=lambda m: m["order"]["state"] == "acknowledged")
    assert seen_a["order"]["id"] == seen_b["order"]["id"] == order["id"]
    assert (await a.call("GET", f"/api/orders/{order['id']}"))["state"] == "acknowledged"
    for s in (console_a, console_b, sock_b):
        await s.close()


async def test_two_processes_expire_an_order_exactly_once(make_client: Any, pg_url: str) -> None:
    env = {**TIMEOUT_1S, "DATABASE_URL": pg_url, "JINGYUN_DISPATCH_SWEEP_INTERVAL": "0.05"}
    a = DispatchApi(await make_client(env=env))
    b = DispatchApi(await make_client(env=env))
    console = await a.console_ws()
    u1 = await a.unit("Twice-1", 22.5410, 114.0610)
    u2 = await b.unit("Twice-2", 22.5500, 114.0700)
    u3 = await b.unit("Twice-3", 22.5600, 114.0800)
    inc = await a.incident()
    order = await a.dispatch(inc["id"], u1["id"])
    await console.next("alert", wait_s=5, where=lambda m: m["alert"]["order_id"] == order["id"])
    await asyncio.sleep(0.5)  # give a second, wrong escalation time to happen
    full = await b.call("GET", f"/api/incidents/{inc['id']}")
    # (the session's PostgreSQL also holds other tests' units, so which unit is next is not asserted)
    assert len(full["orders"]) == 2, "re-offered once, to one unit"
    assert full["orders"][0]["state"] == "expired" and full["orders"][1]["attempt"] == 2
    alerts = [a_ for a_ in (await a.call("GET", "/api/alerts"))["alerts"] if a_["order_id"] == order["id"]]
    assert len(alerts) == 1
    statuses = [(await a.call("GET", f"/api/units/{u['id']}"))["status"] for u in (u2, u3)]
    assert statuses.count("dispatched") <= 1
    await console.close()


async def test_console_receives_live_events_and_snapshot(make_client: Any) -> None:
    api = DispatchApi(await make_client())
    console = await api.console_ws()
    inc = await api.incident()
    event = await console.next("incident", where=lambda m: m["incident"]["id"] == inc["id"])
    assert event["action"] == "created" and event["origin"]
    unit = await api.unit("Live")
    assert (await console.next("unit"))["unit"]["id"] == unit["id"]
    # Voice publishes transcript events on the same channel; consoles get them unchanged.
    from web import appkeys

    assert api.app is not None
    await api.app[appkeys.DISPATCH].publish_console({"type": "transcript", "text": "喂，110吗"})
    assert (await console.next("transcript"))["text"] == "喂，110吗"
    snap = await api.call("GET", "/api/snapshot")
    assert any(i["id"] == inc["id"] for i in snap["incidents"])
    assert any(u["id"] == unit["id"] for u in snap["units"])
    await console.send({"type": "resync"})
    assert any(i["id"] == inc["id"] for i in (await console.next("snapshot"))["snapshot"]["incidents"])
    await console.close()


async def test_slow_console_is_dropped_with_a_reason(make_client: Any) -> None:
    from aiohttp import WSMsgType

    api = DispatchApi(await make_client(env={"JINGYUN_WS_SEND_QUEUE": "8"}))
    console = await api.console_ws()
    from web import appkeys

    assert api.app is not None
    from web.appkeys import HUB

    service = api.app[appkeys.DISPATCH]
    hub = api.app[HUB]
    conn = next(iter(hub.consoles))
    big = "x" * 200_000
    # The client does not read; the server's bounded queue fills and the connection is closed.
    for i in range(400):
        await service.publish_console({"type": "alert", "alert": {"n": i, "pad": big}})
        if conn.closed:
            break
    assert conn.closed and "too slow" in conn.close_reason
    while True:
        msg = await console.ws.receive(timeout=10)
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING):
            break
    assert console.ws.close_code == 4008


async def test_the_hubs_periodic_loops_end_on_stop_even_when_a_cancel_is_lost(make_client: Any) -> None:
    """Shutdown calls Hub.stop() before cancelling: a loop whose cancellation a library swallowed (and
    logged as an error to retry) still ends, instead of running on against closed Redis and database."""
    api = DispatchApi(await make_client(env={**FAST_TIMERS, "JINGYUN_DISPATCH_SWEEP_INTERVAL": "0.05"}))
    assert api.app is not None
    hub = api.app[appkeys.HUB]
    loops = [asyncio.create_task(hub.timers()), asyncio.create_task(hub.poll())]
    await asyncio.sleep(0.3)
    assert not any(t.done() for t in loops)  # they run until told
    hub.stop()  # and no cancel at all, as when it was lost
    done, pending = await asyncio.wait(loops, timeout=5)
    assert not pending and [t.exception() for t in done] == [None, None]
