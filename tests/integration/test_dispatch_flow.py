"""Dispatch end to end through the real routes, on both stacks (SQLite + embedded Valkey,
PostgreSQL + the Redis server): lifecycle, illegal transitions, ranking, reconnect, idempotency,
officer isolation, intervals."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.conftest import auth
from tests.fixtures_dispatch import FAST_TIMERS, DispatchApi

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


async def test_incident_lifecycle_and_illegal_transitions(make_client: Any, stack: dict[str, str]) -> None:
    api = DispatchApi(await make_client(env={**stack, **FAST_TIMERS}))
    unit = await api.unit("Futian 01")
    inc = await api.incident("深南大道和福田路交叉口有人拿刀砍人，地上躺着一个人一直在流血，你们快来！")
    assert inc["status"] == "triaged" and inc["level"] == "P1" and 8 <= inc["priority"] <= 10
    assert inc["reasons"], "the priority comes with the reasons that produced it"
    assert [h["to"] for h in inc["history"]] == ["new", "triaged"]
    assert inc["number"].startswith("JY-")

    sock = await api.unit_ws(unit["id"])
    order = await api.dispatch(inc["id"], unit["id"])
    assert order["state"] == "offered" and order["incident_id"] == inc["id"]
    pushed = await sock.next("order")
    assert pushed["order"]["id"] == order["id"]
    assert pushed["order"]["incident"]["level"] == "P1"
    await sock.send({"type": "ack", "order_id": order["id"]})
    acked = await sock.next("acked")
    assert acked["order"]["state"] == "acknowledged" and acked["duplicate"] is False

    await sock.send({"type": "status", "status": "en_route"})
    assert (await sock.next("unit"))["unit"]["status"] == "en_route"
    await api.call("POST", f"/api/units/{unit['id']}/status", json={"status": "on_scene"},
                   headers=api.as_officer(unit["id"]))
    inc = await api.call("GET", f"/api/incidents/{inc['id']}")
    assert inc["status"] == "on_scene"
    assert [h["to"] for h in inc["history"]] == ["new", "triaged", "dispatched", "en_route", "on_scene"]
    for key in ("dispatched_at", "acknowledged_at", "en_route_at", "on_scene_at"):
        assert inc[key] is not None, key

    # on_scene -> dispatched is not a transition: the error names both states and what is allowed.
    err = await api.call("POST", f"/api/incidents/{inc['id']}/status", 409, json={"status": "dispatched"})
    assert err["error"]["code"] == "illegal_transition"
    assert "'on_scene' to 'dispatched'" in err["error"]["message"]
    assert err["error"]["details"] == {"current": "on_scene", "requested": "dispatched", "allowed": ["closed"]}
    err = await api.call("POST", f"/api/units/{unit['id']}/status", 409, json={"status": "dispatched"})
    assert err["error"]["details"]["current"] == "on_scene"
    err = await api.call("POST", f"/api/units/{unit['id']}/status", 400, json={"status": "asleep"})
    assert "available" in err["error"]["message"] and "asleep" in err["error"]["message"]

    await api.call("POST", f"/api/units/{unit['id']}/status", json={"status": "returning"})
    closed = await api.call("POST", f"/api/incidents/{inc['id']}/status",
                            json={"status": "closed", "reason": "done", "outcome_code": "arrest",
                                  "note": "one man arrested on scene"})
    assert closed["status"] == "closed" and closed["closed_at"]
    assert closed["orders"][0]["state"] == "completed"
    err = await api.call("POST", f"/api/incidents/{inc['id']}/text", 409, json={"text": "more"})
    assert "closed" in err["error"]["message"]

    history = await api.call("GET", f"/api/units/{unit['id']}/history")
    assert [h["to"] for h in history["history"]] == ["available", "dispatched", "en_route", "on_scene", "returning"]
    assert all(h["at"] for h in history["history"])
    stats = await api.call("GET", "/api/intervals")
    mine = next(r for r in stats["incidents"] if r["id"] == inc["id"])
    assert mine["intervals"]["created_to_closed"] >= mine["intervals"]["created_to_dispatched"] >= 0
    assert stats["stats"]["created_to_acknowledged"]["count"] >= 1
    await sock.close()


async def test_priority_override_survives_rescoring(make_client: Any) -> None:
    api = DispatchApi(await make_client())
    inc = await api.incident("I lost my wallet yesterday near the library, no one took it I think.")
    assert inc["level"] in ("P3", "P4")
    err = await api.call("POST", f"/api/incidents/{inc['id']}/priority", 400, json={"priority": 11, "reason": "x"})
    assert "0 to 10" in err["error"]["message"]
    await api.call("POST", f"/api/incidents/{inc['id']}/priority", 400, json={"priority": 8})
    up = await api.call("POST", f"/api/incidents/{inc['id']}/priority",
                        json={"priority": 8, "reason": "caller is a known high-risk missing person"})
    assert (up["priority"], up["level"]) == (8, "P1")
    assert up["priority_override"]["reason"] == "caller is a known high-risk missing person"
    again = await api.call("POST", f"/api/incidents/{inc['id']}/text", json={"text": "Caller rang back, all fine."})
    assert (again["priority"], again["level"]) == (8, "P1")
    assert len(again["texts"]) == 2


async def test_recommendations_rank_capable_fresh_near(make_client: Any) -> None:
    api = DispatchApi(await make_client())
    near_unarmed = await api.unit("U-near", 22.5411, 114.0611, capabilities=("patrol",))
    mid = await api.unit("U-mid", 22.548, 114.07)
    far = await api.unit("U-far", 22.60, 114.12)
    busy = await api.unit("U-busy", 22.541, 114.061)
    await api.call("POST", f"/api/units/{busy['id']}/status", json={"status": "out_of_service"})
    inc = await api.incident("Man with a knife threatening people outside the mall right now")
    rec = await api.call("GET", f"/api/incidents/{inc['id']}/recommendations")
    assert "armed" in rec["required_capabilities"]
    assert [r["unit_id"] for r in rec["recommendations"]] == [mid["id"], far["id"], near_unarmed["id"]]
    assert rec["recommendations"][2]["missing_capabilities"] == ["armed"]
    assert rec["excluded"] == [{"unit_id": busy["id"], "callsign": "U-busy",
                                "reason": "status is out_of_service, not available"}]
    await api.call("GET", "/api/incidents/nope/recommendations", 404)


async def test_offline_officer_gets_missed_orders_on_reconnect(make_client: Any, stack: dict[str, str]) -> None:
    api = DispatchApi(await make_client(env={**stack, **FAST_TIMERS}))
    unit = await api.unit("Futian 07")
    first = await api.incident("Fight outside the Futian metro station, two men punching each other")
    sock = await api.unit_ws(unit["id"])
    o1 = await api.dispatch(first["id"], unit["id"])
    assert (await sock.next("order"))["order"]["id"] == o1["id"]
    await sock.close()  # delivered but never acknowledged: the phone went offline

    # While offline: the first order is still open; a second incident is sent after the unit is freed.
    await api.call("POST", f"/api/units/{unit['id']}/status", json={"status": "en_route"})
    await api.call("POST", f"/api/units/{unit['id']}/status", json={"status": "available"})
    o1_now = await api.call("GET", f"/api/orders/{o1['id']}")
    assert o1_now["state"] == "withdrawn"  # freed without arriving: the job went back to dispatch
    second = await api.incident("Shop alarm sounding on Zhenhua Road, shutter forced, suspect may be inside")
    third = await api.incident("Drunk man shouting and throwing bottles at cars on Fuhua Road")
    o2 = await api.dispatch(second["id"], unit["id"])
    await api.call("POST", f"/api/units/{unit['id']}/status", json={"status": "available"}, expect=200)
    o2_now = await api.call("GET", f"/api/orders/{o2['id']}")
    assert o2_now["state"] == "withdrawn"
    o3 = await api.dispatch(third["id"], unit["id"])

    again = await api.unit_ws(unit["id"])
    got = await again.orders(1)
    assert [o["id"] for o in got] == [o3["id"]], "only the open order is shown again"
    await again.send({"type": "ack", "order_id": o3["id"]})
    assert (await again.next("acked"))["order_id"] == o3["id"]
    await again.close()


async def test_pending_order_is_resent_after_reconnect(make_client: Any) -> None:
    api = DispatchApi(await make_client(env=FAST_TIMERS))
    unit = await api.unit("Futian 08")
    inc = await api.incident()
    order = await api.dispatch(inc["id"], unit["id"])  # nobody connected: it waits on the Stream
    sock = await api.unit_ws(unit["id"])
    assert (await sock.next("order"))["order"]["id"] == order["id"]
    await sock.close()
    sock = await api.unit_ws(unit["id"])  # delivered, not acked: comes again
    assert (await sock.next("order"))["order"]["id"] == order["id"]
    await sock.send({"type": "ack", "order_id": order["id"]})
    await sock.next("acked")
    await sock.close()
    sock = await api.unit_ws(unit["id"])  # acknowledged: not sent again
    with pytest.raises(AssertionError, match="no 'order' message"):
        await sock.next("order", wait_s=1.5)
    await sock.close()


async def test_duplicate_delivery_and_dispatch_are_harmless(make_client: Any, stack: dict[str, str]) -> None:
    api = DispatchApi(await make_client(env={**stack, **FAST_TIMERS}))
    unit = await api.unit("Futian 09")
    inc = await api.incident()
    sock = await api.unit_ws(unit["id"])
    order = await api.dispatch(inc["id"], unit["id"])
    same = await api.dispatch(inc["id"], unit["id"], expect=200)
    assert same["id"] == order["id"] and same["duplicate"] is True
    both = await asyncio.gather(api.dispatch(inc["id"], unit["id"], expect=(200, 201)),
                                api.dispatch(inc["id"], unit["id"], expect=(200, 201)))
    assert {o["id"] for o in both} == {order["id"]}
    await sock.next("order")
    for _ in range(3):  # the phone repeats its ack (flaky network); the server also redelivers
        await sock.send({"type": "ack", "order_id": order["id"]})
    acks = [await sock.next("acked") for _ in range(3)]
    assert [a["duplicate"] for a in acks].count(False) == 1
    rest = await api.call("POST", f"/api/orders/{order['id']}/ack", headers=api.as_officer(unit["id"]))
    assert rest["duplicate"] is True and rest["state"] == "acknowledged"
    full = await api.call("GET", f"/api/incidents/{inc['id']}")
    assert len(full["orders"]) == 1
    assert [h["to"] for h in full["history"]].count("dispatched") == 1
    assert (await api.call("GET", f"/api/units/{unit['id']}"))["status"] == "dispatched"
    verify = await api.call("GET", "/api/audit/verify", headers={
        "Authorization": f"Bearer {_admin(api)}"})
    actions = verify["entries"]
    assert verify["ok"] and actions > 0
    await sock.close()


def _admin(api: DispatchApi) -> str:
    from tests.fixtures_dispatch import _token
    from web.auth import Role

    assert api.app is not None
    return _token(api.app, Role.ADMIN)


async def test_officer_isolation(make_client: Any) -> None:
    api = DispatchApi(await make_client(env=FAST_TIMERS))
    mine = await api.unit("Mine")
    theirs = await api.unit("Theirs")
    inc = await api.incident()
    order = await api.dispatch(inc["id"], theirs["id"])
    me = api.as_officer(mine["id"])
    await api.call("GET", f"/api/units/{theirs['id']}/orders", 403, headers=me)
    await api.call("GET", f"/api/orders/{order['id']}", 403, headers=me)
    err = await api.call("POST", f"/api/orders/{order['id']}/ack", 403, headers=me)
    assert "not addressed to your unit" in err["error"]["message"]
    await api.call("POST", f"/api/units/{theirs['id']}/status", 403, headers=me, json={"status": "en_route"})
    await api.call("GET", "/api/incidents", 403, headers=me)
    await api.call("GET", f"/api/incidents/{inc['id']}", 403, headers=me)
    sock = await api.unit_ws(mine["id"])
    await sock.send({"type": "ack", "order_id": order["id"]})
    err = await sock.next("error")
    assert err["code"] == "forbidden" and err["order_id"] == order["id"]
    with pytest.raises(AssertionError, match="no 'order' message"):
        await sock.next("order", wait_s=1.0)  # the other unit's order never reaches this phone
    assert (await api.call("GET", f"/api/orders/{order['id']}"))["state"] == "offered"
    own = await api.call("GET", f"/api/units/{mine['id']}/orders", headers=me)
    assert own["orders"] == []
    await sock.close()
    # A dispatcher-only route refused to an officer leaves a trace in the audit log.
    from sqlalchemy import select

    from dispatch.tables import audit_log
    from web import appkeys

    assert api.app is not None
    async with api.app[appkeys.DB].connect() as conn:
        denied = (await conn.execute(select(audit_log).where(audit_log.c.action == "access_denied"))).all()
    assert any(r.actor == f"unit:{mine['id']}" and "GET /api/incidents" in r.target for r in denied)


async def test_officer_reads_only_incidents_of_own_units_orders(make_client: Any, stack: dict[str, str]) -> None:
    """An officer may GET an incident their unit has (or had) an order for; any other is 403, audited."""
    api = DispatchApi(await make_client(env={**stack, **FAST_TIMERS}))
    # Far from the other tests' units and incidents (the PostgreSQL database is shared by the session).
    where = {"lat": 39.9042, "lon": 116.4074}
    mine = await api.unit("Reader Mine", **where)
    theirs = await api.unit("Reader Theirs", **where)
    ours = await api.incident(**where)
    other = await api.incident("Shop alarm sounding on Zhenhua Road, shutter forced, suspect may be inside", **where)
    order = await api.dispatch(ours["id"], mine["id"])
    await api.dispatch(other["id"], theirs["id"])
    me = api.as_officer(mine["id"])

    got = await api.call("GET", f"/api/incidents/{ours['id']}", headers=me)
    assert got["id"] == ours["id"] and got["text"] == ours["text"]
    assert [o["id"] for o in got["orders"]] == [order["id"]]
    err = await api.call("GET", f"/api/incidents/{other['id']}", 403, headers=me)
    assert err["error"]["code"] == "forbidden" and "own unit" in err["error"]["message"]
    # An unknown id is refused the same way: an officer cannot probe which incidents exist.
    await api.call("GET", "/api/incidents/0123456789abcdef", 403, headers=me)
    # Still readable after the order is settled (the officer was on it); the rest stays dispatcher-only.
    await api.call("POST", f"/api/units/{mine['id']}/status", json={"status": "available"})
    assert (await api.call("GET", f"/api/orders/{order['id']}"))["state"] == "withdrawn"
    await api.call("GET", f"/api/incidents/{ours['id']}", headers=me)
    await api.call("GET", f"/api/incidents/{ours['id']}/eido", 403, headers=me)
    await api.call("POST", f"/api/incidents/{ours['id']}/text", 403, headers=me, json={"text": "x"})

    from sqlalchemy import select

    from dispatch.tables import audit_log
    from web import appkeys

    assert api.app is not None
    async with api.app[appkeys.DB].connect() as conn:
        denied = (await conn.execute(select(audit_log).where(audit_log.c.action == "access_denied",
                                                             audit_log.c.actor == f"unit:{mine['id']}"))).all()
    targets = [r.target for r in denied]
    assert f"GET /api/incidents/{other['id']}" in targets
    assert "GET /api/incidents/0123456789abcdef" in targets
    # Leave no offered order behind: another test's timer lease holder would push and escalate it.
    for inc in (ours, other):
        await api.call("POST", f"/api/incidents/{inc['id']}/status", json={"status": "cancelled"})


async def test_bad_input_gets_clear_errors(make_client: Any) -> None:
    api = DispatchApi(await make_client())
    err = await api.call("POST", "/api/incidents", 400, json={"text": ""})
    assert "text" in err["error"]["message"]
    err = await api.call("POST", "/api/incidents", 400, json={"text": "x", "lat": 95, "lon": 1})
    assert "lat must be from -90 to 90" in err["error"]["message"]
    err = await api.call("POST", "/api/incidents", 400, json={"text": "x", "lat": 22.5})
    assert "both lat and lon" in err["error"]["message"]
    err = await api.call("POST", "/api/incidents", 400, json={"text": "x", "colour": "red"})
    assert "unknown fields ['colour']" in err["error"]["message"]
    err = await api.call("POST", "/api/incidents", 400, data=b"not json",
                         headers={**api.headers, "Content-Type": "application/json"})
    assert "JSON object" in err["error"]["message"]
    err = await api.call("POST", "/api/units", 400, json={"callsign": "X", "capabilities": ["flying"]})
    assert "unknown capabilities ['flying']" in err["error"]["message"]
    err = await api.call("POST", "/api/units", 400, json={"callsign": "X", "unit_type": "tank"})
    assert "unit_type must be one of" in err["error"]["message"]
    await api.unit("Dup")
    err = await api.call("POST", "/api/units", 409, json={"callsign": "Dup"})
    assert "already exists" in err["error"]["message"]
    inc = await api.incident()
    err = await api.call("POST", f"/api/incidents/{inc['id']}/dispatch", 404, json={"unit_id": "nope"})
    assert "no unit with id 'nope'" in err["error"]["message"]
    err = await api.call("POST", f"/api/incidents/{inc['id']}/dispatch", 400, json={})
    assert "unit_id is required" in err["error"]["message"]
    sock = await api.unit_ws((await api.unit("WS"))["id"])
    await sock.ws.send_str("{not json")
    assert "JSON objects" in (await sock.next("error"))["message"]
    await sock.send({"type": "teleport"})
    assert "unknown message type 'teleport'" in (await sock.next("error"))["message"]
    await sock.send({"type": "ping"})
    await sock.next("pong")  # still serving after bad input
    await sock.close()


async def test_possible_duplicate_can_be_unlinked(make_client: Any, stack: dict[str, str]) -> None:
    """Two calls about the same fight are linked; a dispatcher who knows better removes the link (audited)."""
    api = DispatchApi(await make_client(env=stack))
    first = await api.incident("Two men fighting outside the Futian metro station exit B, punching each other")
    second = await api.incident("Fight at Futian metro station exit B, two guys punching")
    # (On PostgreSQL the database is shared by the session's tests: other fights may be linked too.)
    linked = await api.call("GET", f"/api/incidents/{second['id']}")
    link = next(d for d in linked["duplicates"] if d["incident_id"] == first["id"])
    assert link["evidence"]

    after = await api.call("POST", f"/api/incidents/{second['id']}/duplicates/{first['id']}/unlink",
                           json={"reason": "different exits, caller confirmed two separate groups"})
    assert first["id"] not in [d["incident_id"] for d in after["duplicates"]]
    other_side = await api.call("GET", f"/api/incidents/{first['id']}")
    assert second["id"] not in [d["incident_id"] for d in other_side["duplicates"]]
    # Unlinking twice, or an unlinked pair, is a clear 404; the audit chain still verifies.
    err = await api.call("POST", f"/api/incidents/{second['id']}/duplicates/{first['id']}/unlink", 404)
    assert "not linked" in err["error"]["message"]
    await api.call("POST", f"/api/incidents/{second['id']}/duplicates/nope/unlink", 404)
    report = await api.call("GET", "/api/audit/verify", headers=auth(api.client.server.app, "admin"))
    assert report["ok"] is True


async def test_kiosk_fields_stay_evidence_when_text_is_added(make_client: Any) -> None:
    """Re-scoring after new text still sees the citizen's form fields, as the first scoring did."""
    api = DispatchApi(await make_client())
    report = {"template": "pickpocketing", "fields": {"time": "刚刚", "description": "小偷还在站台上"}}
    inc = await api.call("POST", "/api/incidents", 201, json={
        "text": "钱包被偷了", "source": "kiosk", "lang": "zh", "report": report})
    assert inc["level"] == "P2"  # just now, thief still on the platform: only the form says so
    again = await api.call("POST", f"/api/incidents/{inc['id']}/text", json={"text": "钱包是黑色的"})
    assert (again["level"], again["category"]) == (inc["level"], inc["category"])
    from_fields = [r for r in inc["reasons"] if r.get("start") == -1]
    assert from_fields, inc["reasons"]
    assert [r for r in again["reasons"] if r.get("start") == -1] == from_fields
