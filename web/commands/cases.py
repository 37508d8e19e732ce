"""`jingyun` sub-commands of the cases sub-system: ``jingyun evidence verify``.

Re-hashes every kept evidence file, compares it with the sha256 taken on receipt, and records a
``verified`` custody event per item (status ok, mismatch, size_changed, missing, unreadable). Exit 0
when every file is as received, 1 on any problem, 2 when the check could not run.

The custody events go into the hash-chained audit log, whose head is also kept in Redis (see
``jingyun audit verify``), so the head is moved forward here too: in the external Redis when
REDIS_URL is set; otherwise in the embedded Valkey of a server running on this data directory, or,
when none runs, in one started for the purpose (as ``jingyun seed-demo`` does).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

PROGRESS_EVERY_S = 2.0
BATCH = 200  # verified events per transaction


def _running_valkey_url(data_dir: Path) -> str | None:
    """The URL of the embedded Valkey a running ``jingyun serve`` started on this data directory, if any."""
    vdir = data_dir / "valkey"
    try:
        pid = int((vdir / "server.pid").read_text().strip())
        os.kill(pid, 0)
        conf = (vdir / "valkey.conf").read_text()
    except (OSError, ValueError):
        return None
    values = dict(line.split(" ", 1) for line in conf.splitlines() if " " in line)
    port, password = values.get("port", "").strip(), values.get("requirepass", "").strip()
    return f"redis://:{password}@127.0.0.1:{port}/0" if port.isdigit() and password else None


@contextlib.asynccontextmanager
async def _head_recorder(settings: Any) -> AsyncIterator[tuple[Callable[[int, str], Any], str]]:
    from redis.asyncio import Redis

    from dispatch.bus import Bus
    from web.embedded_redis import EmbeddedRedis

    embedded = None
    url, where = settings.redis_url, "Redis (REDIS_URL)"
    if not url:
        url, where = _running_valkey_url(settings.data_dir), "the running server's embedded Valkey"
    if not url:
        embedded = EmbeddedRedis(settings.data_dir, start_timeout=settings.embedded_redis_start_timeout)
        url, where = embedded.start(), "the embedded Valkey (started for this command)"
    redis = Redis.from_url(url)
    try:
        yield Bus(redis, settings.redis_prefix).record_audit_head, where
    finally:
        with contextlib.suppress(Exception):
            await redis.aclose()
        if embedded is not None:
            embedded.stop()


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


async def _verify(args: argparse.Namespace) -> int:
    from cases.deadlines import load_deadlines
    from cases.holders import Actor
    from cases.service import CaseService, evidence_dir
    from cases.verify import FileCheck, VerifyReport, check_file
    from web.db import make_engine, migrate
    from web.settings import Settings

    settings = Settings.from_env(data_dir=args.data_dir)
    root = evidence_dir(settings.data_dir)
    engine = make_engine(settings.sqlalchemy_url)
    try:
        await migrate(engine)

        async def no_references(kind: str, ref: str) -> bool:  # this command registers nothing
            raise RuntimeError("not used by evidence verify")

        async with _head_recorder(settings) as (record_head, where):
            svc = CaseService.create(engine, settings.data_dir, max_bytes=settings.cases.evidence_max_bytes,
                                     deadlines=load_deadlines(settings.cases.deadlines_file or None),
                                     exists=no_references, record_head=record_head)
            rows = await svc.evidence.kept_files()
            total_bytes = sum(int(r["size"] or 0) for r in rows)
            who = Actor(args.actor, "admin")
            report, batch = VerifyReport(), []
            done_bytes, last = 0, time.monotonic()
            progress = (not args.json and sys.stderr.isatty()) or args.progress
            for n, row in enumerate(rows, 1):
                # Hashing is the slow part (gigabytes of video): off the loop, so the DB connection stays alive.
                check: FileCheck = await asyncio.to_thread(check_file, root, row)
                report.checks.append(check)
                batch.append(check)
                done_bytes += int(row["size"] or 0)
                if progress and not check.ok:  # named as found on a long run; the summary lists them all
                    print(f"  {check.status.upper()}: {check.message}", file=sys.stderr, flush=True)
                if len(batch) >= BATCH:
                    await svc.evidence.record_verified(batch, actor=who)
                    batch = []
                if progress and (time.monotonic() - last >= PROGRESS_EVERY_S or n == len(rows)):
                    last = time.monotonic()
                    print(f"  {n}/{len(rows)} files, {_human(done_bytes)} of {_human(total_bytes)}, "
                          f"{len(report.problems)} problems", file=sys.stderr, flush=True)
            if batch:
                await svc.evidence.record_verified(batch, actor=who)
    finally:
        await engine.dispose()
    out = report.to_dict()
    if args.json:
        print(json.dumps({**out, "evidence_dir": str(root), "audit_head": where}, ensure_ascii=False))
    else:
        counts = ", ".join(f"{v} {k}" for k, v in out["counts"].items() if v) or "nothing kept yet"
        status = "OK" if report.ok else "PROBLEMS"
        print(f"evidence verify {status}: {out['files']} kept files ({_human(total_bytes)}) in {root}: {counts}")
        for c in report.problems:
            print(f"  {c.id}: {c.status}: {c.message}")
        print(f"  a 'verified' custody event was recorded for each file; audit head kept in {where}")
    return 0 if report.ok else 1


def cmd_evidence_verify(args: argparse.Namespace) -> int:
    """Re-hash every kept evidence file; exit 1 and name each file that differs from its receipt."""
    try:
        return asyncio.run(_verify(args))
    except Exception as exc:  # a database or Redis that cannot be reached is an answer too
        print(f"jingyun evidence verify: cannot verify the evidence files: {exc}", file=sys.stderr)
        return 2


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this sub-system's commands to the `jingyun` parser."""
    p = sub.add_parser("evidence", help="evidence bag tools")
    ev_sub = p.add_subparsers(dest="evidence_command", required=True, metavar="ACTION")
    v = ev_sub.add_parser("verify", help="re-hash every kept evidence file against the sha256 taken on receipt; "
                                         "record a custody event per file (exit 1 on any mismatch or missing file)")
    v.add_argument("--data-dir", type=Path, help="data directory (env JINGYUN_DATA_DIR, default ./data)")
    v.add_argument("--json", action="store_true", help="print the result as one JSON object")
    v.add_argument("--progress", action="store_true", help="print progress to stderr even when it is not a terminal")
    v.add_argument("--actor", default="evidence-verify", help="who runs the check, recorded in the custody events")
    v.set_defaults(func=cmd_evidence_verify)
