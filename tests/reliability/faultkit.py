"""Fault-run harness shared by tests/reliability/test_faults.py and bench/faults.py.

A run starts a private ``redis-server`` and one or two real server processes
(``python -m web.cli serve``), registers units, connects one officer WebSocket per unit and sends
orders through the REST API while a fault is injected. Every order is followed end to end:

* created      — orders the database holds at the end (the truth);
* delivered    — distinct orders an officer's phone received;
* acknowledged — distinct orders the server confirmed acknowledged (``acked``);
* duplicated   — extra receipts of an order already received (harmless: phones de-duplicate by id)
                 plus second open orders for one incident and unit (must be 0);
* lost         — created but never delivered.

The officer clients behave like the phone page: reconnect with back-off, de-duplicate by order id,
acknowledge every order they get. Nothing is mocked; the fault is a real signal to a real process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import signal
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.reliability.helpers import RedisProcess, ServerProcess, free_port
from web.auth import issue_token

SECRET = "fault-run-secret-" + "s" * 32
SCENES = ("a fight outside a shop", "a car crash with injuries", "a burglary in progress", "a stolen scooter",
          "a man shouting and throwing bottles", "a missing child", "smoke from a flat", "a road blocked by a truck")


@dataclass
class Counts:
    created: int = 0
    delivered: int = 0
    acknowledged: int = 0
    duplicated: int = 0
    duplicate_orders: int = 0
    lost: int = 0
    receipts: int = 0
    reconnects: int = 0
    dispatch_retries: int = 0
    queued: int = 0
    seconds: float = 0.0
    lost_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["lost_ids"] = self.lost_ids[:20]
        return out


@dataclass
class Cluster:
    """A private Redis and one or more server processes on it, sharing one database."""

    workdir: Path
    servers: int = 1
    database_url: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    redis: RedisProcess = field(init=False)
    procs: list[ServerProcess] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.redis = RedisProcess(self.workdir / "redis")

    def env(self) -> dict[str, str]:
        env = {"REDIS_URL": self.redis.url, "JINGYUN_SECRET": SECRET, "JINGYUN_REDIS_PREFIX": "jyfault:",
               "JINGYUN_DATA_DIR": str(self.workdir / "data"), "JINGYUN_LOG_JSON": "1",
               "JINGYUN_ACK_TIMEOUT": "600", "JINGYUN_ORDER_REDELIVERY": "1",
               "JINGYUN_DISPATCH_SWEEP_INTERVAL": "0.2", "JINGYUN_DISPATCH_LEASE_TTL": "2",
               "JINGYUN_LOAD_MODEL": "0"}
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        env.update(self.extra_env)
        return env

    async def start(self) -> None:
        self.redis.start()
        for i in range(self.servers):
            proc = ServerProcess(self.env(), self.workdir / f"server{i}.log", port=free_port())
            self.procs.append(proc)
            proc.start()
            # The first start applies migrations; later ones find them done.
            await proc.wait_ready()

    async def restart_server(self, i: int, sig: int = signal.SIGKILL) -> None:
        proc = self.procs[i]
        proc.kill(sig)
        proc.start()
        await proc.wait_ready()

    def stop(self) -> None:
        for proc in self.procs:
            proc.kill(signal.SIGTERM)
        self.redis.stop()

    @property
    def bases(self) -> list[str]:
        return [p.base for p in self.procs]


def token(role: str, unit: str | None = None) -> str:
    return issue_token(SECRET, role, unit_id=unit, ttl=7200, subject=f"unit:{unit}" if unit else f"fault-{role}")


class Officer:
    """One unit's phone: reconnects, de-duplicates by order id, acknowledges everything it gets."""

    def __init__(self, unit_id: str, bases: Callable[[], list[str]], http: aiohttp.ClientSession,
                 drop_before_ack: float = 0.0, seed: int = 0) -> None:
        self.unit_id = unit_id
        self.bases = bases
        self.http = http
        self.drop_before_ack = drop_before_ack
        self.rng = random.Random(seed)
        self.receipts: Counter[str] = Counter()
        self.ack_sent: set[str] = set()
        self.acked: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self.connections = 0
        self.connected = asyncio.Event()
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._server = 0

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 0.1
        while not stop.is_set():
            bases = self.bases()
            base = bases[self._server % len(bases)]
            try:
                async with self.http.ws_connect(f"{base}/ws/unit?token={token('officer', self.unit_id)}",
                                                heartbeat=5, timeout=aiohttp.ClientWSTimeout(ws_close=2)) as ws:
                    self.ws = ws
                    self.connections += 1
                    backoff = 0.1
                    await self._session(ws, stop, base)
            except (aiohttp.ClientError, OSError, TimeoutError):
                pass
            finally:
                self.connected.clear()
                self.ws = None
            if stop.is_set():
                return
            self._server += 1  # try the next server (a load balancer would do the same)
            await asyncio.sleep(backoff + self.rng.random() * 0.1)
            backoff = min(backoff * 2, 2.0)

    async def _session(self, ws: aiohttp.ClientWebSocketResponse, stop: asyncio.Event, base: str) -> None:
        async for msg in ws:
            if stop.is_set():
                return
            if msg.type is not aiohttp.WSMsgType.TEXT:
                return
            data = json.loads(msg.data)
            kind = data.get("type")
            if kind == "hello":
                self.connected.set()
                await self._settle_unconfirmed(base)
            elif kind == "order":
                oid = data["order"]["id"]
                self.receipts[oid] += 1
                if self.acked[oid].is_set():
                    continue
                if self.drop_before_ack and self.rng.random() < self.drop_before_ack:
                    await ws.close()  # the phone lost its signal before the officer could tap "ack"
                    return
                self.ack_sent.add(oid)
                await ws.send_json({"type": "ack", "order_id": oid})
            elif kind == "acked":
                self.acked[data["order_id"]].set()
            elif kind == "error" and data.get("request") == "ack" and data.get("code") == "conflict":
                # Already settled elsewhere (e.g. acknowledged before a reconnect): not ours to retry.
                self.acked[str(data.get("order_id"))].set()


    async def _settle_unconfirmed(self, base: str) -> None:
        """After a reconnect: acks sent whose answer was lost with the old connection are looked up,
        as the phone page does (an acknowledged order is not re-sent)."""
        for oid in [o for o in self.ack_sent if not self.acked[o].is_set()]:
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError, ValueError, KeyError):
                async with self.http.get(f"{base}/api/orders/{oid}", timeout=aiohttp.ClientTimeout(total=5),
                                         headers={"Authorization": f"Bearer {token('officer', self.unit_id)}"}
                                         ) as resp:
                    if resp.status == 200 and (await resp.json())["state"] in ("acknowledged", "completed"):
                        self.acked[oid].set()


class Driver:
    """The dispatcher side: incidents and orders through REST, retrying through faults."""

    def __init__(self, bases: Callable[[], list[str]], http: aiohttp.ClientSession) -> None:
        self.bases = bases
        self.http = http
        self.headers = {"Authorization": f"Bearer {token('dispatcher')}"}
        self.retries = 0
        self.created_ids: set[str] = set()
        self.queued = 0
        self._rr = 0
        self.run_tag = uuid.uuid4().hex[:6]

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None, *,
                   ok: tuple[int, ...] = (200, 201), give_up_s: float = 60.0) -> Any:
        deadline = time.monotonic() + give_up_s
        backoff = 0.05
        while True:
            bases = self.bases()
            base = bases[self._rr % len(bases)]
            self._rr += 1
            try:
                async with self.http.request(method, base + path, json=body, headers=self.headers,
                                             timeout=aiohttp.ClientTimeout(total=15)) as resp:
                    text = await resp.text()
                    if resp.status in ok:
                        return json.loads(text) if text else None
                    if resp.status < 500 and resp.status != 409:
                        raise AssertionError(f"{method} {path}: {resp.status} {text[:300]}")
            except (aiohttp.ClientError, OSError, TimeoutError):
                pass
            self.retries += 1
            if time.monotonic() > deadline:
                raise AssertionError(f"{method} {path}: no success within {give_up_s}s")
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 1.0)

    async def unit(self, n: int) -> str:
        body = {"callsign": f"Fault {self.run_tag} {n:05d}", "unit_type": "patrol_car",
                "capabilities": ["patrol", "armed"], "lat": 22.5 + n * 1e-4, "lon": 114.0}
        return str((await self.call("POST", "/api/units", body))["id"])

    async def order(self, unit_id: str, n: int) -> tuple[str, str]:
        """A new incident (spread over the district, so calls are not all duplicates of each other)
        and its order to ``unit_id``. Returns (incident id, order id)."""
        rng = random.Random(n)
        inc = await self.call("POST", "/api/incidents", {
            "text": f"Call {n}: {rng.choice(SCENES)} near building {rng.randint(1, 999)}", "source": "call",
            "lat": round(22.50 + rng.random() * 0.2, 5), "lon": round(113.90 + rng.random() * 0.3, 5)})
        order = await self.call("POST", f"/api/incidents/{inc['id']}/dispatch", {"unit_id": unit_id})
        self.created_ids.add(order["id"])
        self.queued += bool(order.get("queued"))  # kept in the database while Redis was unreachable
        return str(inc["id"]), str(order["id"])

    async def free(self, unit_id: str, incident_id: str) -> None:
        """The job is done: on scene, available (completes the order, frees the unit), incident closed."""
        for status in ("on_scene", "available"):
            with contextlib.suppress(AssertionError):
                await self.call("POST", f"/api/units/{unit_id}/status", {"status": status})
        with contextlib.suppress(AssertionError):
            await self.call("POST", f"/api/incidents/{incident_id}/status",
                            {"status": "closed", "reason": "done", "outcome_code": "settled_on_scene", "note": "done"})

    async def all_orders(self, unit_ids: list[str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for uid in unit_ids:
            data = await self.call("GET", f"/api/units/{uid}/orders")
            out.extend(data["orders"])
        return out


Fault = Callable[["Run"], Awaitable[None]]


@dataclass
class Run:
    cluster: Cluster
    units: int
    orders: int
    ack_wait_s: float = 20.0
    drop_before_ack: float = 0.0
    progress: int = 0
    unit_ids: list[str] = field(default_factory=list)
    officers: dict[str, Officer] = field(default_factory=dict)
    unit_server: dict[str, int] = field(default_factory=dict)

    async def execute(self, fault: Fault | None = None, fault_at: float = 0.33) -> Counts:
        start = time.monotonic()
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            driver = Driver(lambda: self.cluster.bases, http)
            self.unit_ids = [await driver.unit(n) for n in range(self.units)]
            stop = asyncio.Event()
            tasks = []
            for i, uid in enumerate(self.unit_ids):
                # Units are spread over the servers; each officer starts on "its" server.
                officer = Officer(uid, lambda: self.cluster.bases, http, self.drop_before_ack, seed=i)
                officer._server = i % len(self.cluster.procs)
                self.unit_server[uid] = officer._server
                self.officers[uid] = officer
                tasks.append(asyncio.ensure_future(officer.run(stop)))
            async with asyncio.timeout(60):
                await asyncio.gather(*(o.connected.wait() for o in self.officers.values()))
            fault_done = asyncio.Event()
            fault_task: asyncio.Task[None] | None = None
            trigger = int(self.orders * fault_at)
            per_unit, extra = divmod(self.orders, self.units)
            not_acked: list[str] = []

            async def worker(idx: int, uid: str) -> None:
                nonlocal fault_task
                for k in range(per_unit + (1 if idx < extra else 0)):
                    iid, oid = await driver.order(uid, idx * 100000 + k)
                    self.progress += 1
                    if fault and self.progress == trigger and fault_task is None:
                        fault_task = asyncio.ensure_future(self._fault(fault, fault_done))
                    try:
                        async with asyncio.timeout(self.ack_wait_s):
                            await self.officers[uid].acked[oid].wait()
                    except TimeoutError:
                        not_acked.append(oid)
                    await driver.free(uid, iid)

            await asyncio.gather(*(worker(i, uid) for i, uid in enumerate(self.unit_ids)))
            if fault_task is not None:
                await fault_task
            orders = await driver.all_orders(self.unit_ids)
            stop.set()
            for officer in self.officers.values():
                if officer.ws is not None:
                    with contextlib.suppress(Exception):
                        await officer.ws.close()
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(BaseException):
                    await t
        return self._count(orders, driver, time.monotonic() - start)

    async def _fault(self, fault: Fault, done: asyncio.Event) -> None:
        try:
            await fault(self)
        finally:
            done.set()

    def _count(self, orders: list[dict[str, Any]], driver: Driver, seconds: float) -> Counts:
        created = {o["id"] for o in orders} | driver.created_ids
        receipts: Counter[str] = Counter()
        acked: set[str] = set()
        for officer in self.officers.values():
            receipts.update(officer.receipts)
            acked.update(oid for oid, ev in officer.acked.items() if ev.is_set())
        # Only acknowledgements the server confirmed to the phone count (a unit reporting on_scene also
        # acknowledges implicitly in the database, which would hide an order the phone never saw).
        per_pair = Counter((o["incident_id"], o["unit_id"]) for o in orders)
        delivered = created & set(receipts)
        lost = sorted(created - delivered)
        return Counts(created=len(created), delivered=len(delivered), acknowledged=len(acked & created),
                      duplicated=sum(receipts.values()) - len(receipts),
                      duplicate_orders=sum(n - 1 for n in per_pair.values() if n > 1), lost=len(lost),
                      receipts=sum(receipts.values()), reconnects=sum(o.connections - 1 for o in
                                                                      self.officers.values()),
                      dispatch_retries=driver.retries, queued=driver.queued, seconds=round(seconds, 1), lost_ids=lost)


# ---- faults -------------------------------------------------------------------------------------------
def redis_restart(down_s: float = 1.5, lose_data: bool = False) -> Fault:
    """Kill the private Redis (SIGKILL: no goodbye) and start it again on the same port with its AOF,
    or (``lose_data``) empty, as a replacement server without persistence would come back."""

    async def fault(run: Run) -> None:
        run.cluster.redis.stop(signal.SIGKILL)
        if lose_data:
            import shutil

            shutil.rmtree(run.cluster.redis.dir / "appendonlydir", ignore_errors=True)
        await asyncio.sleep(down_s)
        run.cluster.redis.start()

    return fault


def server_sigkill(index: int = 0) -> Fault:
    """SIGKILL the server mid-dispatch and start it again (same port, database and Redis)."""

    async def fault(run: Run) -> None:
        await run.cluster.restart_server(index, signal.SIGKILL)

    return fault


def server_stop(index: int = 1) -> Fault:
    """Stop one of two servers for good (SIGTERM: graceful); its units must move to the other."""

    async def fault(run: Run) -> None:
        proc = run.cluster.procs[index]
        proc.kill(signal.SIGTERM)
        run.cluster.procs.pop(index)

    return fault


def drop_connections(times: int = 5, every_s: float = 0.5) -> Fault:
    """Cut every officer's connection, several times in a row."""

    async def fault(run: Run) -> None:
        for _ in range(times):
            for officer in run.officers.values():
                if officer.ws is not None:
                    with contextlib.suppress(Exception):
                        await officer.ws.close()
            await asyncio.sleep(every_s)

    return fault
