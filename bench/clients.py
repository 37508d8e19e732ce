"""The dispatch side of the load benchmarks: officer phones, consoles and the dispatcher's REST calls.

bench/load.py and bench/district.py drive these same clients and fill the same
:class:`DispatchStats`, so an order figure means the same thing in both. Every time here is wall
clock (``time.time()``): an order's ``committed_at`` comes from the server's clock, and the
request -> phone figures compare with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import random
import resource
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp


@dataclass
class DispatchStats:
    errors: Counter[str] = field(default_factory=Counter)
    sent_at: dict[str, float] = field(default_factory=dict)  # order id -> dispatch request sent
    received_at: dict[str, float] = field(default_factory=dict)  # order id -> first on the phone
    committed_ms: dict[str, float] = field(default_factory=dict)  # order's committed_at -> on the phone
    acked_at: dict[str, float] = field(default_factory=dict)  # order id -> the server confirmed the ack
    ack_events: dict[str, asyncio.Event] = field(default_factory=dict)
    receipts: int = 0  # order messages phones got, repeats included
    console_events: int = 0
    console_reconnects: int = 0

    def ack_event(self, order_id: str) -> asyncio.Event:
        return self.ack_events.setdefault(order_id, asyncio.Event())

    def order_figures(self) -> dict[str, Any]:
        """The order and console figures both benches report, under the same names."""
        sent = self.sent_at
        request = [1000 * (self.received_at[o] - t) for o, t in sent.items() if o in self.received_at]
        ack = [1000 * (self.acked_at[o] - t) for o, t in sent.items() if o in self.acked_at]
        committed = [self.committed_ms[o] for o in sent if o in self.committed_ms]
        return {
            "orders_created": len(sent),
            "orders_delivered": sum(o in self.received_at for o in sent),
            "orders_acked": sum(o in self.acked_at for o in sent),
            # The dispatch goal's figure: from the instant the order is durable to the phone.
            "committed_to_phone_p50_ms": rnd(pct(committed, 50), 1),
            "committed_to_phone_p99_ms": rnd(pct(committed, 99), 1),
            "request_to_phone_p50_ms": rnd(pct(request, 50), 1),
            "request_to_phone_p95_ms": rnd(pct(request, 95), 1),
            "request_to_phone_p99_ms": rnd(pct(request, 99), 1),
            "ack_p50_ms": rnd(pct(ack, 50), 1),
            "ack_p95_ms": rnd(pct(ack, 95), 1),
            "ack_p99_ms": rnd(pct(ack, 99), 1),
            "redundant_receipts": self.receipts - len(self.received_at),
            "console_events": self.console_events,
            "console_reconnects": self.console_reconnects,
        }


def pct(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default), None without data."""
    if not values:
        return None
    data = sorted(values)
    pos = (len(data) - 1) * q / 100
    lo, hi = int(pos), min(int(pos) + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def rnd(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def epoch(iso: str) -> float:
    return dt.datetime.fromisoformat(iso).timestamp()


def raise_fd_limit() -> int:
    """Each socket is a file descriptor here and in the server, which inherits this limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def phone(http: aiohttp.ClientSession, base: str, token: str, stats: DispatchStats, stop: asyncio.Event,
                connected: asyncio.Event) -> None:
    """An officer's phone page: acknowledges every order at once; reconnects when the socket drops."""
    while not stop.is_set():
        try:
            async with http.ws_connect(f"{base}/ws/unit?token={token}", heartbeat=30) as ws:
                async for msg in ws:
                    if msg.type is not aiohttp.WSMsgType.TEXT:
                        break
                    now = time.time()
                    data = json.loads(msg.data)
                    kind = data.get("type")
                    if kind == "hello":
                        connected.set()
                    elif kind == "order":
                        order = data["order"]
                        oid = order["id"]
                        stats.receipts += 1
                        if oid not in stats.received_at:
                            stats.received_at[oid] = now
                            if order.get("committed_at"):  # absent on orders that waited out a Redis outage
                                stats.committed_ms[oid] = 1000 * (now - epoch(order["committed_at"]))
                        await ws.send_json({"type": "ack", "order_id": oid})
                    elif kind == "acked":
                        oid = data["order_id"]
                        stats.acked_at.setdefault(oid, now)
                        stats.ack_event(oid).set()
                    elif kind == "error":
                        stats.errors[f"unit_ws_error:{data.get('code')}"] += 1
            if not stop.is_set():
                stats.errors["unit_ws_closed"] += 1
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            stats.errors[f"unit_ws_connect:{exc.__class__.__name__}"] += 1
        if not stop.is_set():
            await asyncio.sleep(1.0 + random.random())


async def console(http: aiohttp.ClientSession, base: str, token: str, stats: DispatchStats,
                  stop: asyncio.Event) -> None:
    """A dispatcher's console: reads every live event; reconnects when the socket drops."""
    while not stop.is_set():
        try:
            async with http.ws_connect(f"{base}/ws/console?token={token}", heartbeat=30) as ws:
                async for msg in ws:
                    if msg.type is not aiohttp.WSMsgType.TEXT:
                        break
                    stats.console_events += 1
            if not stop.is_set():
                stats.console_reconnects += 1
                stats.errors[f"console_closed:{ws.close_code}"] += 1
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            stats.errors[f"console_connect:{exc.__class__.__name__}"] += 1
        if not stop.is_set():
            await asyncio.sleep(1.0)


async def connect_phones_and_consoles(http: aiohttp.ClientSession, base: str, units: list[str], consoles: int,
                                      tok: Callable[..., str], stats: DispatchStats, stop: asyncio.Event,
                                      tasks: list[asyncio.Task[None]]) -> int:
    """One phone per unit (5 ms apart, as phones come online), then the consoles; adds their tasks to
    ``tasks`` and returns how many phones said hello within 120 s."""
    connected = {u: asyncio.Event() for u in units}
    for u in units:
        tasks.append(asyncio.ensure_future(phone(http, base, tok("officer", u), stats, stop, connected[u])))
        await asyncio.sleep(0.005)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(120):
            await asyncio.gather(*(e.wait() for e in connected.values()))
    for _ in range(consoles):
        tasks.append(asyncio.ensure_future(console(http, base, tok("dispatcher"), stats, stop)))
    return sum(e.is_set() for e in connected.values())


class Rest:
    """The dispatcher's REST calls; a failed call is counted in ``stats.errors`` and answers None."""

    def __init__(self, http: aiohttp.ClientSession, base: str, token: str, stats: DispatchStats) -> None:
        self.http, self.base, self.stats = http, base, stats
        self.headers = {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None, *,
                   quiet: tuple[int, ...] = ()) -> Any:
        try:
            async with self.http.request(method, self.base + path, json=body, headers=self.headers,
                                         timeout=aiohttp.ClientTimeout(total=60)) as resp:
                text = await resp.text()
                if resp.status >= 300:
                    if resp.status not in quiet:
                        self.stats.errors[f"http_{resp.status}:{method} {path.split('?')[0].split('/')[2]}"] += 1
                    return None
                return json.loads(text) if text else {}
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            self.stats.errors[f"http_{exc.__class__.__name__}"] += 1
            return None

    async def make_units(self, n: int, label: str) -> list[str]:
        """``n`` patrol cars spread over Futian, 32 requests at a time; the ids of those created."""
        sem = asyncio.Semaphore(32)

        async def one(i: int) -> str | None:
            async with sem:
                unit = await self.call("POST", "/api/units", {
                    "callsign": f"{label} {i:05d}", "unit_type": "patrol_car", "capabilities": ["patrol", "armed"],
                    "lat": round(22.50 + (i % 100) * 0.002, 5), "lon": round(113.90 + (i // 100) * 0.03, 5)})
                return None if unit is None else str(unit["id"])

        return [u for u in await asyncio.gather(*(one(i) for i in range(n))) if u]

    async def job(self, unit: str, n: int, free: asyncio.Queue[str]) -> None:
        """One call: incident, dispatch, wait for the ack, on scene, available, closed."""
        rng = random.Random(n)
        try:
            inc = await self.call("POST", "/api/incidents", {
                "text": f"Call {n}: a fight outside shop {rng.randint(1, 999)}", "source": "call",
                # spread out, so that incidents are not linked as duplicates of each other
                "lat": round(22.50 + rng.random() * 0.2, 5), "lon": round(113.90 + rng.random() * 0.3, 5)})
            if inc is None:
                return
            sent = time.time()
            order = await self.call("POST", f"/api/incidents/{inc['id']}/dispatch", {"unit_id": unit})
            if order is None:
                return
            oid = order["id"]
            self.stats.sent_at[oid] = sent
            try:
                async with asyncio.timeout(60):
                    await self.stats.ack_event(oid).wait()
            except TimeoutError:
                self.stats.errors["order_not_acked_in_60s"] += 1
            for status in ("on_scene", "available"):
                await self.call("POST", f"/api/units/{unit}/status", {"status": status})
            await self.call("POST", f"/api/incidents/{inc['id']}/status",
                            {"status": "closed", "reason": "done", "outcome_code": "settled_on_scene", "note": "bench"})
        finally:
            free.put_nowait(unit)


async def dispatch_open_loop(rest: Rest, units: list[str], rate: float, t0: float, t_stop: float,
                             jobs: set[asyncio.Task[None]]) -> int:
    """Job n starts at monotonic ``t0 + n / rate``, whatever the replies do (as calls arrive); a call
    that finds every unit busy is counted as ``no_free_unit``. Returns the calls started."""
    free: asyncio.Queue[str] = asyncio.Queue()
    for u in units:
        free.put_nowait(u)
    n = 0
    while (at := t0 + n / rate) < t_stop:
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        if free.empty():
            rest.stats.errors["no_free_unit"] += 1
        else:
            job = asyncio.ensure_future(rest.job(free.get_nowait(), n, free))
            jobs.add(job)
            job.add_done_callback(jobs.discard)
        n += 1
    return n
