"""Load and soak: 1,000 officer phones, 8 real-time audio streams and 20 consoles on one server.

    python bench/load.py [--duration 600] [--units 1000] [--audio 8] [--consoles 20] [--rate 5]
                         [--model tiny.en] [--database-url postgresql://...] [--redis-url redis://...]

Starts ``python -m web.cli serve`` (SQLite in a temp dir, or a fresh PostgreSQL database when
--database-url names a server; a private redis-server unless --redis-url is given, then under a
private key prefix), registers the units, opens one officer WebSocket per unit (each acknowledges
every order it gets, like the phone page), the console WebSockets (each reads every live event)
and the audio streams (a WAV from ../shared/audio replayed at real-time pace, over and over).
During ``--duration`` seconds the dispatcher side creates incidents and dispatches each to a free
unit at ``--rate`` orders per second; when the phone acknowledges, the unit reports on scene and
available and the incident is closed, so the unit can take the next order.

Prints orders created/delivered/acknowledged, throughput, latency percentiles (dispatch request
sent -> order on the phone, -> acknowledgement confirmed, and the order's ``committed_at`` -> on the
phone, the figure bench/dispatch_push.py holds to its goal), errors of every kind, console events,
audio finals and lag events, and the server's RSS at the start and the end (growth in %).
Last line: one JSON object. Loopback only; it stops by itself after the duration.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import resource
import signal
import statistics
import sys
import tempfile
import time
import uuid
import wave
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.reliability.helpers import RedisProcess, ServerProcess  # noqa: E402
from web.auth import issue_token  # noqa: E402

SECRET = "load-bench-secret-" + "l" * 30


def raise_fd_limit() -> int:
    """Each phone is a socket on both ends; the server process inherits this limit."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return round(s[min(len(s) - 1, int(p / 100 * len(s)))], 1)


class Stats:
    def __init__(self) -> None:
        self.errors: Counter[str] = Counter()
        self.sent_at: dict[str, float] = {}
        self.received_at: dict[str, float] = {}
        self.committed_ms: dict[str, float] = {}  # order's committed_at -> on the phone (wall clock)
        self.acked_at: dict[str, float] = {}
        self.receipts = 0
        self.console_events = 0
        self.console_closed = 0
        self.finals = 0
        self.lag_events = 0
        self.audio_seconds = 0.0
        self.audio_errors: Counter[str] = Counter()
        self.ack_events: dict[str, asyncio.Event] = {}


def tok(role: str, unit: str | None = None) -> str:
    return issue_token(SECRET, role, unit_id=unit, ttl=86400, subject=f"unit:{unit}" if unit else f"load-{role}")


async def phone(http: aiohttp.ClientSession, base: str, unit: str, stats: Stats, stop: asyncio.Event,
                connected: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            async with http.ws_connect(f"{base}/ws/unit?token={tok('officer', unit)}", heartbeat=30) as ws:
                async for msg in ws:
                    if msg.type is not aiohttp.WSMsgType.TEXT:
                        break
                    data = json.loads(msg.data)
                    kind = data["type"]
                    if kind == "hello":
                        connected.set()
                    elif kind == "order":
                        oid = data["order"]["id"]
                        stats.receipts += 1
                        if oid not in stats.received_at:
                            stats.received_at[oid] = time.monotonic()
                            committed = data["order"].get("committed_at")
                            if committed:  # absent on orders that waited out a Redis outage
                                stats.committed_ms[oid] = 1000 * (
                                    time.time() - dt.datetime.fromisoformat(committed).timestamp())
                            await ws.send_json({"type": "ack", "order_id": oid})
                    elif kind == "acked":
                        oid = data["order_id"]
                        if oid not in stats.acked_at:
                            stats.acked_at[oid] = time.monotonic()
                            ev = stats.ack_events.get(oid)
                            if ev:
                                ev.set()
                    elif kind == "error":
                        stats.errors[f"unit_ws_error:{data.get('code')}"] += 1
            if not stop.is_set():
                stats.errors["unit_ws_closed"] += 1
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            stats.errors[f"unit_ws_connect:{exc.__class__.__name__}"] += 1
        if not stop.is_set():
            await asyncio.sleep(1.0 + random.random())


async def console(http: aiohttp.ClientSession, base: str, stats: Stats, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            async with http.ws_connect(f"{base}/ws/console?token={tok('dispatcher')}", heartbeat=30) as ws:
                async for msg in ws:
                    if msg.type is not aiohttp.WSMsgType.TEXT:
                        break
                    stats.console_events += 1
            if not stop.is_set():
                stats.console_closed += 1
                stats.errors[f"console_closed:{ws.close_code}"] += 1
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            stats.errors[f"console_connect:{exc.__class__.__name__}"] += 1
        if not stop.is_set():
            await asyncio.sleep(1.0)


async def audio(http: aiohttp.ClientSession, base: str, pcm: bytes, stats: Stats, stop: asyncio.Event,
                n: int) -> None:
    chunk = 3200  # 100 ms of 16 kHz s16le
    while not stop.is_set():
        try:
            async with http.ws_connect(f"{base}/ws/transcribe?token={tok('service')}") as ws:
                await ws.send_json({"type": "config", "sample_rate": 16000, "language": "en",
                                    "source": "load", "channel": f"load-{n}"})
                ready = await ws.receive_json(timeout=30)
                if ready.get("type") != "ready":
                    stats.audio_errors[f"not_ready:{ready.get('code') or ready.get('type')}"] += 1
                    await asyncio.sleep(2)
                    continue

                async def read() -> None:
                    async for msg in ws:
                        if msg.type is not aiohttp.WSMsgType.TEXT:
                            return
                        ev = json.loads(msg.data)
                        if ev["type"] == "final":
                            stats.finals += 1
                        elif ev["type"] == "lag":
                            stats.lag_events += 1
                        elif ev["type"] == "error":
                            stats.audio_errors[ev.get("code", "?")] += 1
                        elif ev["type"] == "closed":
                            return

                reader = asyncio.ensure_future(read())
                t0 = time.monotonic()
                for i, off in enumerate(range(0, len(pcm), chunk)):
                    if stop.is_set():
                        break
                    await ws.send_bytes(pcm[off:off + chunk])
                    stats.audio_seconds += len(pcm[off:off + chunk]) / 32000
                    delay = t0 + (i + 1) * 0.1 - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                await ws.send_json({"type": "end"})
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(60):
                        await reader
                reader.cancel()
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            stats.audio_errors[f"connect:{exc.__class__.__name__}"] += 1
            await asyncio.sleep(1.0)


class Dispatcher:
    def __init__(self, http: aiohttp.ClientSession, base: str, stats: Stats) -> None:
        self.http, self.base, self.stats = http, base, stats
        self.headers = {"Authorization": f"Bearer {tok('dispatcher')}"}

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            async with self.http.request(method, self.base + path, json=body, headers=self.headers,
                                         timeout=aiohttp.ClientTimeout(total=60)) as resp:
                text = await resp.text()
                if resp.status >= 300:
                    self.stats.errors[f"http_{resp.status}:{path.split('/')[2]}"] += 1
                    return None
                return json.loads(text) if text else {}
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            self.stats.errors[f"http_{exc.__class__.__name__}"] += 1
            return None

    async def job(self, unit: str, n: int, free: asyncio.Queue[str]) -> None:
        rng = random.Random(n)
        try:
            inc = await self.call("POST", "/api/incidents", {
                "text": f"Call {n}: a fight outside shop {rng.randint(1, 999)}", "source": "call",
                "lat": round(22.50 + rng.random() * 0.2, 5), "lon": round(113.90 + rng.random() * 0.3, 5)})
            if inc is None:
                return
            sent = time.monotonic()
            order = await self.call("POST", f"/api/incidents/{inc['id']}/dispatch", {"unit_id": unit})
            if order is None:
                return
            oid = order["id"]
            self.stats.sent_at[oid] = sent
            ev = self.stats.ack_events.setdefault(oid, asyncio.Event())
            if oid in self.stats.acked_at:
                ev.set()
            try:
                async with asyncio.timeout(60):
                    await ev.wait()
            except TimeoutError:
                self.stats.errors["order_not_acked_in_60s"] += 1
            for status in ("on_scene", "available"):
                await self.call("POST", f"/api/units/{unit}/status", {"status": status})
            await self.call("POST", f"/api/incidents/{inc['id']}/status",
                            {"status": "closed", "reason": "done", "outcome_code": "settled_on_scene", "note": "bench"})
        finally:
            free.put_nowait(unit)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    fd_limit = raise_fd_limit()
    work = Path(tempfile.mkdtemp(prefix="jingyun-load-"))
    redis: RedisProcess | None = None
    redis_url = args.redis_url
    if not redis_url:
        redis = RedisProcess(work / "redis")
        redis.start()
        redis_url = redis.url
    env = {"REDIS_URL": redis_url, "JINGYUN_SECRET": SECRET, "JINGYUN_DATA_DIR": str(work / "data"),
           "JINGYUN_REDIS_PREFIX": f"jyload:{uuid.uuid4().hex[:6]}:", "JINGYUN_LOG_LEVEL": "WARNING",
           "JINGYUN_LOAD_MODEL": "1" if args.audio else "0", "JINGYUN_MODEL": args.model,
           "JINGYUN_ACK_TIMEOUT": "120", "JINGYUN_MAX_STREAMS": str(max(16, args.audio * 2))}
    db_admin = db_name = None
    if args.database_url:
        import asyncpg

        db_admin = args.database_url.rsplit("/", 1)[0] + "/postgres"
        db_name = f"jyload_{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(db_admin)
        await conn.execute(f'CREATE DATABASE "{db_name}"')
        await conn.close()
        env["DATABASE_URL"] = db_admin.rsplit("/", 1)[0] + f"/{db_name}"
    server = ServerProcess(env, work / "server.log")
    server.start()
    stats = Stats()
    stop = asyncio.Event()
    result: dict[str, Any] = {}
    try:
        await server.wait_ready(within=180, need=("redis", "database", "model") if args.audio else
                                ("redis", "database"))
        assert server.proc is not None
        pid = server.proc.pid
        connector = aiohttp.TCPConnector(limit=0, force_close=False)
        async with aiohttp.ClientSession(connector=connector) as http:
            d = Dispatcher(http, server.base, stats)
            sem = asyncio.Semaphore(32)

            async def make_unit(i: int) -> str | None:
                async with sem:
                    u = await d.call("POST", "/api/units", {
                        "callsign": f"Load {i:05d}", "unit_type": "patrol_car", "capabilities": ["patrol", "armed"],
                        "lat": round(22.50 + (i % 100) * 0.002, 5), "lon": round(113.90 + (i // 100) * 0.03, 5)})
                    return None if u is None else str(u["id"])

            t_setup = time.monotonic()
            units = [u for u in await asyncio.gather(*(make_unit(i) for i in range(args.units))) if u]
            connected = {u: asyncio.Event() for u in units}
            tasks: list[asyncio.Task[None]] = []
            for u in units:
                tasks.append(asyncio.ensure_future(phone(http, server.base, u, stats, stop, connected[u])))
                await asyncio.sleep(0.005)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(120):
                    await asyncio.gather(*(e.wait() for e in connected.values()))
            phones_up = sum(e.is_set() for e in connected.values())
            for _ in range(args.consoles):
                tasks.append(asyncio.ensure_future(console(http, server.base, stats, stop)))
            if args.audio:
                wav = Path(args.wav)
                with wave.open(str(wav), "rb") as w:
                    pcm = w.readframes(w.getnframes())
                for n in range(args.audio):
                    tasks.append(asyncio.ensure_future(audio(http, server.base, pcm, stats, stop, n)))
            setup_s = time.monotonic() - t_setup
            await asyncio.sleep(2)
            rss_start = rss_mb(pid)
            free: asyncio.Queue[str] = asyncio.Queue()
            for u in units:
                free.put_nowait(u)
            jobs: set[asyncio.Task[None]] = set()
            start = time.monotonic()
            n = 0
            rss_peak = rss_start
            samples: list[float] = []
            next_sample = start
            while (now := time.monotonic()) < start + args.duration:
                target = int((now - start) * args.rate)
                while n < target and not free.empty():
                    job = asyncio.ensure_future(d.job(free.get_nowait(), n, free))
                    jobs.add(job)
                    job.add_done_callback(jobs.discard)
                    n += 1
                if n < target and free.empty():
                    stats.errors["no_free_unit"] += 1
                    n = target
                rss_peak = max(rss_peak, rss_mb(pid))
                if now >= next_sample:  # a trend, to tell warm-up from growth
                    samples.append(round(rss_mb(pid), 1))
                    next_sample += args.duration / 10
                await asyncio.sleep(0.05)
            elapsed = time.monotonic() - start
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(90):
                    await asyncio.gather(*jobs)
            rss_end = rss_mb(pid)
            stop.set()
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(BaseException):
                    await t
        mid = samples[len(samples) // 2] if samples else 0.0
        deliver = [1000 * (stats.received_at[o] - t) for o, t in stats.sent_at.items() if o in stats.received_at]
        ack = [1000 * (stats.acked_at[o] - t) for o, t in stats.sent_at.items() if o in stats.acked_at]
        created = len(stats.sent_at)
        result = {
            "duration_s": round(elapsed, 1), "units": len(units), "phones_connected": phones_up,
            "consoles": args.consoles, "audio_streams": args.audio, "rate_requested": args.rate,
            "orders_created": created, "orders_delivered": sum(o in stats.received_at for o in stats.sent_at),
            "orders_acknowledged": sum(o in stats.acked_at for o in stats.sent_at),
            "throughput_orders_per_s": round(created / elapsed, 2) if elapsed else 0,
            "deliver_p50_ms": pct(deliver, 50), "deliver_p95_ms": pct(deliver, 95), "deliver_p99_ms": pct(deliver, 99),
            "ack_p50_ms": pct(ack, 50), "ack_p95_ms": pct(ack, 95), "ack_p99_ms": pct(ack, 99),
            "deliver_mean_ms": round(statistics.fmean(deliver), 1) if deliver else None,
            # The dispatch issue's figure: from the instant the order is durable to the phone.
            "committed_to_phone_p50_ms": pct(list(stats.committed_ms.values()), 50),
            "committed_to_phone_p99_ms": pct(list(stats.committed_ms.values()), 99),
            "redundant_receipts": stats.receipts - len(stats.received_at),
            "console_events": stats.console_events, "console_reconnects": stats.console_closed,
            "audio_seconds_sent": round(stats.audio_seconds, 1), "audio_finals": stats.finals,
            "audio_lag_events": stats.lag_events, "audio_errors": dict(stats.audio_errors),
            "errors": dict(stats.errors), "error_count": sum(stats.errors.values()) + sum(stats.audio_errors.values()),
            "rss_start_mb": round(rss_start, 1), "rss_end_mb": round(rss_end, 1), "rss_peak_mb": round(rss_peak, 1),
            "rss_growth_pct": round(100 * (rss_end - rss_start) / rss_start, 1) if rss_start else None,
            "rss_samples_mb": samples,
            "rss_growth_second_half_pct": round(100 * (rss_end - mid) / mid, 1) if mid else None,
            "setup_s": round(setup_s, 1), "fd_limit": fd_limit,
            "database": "postgresql" if args.database_url else "sqlite", "model": args.model if args.audio else None,
        }
    finally:
        server.kill(signal.SIGTERM)
        if redis:
            redis.stop()
        if db_admin and db_name:
            import asyncpg

            conn = await asyncpg.connect(db_admin)
            await conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
            await conn.close()
        if not args.keep:
            import shutil

            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"work dir kept: {work}", file=sys.stderr)
    return result


def cli() -> None:
    shared = Path(os.environ.get("JINGYUN_SHARED_DIR", REPO.parent / "shared"))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=600.0)
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--audio", type=int, default=8)
    parser.add_argument("--consoles", type=int, default=20)
    parser.add_argument("--rate", type=float, default=5.0, help="orders per second")
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--wav", default=str(shared / "audio" / "real" / "en_jfk.wav"))
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(main(args))
    for key, value in result.items():
        print(f"{key:>26}: {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    cli()
