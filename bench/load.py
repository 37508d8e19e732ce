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
import json
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
import wave
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.clients import (  # noqa: E402
    DispatchStats,
    Rest,
    connect_phones_and_consoles,
    dispatch_open_loop,
    raise_fd_limit,
)
from tests.reliability.helpers import RedisProcess, ServerProcess, pg_execute  # noqa: E402
from web.auth import issue_token  # noqa: E402

SECRET = "load-bench-secret-" + "l" * 30


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Stats(DispatchStats):
    finals: int = 0
    lag_events: int = 0
    audio_seconds: float = 0.0
    audio_errors: Counter[str] = field(default_factory=Counter)


def tok(role: str, unit: str | None = None) -> str:
    return issue_token(SECRET, role, unit_id=unit, ttl=86400, subject=f"unit:{unit}" if unit else f"load-{role}")


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
        db_admin = args.database_url.rsplit("/", 1)[0] + "/postgres"
        db_name = f"jyload_{uuid.uuid4().hex[:8]}"
        await pg_execute(db_admin, f'CREATE DATABASE "{db_name}"')
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
            rest = Rest(http, server.base, tok("dispatcher"), stats)
            t_setup = time.monotonic()
            units = await rest.make_units(args.units, "Load")
            tasks: list[asyncio.Task[None]] = []
            phones_up = await connect_phones_and_consoles(http, server.base, units, args.consoles, tok, stats, stop,
                                                          tasks)
            if args.audio:
                wav = Path(args.wav)
                with wave.open(str(wav), "rb") as w:
                    pcm = w.readframes(w.getnframes())
                for n in range(args.audio):
                    tasks.append(asyncio.ensure_future(audio(http, server.base, pcm, stats, stop, n)))
            setup_s = time.monotonic() - t_setup
            await asyncio.sleep(2)
            rss_start = rss_mb(pid)
            samples: list[float] = []
            rss_peak = rss_start

            async def watch_rss(start: float) -> None:
                nonlocal rss_peak
                next_sample = start
                while True:
                    rss_peak = max(rss_peak, rss_mb(pid))
                    if time.monotonic() >= next_sample:  # a trend, to tell warm-up from growth
                        samples.append(round(rss_mb(pid), 1))
                        next_sample += args.duration / 10
                    await asyncio.sleep(0.05)

            jobs: set[asyncio.Task[None]] = set()
            start = time.monotonic()
            watcher = asyncio.ensure_future(watch_rss(start))
            tasks.append(watcher)
            await dispatch_open_loop(rest, units, args.rate, start, start + args.duration, jobs)
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
        orders = stats.order_figures()
        deliver = [1000 * (stats.received_at[o] - t) for o, t in stats.sent_at.items() if o in stats.received_at]
        created = orders["orders_created"]
        result = {
            "duration_s": round(elapsed, 1), "units": len(units), "phones_connected": phones_up,
            "consoles": args.consoles, "audio_streams": args.audio, "rate_requested": args.rate,
            "orders_created": created, "orders_delivered": orders["orders_delivered"],
            "orders_acknowledged": orders["orders_acked"],
            "throughput_orders_per_s": round(created / elapsed, 2) if elapsed else 0,
            "deliver_p50_ms": orders["request_to_phone_p50_ms"], "deliver_p95_ms": orders["request_to_phone_p95_ms"],
            "deliver_p99_ms": orders["request_to_phone_p99_ms"],
            "ack_p50_ms": orders["ack_p50_ms"], "ack_p95_ms": orders["ack_p95_ms"], "ack_p99_ms": orders["ack_p99_ms"],
            "deliver_mean_ms": round(statistics.fmean(deliver), 1) if deliver else None,
            # The dispatch issue's figure: from the instant the order is durable to the phone.
            "committed_to_phone_p50_ms": orders["committed_to_phone_p50_ms"],
            "committed_to_phone_p99_ms": orders["committed_to_phone_p99_ms"],
            "redundant_receipts": orders["redundant_receipts"],
            "console_events": orders["console_events"], "console_reconnects": orders["console_reconnects"],
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
            await pg_execute(db_admin, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
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
