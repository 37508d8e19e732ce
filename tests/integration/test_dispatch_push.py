"""The order push path, on both stacks (SQLite + embedded Valkey, PostgreSQL + the Redis server):
one Redis script puts the order on the unit's Stream *and* in its pending list and publishes it ready
to send; acknowledging settles every Redis trace of it; a Redis that lost the unit's Stream and
group still gets the order through."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from dispatch import keys
from tests.conftest import auth
from tests.fixtures_dispatch import FAST_TIMERS, DispatchApi
from web import appkeys

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


def _redis(api: DispatchApi) -> tuple[Any, str]:
    assert api.app is not None
    return api.app[appkeys.REDIS], api.app[appkeys.SETTINGS].redis_prefix


def _t(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))


async def test_pushed_order_is_pending_at_once_and_ack_settles_redis(make_client: Any, stack: dict[str, str]) -> None:
    api = DispatchApi(await make_client(env={**stack, **FAST_TIMERS}))
    redis, prefix = _redis(api)
    unit = await api.unit("Push 01", lat=31.2304, lon=121.4737)
    inc = await api.incident(lat=31.2304, lon=121.4737)
    order = await api.dispatch(inc["id"], unit["id"])  # the phone is connected nowhere
    stream = keys.order_stream(prefix, unit["id"])

    # Already in the unit's pending list (read by the push itself), with the instant it became durable.
    pending = await redis.xpending(stream, keys.ORDER_GROUP)
    assert pending["pending"] == 1
    assert [(c["name"].decode() if isinstance(c["name"], bytes) else c["name"]) for c in pending["consumers"]] \
        == [unit["id"]]
    (_entry_id, fields), = await redis.xrange(stream)
    stored = json.loads(fields[b"order"])
    assert stored["id"] == order["id"] and _t(stored["committed_at"]) >= _t(stored["created_at"])

    sock = await api.unit_ws(unit["id"])  # reconnect: the pending list is replayed
    got = await sock.next("order")
    assert got["order"]["id"] == order["id"] and got.get("replay") is True
    await sock.send({"type": "ack", "order_id": order["id"]})
    assert (await sock.next("acked"))["order"]["state"] == "acknowledged"

    # One round trip settled it: off the pending list, no deadline, no order -> entry; audit head current.
    assert (await redis.xpending(stream, keys.ORDER_GROUP))["pending"] == 0
    assert await redis.hget(keys.order_entries(prefix), order["id"]) is None
    assert await redis.zscore(keys.ack_deadlines(prefix), order["id"]) is None
    report = await api.call("GET", "/api/audit/verify", headers=auth(api.client.server.app, "admin"))
    assert report["ok"] is True, report

    # Live: a connected phone gets the next order as sent by the push, with committed_at.
    inc2 = await api.incident("Shop alarm sounding on Zhenhua Road, shutter forced, suspect may be inside",
                              lat=31.2304, lon=121.4737)
    await api.call("POST", f"/api/units/{unit['id']}/status", json={"status": "available"})
    order2 = await api.dispatch(inc2["id"], unit["id"])
    live = await sock.next("order", where=lambda m: m["order"]["id"] == order2["id"])
    assert "replay" not in live and live["order"]["incident"]["id"] == inc2["id"]
    assert _t(live["order"]["committed_at"]) >= _t(live["order"]["created_at"])
    await sock.send({"type": "ack", "order_id": order2["id"]})
    await sock.next("acked")
    for i in (inc, inc2):  # the PostgreSQL database is shared by the session's tests: leave nothing open
        await api.call("POST", f"/api/incidents/{i['id']}/status",
                       json={"status": "closed", "outcome_code": "settled_on_scene", "note": "test"})
    await sock.close()


async def test_order_gets_through_when_redis_lost_the_units_stream(make_client: Any, stack: dict[str, str]) -> None:
    """Redis restarted empty, say: the unit's Stream and consumer group are gone. The push recreates
    them, and the order reaches the connected phone and waits in its pending list."""
    api = DispatchApi(await make_client(env={**stack, **FAST_TIMERS}))
    redis, prefix = _redis(api)
    unit = await api.unit("Push 02", lat=31.2304, lon=121.4737)
    sock = await api.unit_ws(unit["id"])
    stream = keys.order_stream(prefix, unit["id"])
    assert await redis.delete(stream) == 1
    inc = await api.incident(lat=31.2304, lon=121.4737)
    order = await api.dispatch(inc["id"], unit["id"])
    assert "queued" not in order
    assert (await sock.next("order"))["order"]["id"] == order["id"]
    assert (await redis.xpending(stream, keys.ORDER_GROUP))["pending"] == 1
    await sock.send({"type": "ack", "order_id": order["id"]})
    await sock.next("acked")
    assert (await redis.xpending(stream, keys.ORDER_GROUP))["pending"] == 0
    await api.call("POST", f"/api/incidents/{inc['id']}/status",
                   json={"status": "closed", "outcome_code": "settled_on_scene", "note": "test"})
    await sock.close()


async def test_callers_later_words_reach_the_unit_on_the_job_and_only_it(make_client: Any,
                                                                         stack: dict[str, str]) -> None:
    """Text added after dispatch ("he has a knife") goes to the phone of the unit holding the order,
    live and again when the phone reconnects; another unit's phone gets nothing of it."""
    api = DispatchApi(await make_client(env={**stack, **FAST_TIMERS}))
    unit = await api.unit("Update 01", lat=31.2304, lon=121.4737)
    other = await api.unit("Update 02", lat=31.2310, lon=121.4740)
    inc = await api.incident(lat=31.2304, lon=121.4737)
    order = await api.dispatch(inc["id"], unit["id"])
    sock = await api.unit_ws(unit["id"])
    bystander = await api.unit_ws(other["id"])
    first = await sock.next("order")
    assert first["order"]["incident"]["updated_at"]

    await api.call("POST", f"/api/incidents/{inc['id']}/text",
                   json={"text": "The man has a knife, red jacket", "source": "call"})
    update = await sock.next("order_incident", where=lambda m: "knife" in m["incident"]["text"])
    assert update["order_id"] == order["id"]
    assert update["incident"]["text"].endswith("The man has a knife, red jacket")
    assert _t(update["incident"]["updated_at"]) > _t(first["order"]["incident"]["updated_at"])
    # A dispatcher's level reaches the phone the same way.
    await api.call("POST", f"/api/incidents/{inc['id']}/priority", json={"priority": 2, "reason": "fight is over"})
    level = await sock.next("order_incident", where=lambda m: m["incident"]["level"] == "P4")
    assert level["incident"]["priority"] == 2 and "knife" in level["incident"]["text"]
    await bystander.send({"type": "ping"})
    await bystander.next("pong")
    assert not [m for m in bystander.seen if m.get("type") == "order_incident"]

    # Acknowledged, then the phone drops and comes back: it gets the latest on connect.
    await sock.send({"type": "ack", "order_id": order["id"]})
    await sock.next("acked")
    await sock.close()
    await api.call("POST", f"/api/incidents/{inc['id']}/text",
                   json={"text": "Now heading north on foot", "source": "call"})
    back = await api.unit_ws(unit["id"])
    again = await back.next("order_incident", where=lambda m: m["order_id"] == order["id"])
    assert again["order_id"] == order["id"] and again["incident"]["text"].endswith("Now heading north on foot")
    await back.close()
    await bystander.close()
