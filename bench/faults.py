"""Long fault run: many orders through real servers while Redis, servers and phones fail.

    python bench/faults.py [--orders 10000] [--units 50] [--database-url postgresql://...]
                           [--faults redis,kill,drop,stop] [--every 0.1]

Starts a private redis-server (AOF, fsync always) on a free loopback port and two
``python -m web.cli serve`` processes sharing it and one database (a fresh PostgreSQL database
when --database-url names a server, else SQLite in a temp dir), registers units, connects one
officer WebSocket per unit and sends orders; every ``--every`` fraction of the run it injects the
next fault in turn (Redis SIGKILL + restart, server SIGKILL + restart, every phone dropped).
``stop`` (the second server stopped for good) comes last when asked for.

Prints created, delivered, acknowledged, duplicated and lost orders; the last line is one JSON
object. Everything runs on 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.reliability import faultkit as fk
from tests.reliability.helpers import pg_execute


async def main(args: argparse.Namespace) -> dict[str, object]:
    workdir = Path(tempfile.mkdtemp(prefix="jingyun-faults-"))
    db_url = None
    db_name = None
    admin = None
    if args.database_url:
        admin = args.database_url.rsplit("/", 1)[0] + "/postgres"
        db_name = f"jyfaults_{uuid.uuid4().hex[:8]}"
        await pg_execute(admin, f'CREATE DATABASE "{db_name}"')
        db_url = admin.rsplit("/", 1)[0] + f"/{db_name}"
    cluster = fk.Cluster(workdir, servers=2 if db_url else 1, database_url=db_url)
    names = [f for f in args.faults.split(",") if f]
    plan: list[fk.Fault] = []
    n_steps = max(1, int(1 / args.every) - 1)
    cycle = [f for f in names if f != "stop"]
    for i in range(n_steps):
        name = cycle[i % len(cycle)] if cycle else None
        if name == "redis":
            plan.append(fk.redis_restart(2.0))
        elif name == "kill":
            plan.append(fk.server_sigkill(0))
        elif name == "drop":
            plan.append(fk.drop_connections(3, 0.5))
    if "stop" in names and db_url:
        plan.append(fk.server_stop(1))
    injected: list[str] = []

    async def chain(run: fk.Run) -> None:
        """Inject the planned faults one after another as the run progresses."""
        for k, fault in enumerate(plan):
            target = int(run.orders * (k + 1) / (len(plan) + 1))
            while run.progress < target:  # noqa: ASYNC110 (a counter, not an event)
                await asyncio.sleep(0.2)
            t0 = time.monotonic()
            await fault(run)
            injected.append(f"{getattr(fault, '__qualname__', 'fault').split('.')[0]}@{run.progress}"
                            f" ({time.monotonic() - t0:.1f}s)")
            print(f"  fault {injected[-1]}", flush=True)

    try:
        await cluster.start()
        run = fk.Run(cluster, args.units, args.orders, ack_wait_s=60)
        counts = await run.execute(chain, fault_at=1 / max(1, args.orders))
    finally:
        cluster.stop()
        if admin and db_name:
            await pg_execute(admin, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    out: dict[str, object] = {"orders_requested": args.orders, "units": args.units,
                              "database": "postgresql" if db_url else "sqlite", "faults": injected,
                              **counts.as_dict()}
    return out


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=10000)
    parser.add_argument("--units", type=int, default=50)
    parser.add_argument("--database-url", default="", help="PostgreSQL server URL (a fresh database is made)")
    parser.add_argument("--faults", default="redis,kill,drop,stop")
    parser.add_argument("--every", type=float, default=0.1, help="fraction of the run between faults")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs) afterwards")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    result = asyncio.run(main(args))
    for key in ("created", "delivered", "acknowledged", "duplicated", "duplicate_orders", "lost", "reconnects",
                "dispatch_retries", "seconds"):
        print(f"{key:>18}: {result[key]}")
    print(json.dumps(result))


if __name__ == "__main__":
    cli()
