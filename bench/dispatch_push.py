"""Order push latency with many connected units: committed -> received at the unit -> acknowledged.

Starts a real server process (``jingyun serve``) on the Redis server named by REDIS_URL (default
redis://127.0.0.1:6379/0, under a private prefix) and SQLite in a temporary directory (or the
PostgreSQL database of --database-url), registers UNITS units, connects one officer WebSocket per
unit, then creates incidents and dispatches each to a unit at a fixed rate. Each phone acknowledges
as soon as the order arrives. Times are wall-clock on one machine.

* ``created -> received`` (the headline): from the order's ``committed_at``, which the server takes
  right after the order's SQL transaction committed (the instant the order is durable), to its
  arrival at the phone. After that instant the path is one Redis script (deadline, Stream entry,
  pending list, PUBLISH), the server's pub/sub subscriber and the WebSocket.
* ``request -> received``: from just before the dispatcher's HTTP request to arrival: everything,
  the SQL transaction included.
* ``created -> acked``: to the phone's receipt of the server's ``acked`` reply.
* The floor: the same hop through bare Redis pub/sub, measured the same way and at the same time:
  while the orders run, this process PUBLISHes a timestamp (taken just before sending) at the same
  rate, half a period after each dispatch, to a channel that the phone processes subscribe to in the
  same event loop as their phones; the phone process notes when it arrives. The same hop measured
  in a quiet process after the run is printed too.

The phones run in ``--client-procs`` processes (default 2, the units split evenly) so that the
client's own event loop is not the bottleneck of either measurement.

Usage: python bench/dispatch_push.py [--units 1000] [--orders 300] [--rate 20] [--client-procs 2]
       [--database-url postgresql://...]
Last line: one JSON object with units, p50_ms, p95_ms, p99_ms, ack_p99_ms, floor_p99_ms,
ratio_to_floor, peak_rss_mb (and e2e_*, floor_quiet_p99_ms, tx_p50_ms, ...).
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
    """One officer WebSocket: notes when each order arrives (before parsing it) and acks it at once."""

    def __init__(self, unit_id: str) -> None:
        self.unit_id = unit_id
        self.received: dict[str, float] = {}
        self.acked: dict[str, float] = {}
        self.committed: dict[str, float] = {}
        self.created: dict[str, float] = {}

    async def run(self, session: aiohttp.ClientSession, base: str, token: str, ready: asyncio.Event) -> None:
        async with session.ws_connect(f"{base}/ws/unit?token={token}", heartbeat=None) as ws:
            ready.set()
            while True:
                msg = await ws.receive()
                now = time.time()
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    break
                data = json.loads(msg.data)
                if data["type"] == "order":
                    order = data["order"]
                    if order["id"] not in self.received:
                        self.received[order["id"]] = now
                        await ws.send_str(json.dumps({"type": "ack", "order_id": order["id"]}))
                        self.created[order["id"]] = epoch(order["created_at"])
                        # Orders queued during a Redis outage carry no committed_at: fall back.
                        self.committed[order["id"]] = epoch(order.get("committed_at") or order["created_at"])
                elif data["type"] == "acked":
                    self.acked.setdefault(data["order_id"], now)


async def phones_worker() -> None:
    """A phone process: its share of the unit sockets plus a pub/sub subscriber on the floor channel,
    in one event loop. Reads its job (one JSON line) from stdin, prints "ready", runs until "stop",
    then prints its measurements as one JSON line."""
    job = json.loads(await asyncio.to_thread(sys.stdin.readline))
    raise_nofile(len(job["units"]) + 100)
    phones = [Phone(u) for u in job["units"]]
    floor_lat: list[float] = []
    sub = Redis.from_url(job["redis_url"])
    ps = sub.pubsub(ignore_subscribe_messages=True)
    await ps.subscribe(job["floor_channel"])

    async def floor_reader() -> None:
        async for msg in ps.listen():
            if msg.get("type") == "message":
                floor_lat.append((time.time() - float(msg["data"])) * 1000)

    reader = asyncio.create_task(floor_reader())
    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=conn) as session:
        tasks = []
        for phone in phones:
            ready = asyncio.Event()
            token = issue_token(job["secret"], Role.OFFICER, unit_id=phone.unit_id, ttl=7200)
            tasks.append(asyncio.create_task(phone.run(session, job["ws_base"], token, ready)))
            await ready.wait()
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)  # "stop"
        for t in [*tasks, reader]:
            t.cancel()
        await asyncio.gather(*tasks, reader, return_exceptions=True)
    await ps.aclose()
    await sub.aclose()
    print(json.dumps({"floor": floor_lat, "phones": [
        {"unit": p.unit_id, "received": p.received, "acked": p.acked, "committed": p.committed,
         "created": p.created} for p in phones]}), flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--rate", type=float, default=20.0,
                        help="dispatches started per second (open loop, like calls arriving)")
    parser.add_argument("--client-procs", type=int, default=2,
                        help="processes the unit sockets (and the floor subscribers) are spread over")
    parser.add_argument("--database-url", default="",
                        help="e.g. postgresql://postgres@127.0.0.1:5432/DB (default: SQLite in a temp dir)")
    parser.add_argument("--phones-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phones_worker:
        await phones_worker()
        return
    limit = raise_nofile(args.units + 200)
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
    workers: list[asyncio.subprocess.Process] = []
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

            n = min(args.orders, args.units)
            incidents: list[str] = []
            for i in range(n):
                async with session.post(f"{base}/api/incidents", headers=disp, json={
                        "text": f"Fight outside building {i} on Fuhua Road, two men punching", "source": "call",
                        # ~1 km apart so they are not linked as duplicates of each other
                        "lat": 22.40 + (i % 30) * 0.01, "lon": 113.90 + (i // 30) * 0.01}) as r:
                    incidents.append((await r.json())["id"])

            # The phones (and the floor subscribers) in their own processes.
            t0 = time.monotonic()
            procs = max(1, args.client_procs)
            floor_channels = [f"bench-floor-{uuid.uuid4().hex}" for _ in range(procs)]
            for k in range(procs):
                w = await asyncio.create_subprocess_exec(
                    sys.executable, __file__, "--phones-worker", stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE, limit=2**28)
                workers.append(w)
                assert w.stdin is not None
                w.stdin.write((json.dumps({"ws_base": base.replace("http", "ws"), "secret": SECRET,
                                           "units": unit_ids[k::procs], "redis_url": redis_url,
                                           "floor_channel": floor_channels[k]}) + "\n").encode())
                await w.stdin.drain()
            for w in workers:
                assert w.stdout is not None
                line = await asyncio.wait_for(w.stdout.readline(), 120)
                if line.strip() != b"ready":
                    raise SystemExit(f"a phone process failed to start: {line[:200]!r}")
            print(f"{args.units} unit sockets open in {time.monotonic() - t0:.1f}s over {procs} processes",
                  file=sys.stderr)
            await asyncio.sleep(1.0)

            pub = Redis.from_url(redis_url)
            await pub.ping()
            requested: dict[str, float] = {}

            async def send(i: int) -> None:
                requested[unit_ids[i]] = time.time()
                async with session.post(f"{base}/api/incidents/{incidents[i]}/dispatch", headers=disp,
                                        json={"unit_id": unit_ids[i]}) as r:
                    assert r.status == 201, await r.text()

            async def ping(k: int) -> None:
                await pub.publish(floor_channels[k], repr(time.time()))

            t0 = time.monotonic()
            sends = []
            for i in range(n):  # paced: dispatch i starts at t0 + i / rate, whatever the replies do
                await asyncio.sleep(max(0.0, t0 + i / args.rate - time.monotonic()))
                sends.append(asyncio.create_task(send(i)))
                await asyncio.sleep(max(0.0, t0 + (i + 0.5) / args.rate - time.monotonic()))
                sends.append(asyncio.create_task(ping(i % procs)))
            await asyncio.gather(*sends)
            elapsed = time.monotonic() - t0
            await asyncio.sleep(2.0)  # the last acks
            rss = peak_rss_mb(proc.pid)
            results = []
            for w in workers:
                assert w.stdin is not None and w.stdout is not None
                w.stdin.write(b"stop\n")
                await w.stdin.drain()
                results.append(json.loads(await asyncio.wait_for(w.stdout.readline(), 60)))
            await pub.aclose()
        floor_quiet = await floor(redis_url, n)
    finally:
        for w in workers:
            if w.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    w.kill()
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(15)
        if proc.poll() is None:
            proc.kill()
    phones = [p for r in results for p in r["phones"]]
    recv = [(t - p["committed"][o]) * 1000 for p in phones for o, t in p["received"].items()]
    e2e = [(t - requested[p["unit"]]) * 1000 for p in phones for t in p["received"].values()]
    acks = [(t - p["committed"][o]) * 1000 for p in phones for o, t in p["acked"].items()]
    e2e_acks = [(t - requested[p["unit"]]) * 1000 for p in phones for t in p["acked"].values()]
    tx = [(p["committed"][o] - p["created"][o]) * 1000 for p in phones for o in p["received"]]
    floor_lat = [x for r in results for x in r["floor"]]
    if len(recv) < n:
        print(f"WARNING: only {len(recv)} of {n} orders arrived", file=sys.stderr)
    p50, p95, p99 = pct(recv, 50), pct(recv, 95), pct(recv, 99)
    ack99, f99, fq99 = pct(acks, 99), pct(floor_lat, 99), pct(floor_quiet, 99)
    print(f"units connected        {args.units} (phones in {procs} processes)")
    print(f"orders                 {n} dispatched at {args.rate:g}/s in {elapsed:.2f}s, "
          f"{len(recv)} received, {len(acks)} acknowledged")
    print(f"created -> received    p50 {p50:.2f} ms  p95 {p95:.2f} ms  p99 {p99:.2f} ms  max {max(recv):.2f} ms"
          "   (created = committed_at: the order is durable)")
    print(f"request -> received    p50 {pct(e2e, 50):.2f} ms  p95 {pct(e2e, 95):.2f} ms  p99 {pct(e2e, 99):.2f} ms"
          f"  max {max(e2e):.2f} ms   (from the dispatcher's HTTP request, SQL included)")
    print(f"order SQL transaction  p50 {pct(tx, 50):.2f} ms  p99 {pct(tx, 99):.2f} ms   (created_at -> committed_at)")
    print(f"created -> acked       p50 {pct(acks, 50):.2f} ms  p99 {ack99:.2f} ms   (request -> acked: "
          f"p50 {pct(e2e_acks, 50):.2f} ms  p99 {pct(e2e_acks, 99):.2f} ms)")
    print(f"bare Redis pub/sub     p50 {pct(floor_lat, 50):.2f} ms  p99 {f99:.2f} ms   (during the run, same "
          f"client loops; quiet, after the run: p50 {pct(floor_quiet, 50):.2f} ms  p99 {fq99:.2f} ms)")
    print(f"ratio p99 / floor p99  {p99 / f99:.1f}x   (to the quiet floor: {p99 / fq99:.1f}x)")
    print(f"server peak RSS        {rss:.0f} MB")
    print(json.dumps({"units": args.units, "orders": n, "rate_per_s": args.rate, "received": len(recv),
                      "client_procs": procs, "database": "postgresql" if args.database_url else "sqlite",
                      "p50_ms": round(p50, 2), "p95_ms": round(p95, 2), "p99_ms": round(p99, 2),
                      "ack_p99_ms": round(ack99, 2), "floor_p99_ms": round(f99, 3),
                      "ratio_to_floor": round(p99 / f99, 2), "peak_rss_mb": round(rss, 1),
                      "e2e_p50_ms": round(pct(e2e, 50), 2), "e2e_p99_ms": round(pct(e2e, 99), 2),
                      "e2e_ack_p99_ms": round(pct(e2e_acks, 99), 2),
                      "tx_p50_ms": round(pct(tx, 50), 2), "floor_quiet_p99_ms": round(fq99, 3),
                      "ratio_to_quiet_floor": round(p99 / fq99, 2)}))


if __name__ == "__main__":
    asyncio.run(main())
