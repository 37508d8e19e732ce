"""Faults with counts: Redis killed and restarted, a server SIGKILLed, phones dropping, a server stopped.

One cluster for the module: a private redis-server, a fresh PostgreSQL database and two real server
processes (``python -m web.cli serve``). Each test registers its own units (spread over both servers),
pushes 60 orders through the REST API to officer WebSockets while its fault happens, then counts
created, delivered, acknowledged, duplicated and lost orders (see faultkit.py). Goal: 0 lost,
0 duplicate orders, every order acknowledged; re-sent messages are allowed (the phone de-duplicates
by order id). The long version (10,000 orders) is ``python bench/faults.py``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import pytest

from tests.reliability import faultkit as fk
from tests.reliability.helpers import pg_execute

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(180)]

UNITS, ORDERS = 10, 60


@pytest.fixture(scope="module")
async def cluster(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[fk.Cluster]:
    admin = pg_url.rsplit("/", 1)[0] + "/postgres"
    name = f"jyfault_{uuid.uuid4().hex[:8]}"
    await pg_execute(admin, f'CREATE DATABASE "{name}"')
    c = fk.Cluster(tmp_path_factory.mktemp("faults"), servers=2, database_url=admin.rsplit("/", 1)[0] + f"/{name}")
    try:
        await c.start()
        yield c
    finally:
        c.stop()
        await pg_execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _report(name: str, counts: fk.Counts) -> None:
    print(f"\nfault {name}: " + json.dumps(counts.as_dict()))


def _assert_nothing_lost(counts: fk.Counts) -> None:
    assert counts.created >= ORDERS
    assert counts.lost == 0, f"lost orders: {counts.lost_ids}"
    assert counts.duplicate_orders == 0
    assert counts.delivered == counts.created
    assert counts.acknowledged == counts.created


async def _run(cluster: fk.Cluster, fault: fk.Fault | None, drop: float = 0.0) -> fk.Counts:
    return await fk.Run(cluster, UNITS, ORDERS, ack_wait_s=20, drop_before_ack=drop).execute(fault)


async def test_redis_killed_and_restarted_mid_dispatch(cluster: fk.Cluster) -> None:
    counts = await _run(cluster, fk.redis_restart(down_s=2.0))
    _report("redis_restart", counts)
    assert counts.dispatch_retries + counts.queued > 0, "the outage was not noticed: the fault did not bite"
    _assert_nothing_lost(counts)


async def test_redis_restarted_empty_mid_dispatch(cluster: fk.Cluster) -> None:
    """Redis comes back without its data (no persistence): the database is the truth and refills it."""
    counts = await _run(cluster, fk.redis_restart(down_s=1.0, lose_data=True))
    _report("redis_restart_empty", counts)
    _assert_nothing_lost(counts)


async def test_server_sigkilled_mid_dispatch_and_restarted(cluster: fk.Cluster) -> None:
    counts = await _run(cluster, fk.server_sigkill())
    _report("server_sigkill", counts)
    assert counts.reconnects >= UNITS // 2, "the officers did not notice the kill"
    _assert_nothing_lost(counts)


async def test_officer_connections_dropped_repeatedly(cluster: fk.Cluster) -> None:
    counts = await _run(cluster, fk.drop_connections(times=5, every_s=0.5), drop=0.2)
    _report("connection_drops", counts)
    assert counts.reconnects >= 5 * UNITS
    _assert_nothing_lost(counts)


async def test_second_server_stopped_units_move_to_the_first(cluster: fk.Cluster) -> None:
    """Runs last in this module: it leaves one server."""
    assert len(cluster.procs) == 2
    counts = await _run(cluster, fk.server_stop(1))
    _report("second_server_stopped", counts)
    assert counts.reconnects >= UNITS // 2
    _assert_nothing_lost(counts)
