"""Incident creation time with many open, similar incidents nearby (reliability defect D7).

Starts a real server process (``jingyun serve``) on the Redis server named by REDIS_URL (default
redis://127.0.0.1:6379/0, under a private prefix) and a fresh database: SQLite in a temporary
directory, or a new database created on the PostgreSQL server of ``--database-url`` (dropped at the
end). For each N in ``--sizes`` it makes sure N open incidents exist that are similar to the new
report and within 200 m of it (all created in the last 25 minutes, so inside the duplicate search's
30-minute window), then times ``--samples`` ``POST /api/incidents`` of one more such report, one
after the other. Each timed incident is cancelled again (not timed) so N stays exact.

The N background incidents are written straight into the incidents table (open, triaged, scored
like the new report) so that seeding 1,000 of them does not itself take the time being measured.

Usage: python bench/duplicates.py [--sizes 0,100,500,1000] [--samples 20] [--database-url postgresql://...]
Prints one line per N (p50/p95/max ms, links made); last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.dispatch_push import free_port, pct, wait_ready  # noqa: E402
from dispatch.tables import incidents  # noqa: E402
from web.auth import Role, issue_token  # noqa: E402
from web.db import make_engine  # noqa: E402

SECRET = "d" * 40
LAT, LON = 22.5410, 114.0610
REPORT = "Fight outside the Fuhua Road metro exit, two men punching each other, one is bleeding"
SIMILAR = ["Fight at the Fuhua Road metro exit {i}, two men punching each other",
           "Two men punching each other outside Fuhua Road metro exit {i}, a crowd is watching",
           "福华路地铁站{i}号出口有两个男的在打架，一个在流血",
           "Brawl near Fuhua Road metro exit {i}, one man bleeding, two men fighting"]


def async_url(url: str) -> str:
    for plain, async_ in (("postgresql://", "postgresql+asyncpg://"), ("postgres://", "postgresql+asyncpg://")):
        if url.startswith(plain):
            return async_ + url[len(plain):]
    return url


async def create_pg_database(url: str) -> tuple[str, str]:
    """A fresh database on the server of ``url``: (its URL, its name)."""
    name = f"jy_dupbench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(async_url(url), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return url.rsplit("/", 1)[0] + "/" + name, name


async def drop_pg_database(url: str, name: str) -> None:
    admin = make_engine(async_url(url), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


async def seed(engine: sa.ext.asyncio.AsyncEngine, count: int, start: int, like: dict[str, object],
               rng: random.Random) -> None:
    """``count`` open incidents similar to the report, within ~200 m, created 1-25 minutes ago."""
    now = dt.datetime.now(dt.UTC)
    rows = []
    for i in range(start, start + count):
        rows.append({
            "id": uuid.uuid4().hex[:16], "number": f"JY-BENCH-{i:06d}", "source": "call",
            "text": SIMILAR[i % len(SIMILAR)].format(i=i + 1), "lang": like["lang"],
            "category": like["category"], "priority": like["priority"], "level": like["level"],
            "triage": None, "priority_override": None, "location_text": "Fuhua Road",
            "lat": LAT + rng.uniform(-0.0013, 0.0013), "lon": LON + rng.uniform(-0.0013, 0.0013),
            "report": None, "status": "triaged", "merged_into": None, "created_by": "bench",
            "created_at": now - dt.timedelta(minutes=rng.uniform(1, 25)), "updated_at": now})
    async with engine.begin() as conn:
        for k in range(0, len(rows), 500):
            await conn.execute(incidents.insert(), rows[k:k + 500])


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="0,100,500,1000", help="open similar incidents nearby, ascending")
    parser.add_argument("--samples", type=int, default=20, help="timed creations per size")
    parser.add_argument("--database-url", default="",
                        help="a PostgreSQL server, e.g. postgresql://postgres@127.0.0.1:5432/postgres: a fresh "
                             "database is created on it and dropped at the end (default: SQLite in a temp dir)")
    parser.add_argument("--profile", default="", help="run the server under cProfile, writing its stats here")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if sizes != sorted(sizes) or any(s < 0 for s in sizes):
        raise SystemExit("--sizes must be ascending non-negative numbers")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    tmp = tempfile.mkdtemp(prefix="jy-dupbench-")
    pg_name = ""
    if args.database_url:
        db_url, pg_name = await create_pg_database(args.database_url)
    else:
        db_url = f"sqlite:///{tmp}/jingyun.sqlite3"
    env = {**os.environ, "REDIS_URL": redis_url, "JINGYUN_REDIS_PREFIX": f"jyd:{uuid.uuid4().hex[:8]}:",
           "JINGYUN_DATA_DIR": tmp, "JINGYUN_SECRET": SECRET, "JINGYUN_PORT": str(port), "DATABASE_URL": db_url,
           "JINGYUN_LOG_LEVEL": "WARNING", "JINGYUN_LOAD_MODEL": "0"}
    profile = ["-m", "cProfile", "-o", args.profile] if args.profile else []
    proc = subprocess.Popen([sys.executable, *profile, "-m", "web.cli", "serve"], cwd=REPO, env=env,  # noqa: ASYNC220
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    engine = make_engine(async_url(db_url.replace("sqlite:///", "sqlite+aiosqlite:///")))
    results: list[dict[str, object]] = []
    rng = random.Random(7)
    try:
        await wait_ready(base, proc)
        disp = {"Authorization": f"Bearer {issue_token(SECRET, Role.DISPATCHER, ttl=7200)}"}
        async with aiohttp.ClientSession() as session:

            async def create() -> tuple[float, dict[str, object]]:
                t0 = time.perf_counter()
                async with session.post(f"{base}/api/incidents", headers=disp, json={
                        "text": REPORT, "source": "call", "lat": LAT, "lon": LON}) as r:
                    body = await r.json()
                    assert r.status == 201, body
                took = (time.perf_counter() - t0) * 1000
                async with session.post(f"{base}/api/incidents/{body['id']}/status", headers=disp,
                                        json={"status": "cancelled", "reason": "bench"}) as r:
                    assert r.status == 200, await r.text()
                return took, body

            _, like = await create()  # warm-up (scorer, connections); gives the category to seed with
            print(f"report scored {like['level']} {like['category']}", file=sys.stderr)
            have = 0
            for n in sizes:
                await seed(engine, n - have, have, like, rng)
                have = n
                times, links = [], []
                for _ in range(args.samples):
                    took, body = await create()
                    times.append(took)
                    links.append(len(body.get("duplicates", [])))  # type: ignore[arg-type]
                row = {"open": n, "samples": len(times), "p50_ms": round(pct(times, 50), 1),
                       "p95_ms": round(pct(times, 95), 1), "max_ms": round(max(times), 1),
                       "links_max": max(links)}
                results.append(row)
                print(f"open similar nearby {n:5d}   create p50 {row['p50_ms']:8.1f} ms  p95 {row['p95_ms']:8.1f} ms"
                      f"  max {row['max_ms']:8.1f} ms   duplicates linked {min(links)}-{max(links)}", flush=True)
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(15)
        if proc.poll() is None:
            proc.kill()
        await engine.dispose()
        if pg_name:
            await drop_pg_database(args.database_url, pg_name)
    print(json.dumps({"database": "postgresql" if pg_name else "sqlite", "samples": args.samples,
                      "sizes": results}))


if __name__ == "__main__":
    asyncio.run(main())
