"""`jingyun` sub-commands of the dispatch sub-system: ``jingyun audit verify``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import Any


async def _verify(args: argparse.Namespace) -> int:
    from redis.asyncio import Redis

    from dispatch import audit
    from dispatch.bus import Bus
    from web.db import make_engine
    from web.settings import Settings

    settings = Settings.from_env(data_dir=getattr(args, "data_dir", None))
    engine = make_engine(settings.sqlalchemy_url)
    try:
        async with engine.connect() as conn:
            rows = await audit.read_all(conn)
    finally:
        await engine.dispose()
    head = None
    head_note = "no Redis configured (REDIS_URL unset): entries removed from the very end are not checked"
    if settings.redis_url:
        redis = Redis.from_url(settings.redis_url)
        try:
            head = await Bus(redis, settings.redis_prefix).audit_head()
            head_note = "checked against the head recorded in Redis" if head else "no head recorded in Redis"
        except Exception as exc:
            head_note = f"could not read the head from Redis ({exc}); end truncation not checked"
        finally:
            with contextlib.suppress(Exception):
                await redis.aclose()
    result = audit.verify_chain(rows, head)
    if args.json:
        print(json.dumps({**result.to_dict(), "head": head_note}, ensure_ascii=False))
    else:
        status = "OK" if result.ok else "BROKEN"
        print(f"audit log {status}: {result.message}")
        print(f"  ({head_note})")
    return 0 if result.ok else 1


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Verify the audit hash chain; exit 1 and name the first modified, inserted or removed entry."""
    try:
        return asyncio.run(_verify(args))
    except Exception as exc:  # a database that cannot be opened is an answer too
        print(f"jingyun audit verify: cannot read the audit log: {exc}", file=sys.stderr)
        return 2


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this sub-system's commands to the `jingyun` parser."""
    p = sub.add_parser("audit", help="audit log tools")
    audit_sub = p.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    v = audit_sub.add_parser("verify", help="check the audit hash chain; report the first modified, "
                                            "inserted or removed entry (exit 1 if broken)")
    v.add_argument("--data-dir", type=Path, help="data directory (env JINGYUN_DATA_DIR, default ./data)")
    v.add_argument("--json", action="store_true", help="print the result as one JSON object")
    v.set_defaults(func=cmd_audit_verify)
