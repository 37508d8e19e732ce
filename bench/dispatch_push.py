"""Order push latency with many connected units: created -> received at the unit -> acknowledged.

Starts a real server process (``jingyun serve``) on the Redis server named by REDIS_URL (default
redis://127.0.0.1:6379/0, under a private prefix) and SQLite in a temporary directory, registers
UNITS units, connects one officer WebSocket per unit, then creates incidents and dispatches each
to a unit. Each phone acknowledges as soon as the order arrives. Times are wall-clock on one
machine: ``created`` is the order's ``created_at`` written by the server.

The floor is the same hop through bare Redis pub/sub on this machine (publish -> subscriber
receives), measured with the same number of messages.

Usage: python bench/dispatch_push.py [--units 1000] [--orders 300] [--rate 20]
Last line: one JSON object with units, p50_ms, p95_ms, p99_ms, ack_p99_ms, floor_p99_ms,
ratio_to_floor, peak_rss_mb.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
from redis.asyncio import Redis

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from web.auth import Role, issue_token  # noqa: E402

SECRET = "b" * 40


def raise_nofile(needed: int) -> int:
    """Each unit socket is a file descriptor in this process and in the server: lift the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(needed, soft)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft < needed:
        raise SystemExit(f"need {needed} file descriptors, the hard limit allows {soft}; run with fewer --units")
    return soft


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    data = sorted(values)
    if not data:
        return float("nan")
    pos = (len(data) - 1) * q / 100
    lo, hi = int(pos), min(int(pos) + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def epoch(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


async def wait_ready(url: str, proc: subprocess.Popen[bytes], wait_s: float = 60) -> None:
    deadline = time.monotonic() + wait_s
    async with aiohttp.ClientSession() as s:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"server exited with {proc.returncode}")
            with contextlib.suppress(aiohttp.ClientError):
                async with s.get(url + "/readyz") as r:
                    if r.status == 200:
                        return
            await asyncio.sleep(0.2)
    raise SystemExit("server did not become ready")


async def floor(redis_url: str, n: int) -> list[float]:
    """Bare Redis pub/sub hop: publish a timestamp, the subscriber notes when it arrives."""
    channel = f"bench-floor-{uuid.uuid4().hex}"
    sub, pub = Redis.from_url(redis_url), Redis.from_url(redis_url)
    ps = sub.pubsub(ignore_subscribe_messages=True)
    await ps.subscribe(channel)
    lat: list[float] = []

    async def reader() -> None:
        async for msg in ps.listen():
            if msg.get("type") == "message":
                lat.append((time.time() - float(msg["data"])) * 1000)
                if len(lat) >= n:
                    return

    task = asyncio.create_task(reader())
    await asyncio.sleep(0.1)
    for _ in range(n):
        await pub.publish(channel, repr(time.time()))
        await asyncio.sleep(0.002)
    await asyncio.wait_for(task, 30)
    await ps.aclose()
    await sub.aclose()
    await pub.aclose()
    return lat


class Phone:
    """One officer WebSocket: records when each order arrives and acks it at once."""

    def __init__(self, unit_id: str) -> None:
        self.unit_id = unit_id
        self.received: dict[str, float] = {}
        self.acked: dict[str, float] = {}
        self.created: dict[str, float] = {}

    async def run(self, session: aiohttp.ClientSession, base: str, token: str, ready: asyncio.Event) -> None:
        async with session.ws_connect(f"{base}/ws/unit?token={token}", heartbeat=None) as ws:
            ready.set()
            async for msg in ws:
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    break
                data = json.loads(msg.data)
                now = time.time()
                if data["type"] == "order":
                    order = data["order"]
                    if order["id"] not in self.received:
                        self.received[order["id"]] = now
                        self.created[order["id"]] = epoch(order["created_at"])
                        await ws.send_json({"type": "ack", "order_id": order["id"]})
                elif data["type"] == "acked":
                    self.acked.setdefault(data["order_id"], now)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--rate", type=float, default=20.0,
                        help="dispatches started per second (open loop, like calls arriving)")
    parser.add_argument("--database-url", default="",
                        help="e.g. postgresql://postgres@127.0.0.1:5432/DB (default: SQLite in a temp dir)")
    args = parser.parse_args()
    limit = raise_nofile(2 * args.units + 200)
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    tmp = tempfile.mkdtemp(prefix="jy-bench-")
    env = {**os.environ, "REDIS_URL": redis_url, "JINGYUN_REDIS_PREFIX": f"jyb:{uuid.uuid4().hex[:8]}:",
           "JINGYUN_DATA_DIR": tmp, "JINGYUN_SECRET": SECRET, "JINGYUN_PORT": str(port),
           "JINGYUN_LOG_LEVEL": "WARNING", "JINGYUN_ACK_TIMEOUT": "600", "JINGYUN_LOAD_MODEL": "0",
           "JINGYUN_WS_HEARTBEAT": "600"}
    env.pop("DATABASE_URL", None)  # SQLite in the temporary data dir unless --database-url
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    proc = subprocess.Popen([sys.executable, "-m", "web.cli", "serve"], cwd=REPO, env=env,  # noqa: ASYNC220
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        await wait_ready(base, proc)
        print(f"server pid {proc.pid} on {base}; fd limit {limit}", file=sys.stderr)
        disp = {"Authorization": f"Bearer {issue_token(SECRET, Role.DISPATCHER, ttl=7200)}"}
        conn = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=conn) as session:
            t0 = time.monotonic()
            sem = asyncio.Semaphore(16)
            run = uuid.uuid4().hex[:6]  # callsigns are unique per database; a reused PostgreSQL keeps old ones

            async def make_unit(i: int) -> str:
                async with sem, session.post(f"{base}/api/units", headers=disp, json={
                        "callsign": f"B-{run}-{i:04d}", "unit_type": "patrol_car", "capabilities": ["patrol", "armed"],
                        "lat": 22.50 + (i % 40) * 0.002, "lon": 114.00 + (i // 40) * 0.002}) as r:
                    body = await r.json()
                    assert r.status == 201, body
                    return str(body["id"])

            unit_ids = await asyncio.gather(*(make_unit(i) for i in range(args.units)))
            print(f"{args.units} units registered in {time.monotonic() - t0:.1f}s", file=sys.stderr)
            phones = [Phone(u) for u in unit_ids]
            tasks = []
            t0 = time.monotonic()
            for i, phone in enumerate(phones):
                ready = asyncio.Event()
                token = issue_token(SECRET, Role.OFFICER, unit_id=phone.unit_id, ttl=7200)
                tasks.append(asyncio.create_task(phone.run(session, base.replace("http", "ws"), token, ready)))
                await ready.wait()
                if i % 250 == 249:
                    print(f"  {i + 1} unit sockets open", file=sys.stderr)
            print(f"{len(phones)} unit sockets open in {time.monotonic() - t0:.1f}s", file=sys.stderr)
            await asyncio.sleep(1.0)

            n = min(args.orders, args.units)
            incidents: list[str] = []
            for i in range(n):
                async with session.post(f"{base}/api/incidents", headers=disp, json={
                        "text": f"Fight outside building {i} on Fuhua Road, two men punching", "source": "call",
                        # ~1 km apart so they are not linked as duplicates of each other
                        "lat": 22.40 + (i % 30) * 0.01, "lon": 113.90 + (i // 30) * 0.01}) as r:
                    incidents.append((await r.json())["id"])

            async def send(i: int) -> None:
                async with session.post(f"{base}/api/incidents/{incidents[i]}/dispatch", headers=disp,
                                        json={"unit_id": phones[i].unit_id}) as r:
                    assert r.status == 201, await r.text()

            t0 = time.monotonic()
            sends = []
            for i in range(n):  # paced: dispatch i starts at t0 + i / rate, whatever the replies do
                await asyncio.sleep(max(0.0, t0 + i / args.rate - time.monotonic()))
                sends.append(asyncio.create_task(send(i)))
            await asyncio.gather(*sends)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and sum(len(p.acked) for p in phones) < n:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            elapsed = time.monotonic() - t0
            recv = [(p.received[o] - p.created[o]) * 1000 for p in phones for o in p.received]
            acks = [(p.acked[o] - p.created[o]) * 1000 for p in phones for o in p.acked]
            rss = peak_rss_mb(proc.pid)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        floor_lat = await floor(redis_url, n)
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(15)
        if proc.poll() is None:
            proc.kill()
    if len(recv) < n:
        print(f"WARNING: only {len(recv)} of {n} orders arrived", file=sys.stderr)
    p50, p95, p99 = pct(recv, 50), pct(recv, 95), pct(recv, 99)
    ack99, f99 = pct(acks, 99), pct(floor_lat, 99)
    print(f"units connected        {args.units}")
    print(f"orders                 {n} dispatched at {args.rate:g}/s in {elapsed:.2f}s, "
          f"{len(recv)} received, {len(acks)} acknowledged")
    print(f"created -> received    p50 {p50:.1f} ms  p95 {p95:.1f} ms  p99 {p99:.1f} ms  max {max(recv):.1f} ms")
    print(f"created -> acked       p50 {pct(acks, 50):.1f} ms  p99 {ack99:.1f} ms")
    print(f"bare Redis pub/sub     p50 {pct(floor_lat, 50):.2f} ms  p99 {f99:.2f} ms")
    print(f"ratio p99 / floor p99  {p99 / f99:.1f}x")
    print(f"server peak RSS        {rss:.0f} MB")
    print(json.dumps({"units": args.units, "orders": n, "rate_per_s": args.rate, "received": len(recv),
                      "database": "postgresql" if args.database_url else "sqlite", "p50_ms": round(p50, 2),
                      "p95_ms": round(p95, 2), "p99_ms": round(p99, 2), "ack_p99_ms": round(ack99, 2),
                      "floor_p99_ms": round(f99, 3), "ratio_to_floor": round(p99 / f99, 2),
                      "peak_rss_mb": round(rss, 1)}))


if __name__ == "__main__":
    asyncio.run(main())
