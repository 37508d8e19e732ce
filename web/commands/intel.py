"""`jingyun` sub-commands of the intel sub-system: ``brief --date`` and ``seed-demo``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo


@contextlib.asynccontextmanager
async def _dispatch_service(args: argparse.Namespace, *, need_redis: bool) -> AsyncIterator[Any]:
    """The dispatch service on the configured database (migrated) and Redis, with the settings and the
    rule book it scores with: ``(service, settings, book)``.

    With REDIS_URL unset, ``need_redis`` starts the private embedded Valkey on the data dir, as
    ``jingyun serve`` does; stop the server first, two Valkeys must not share one data dir.
    """
    from redis.asyncio import Redis

    from analytics import rules
    from analytics.bound import duplicates_with, triage_with
    from dispatch.service import DispatchService
    from web.db import make_engine, migrate
    from web.embedded_redis import EmbeddedRedis
    from web.settings import Settings

    settings = Settings.from_env(data_dir=getattr(args, "data_dir", None))
    # The command's own rule book, from the same settings the server reads; loaded now so a broken
    # file stops the command before it touches the database.
    book = rules.RuleBook(settings.intel.rules_path, settings.intel.gazetteer_path)
    book.reload()
    engine = make_engine(settings.sqlalchemy_url)
    embedded = None
    url = settings.redis_url
    if not url and need_redis:
        embedded = EmbeddedRedis(settings.data_dir, start_timeout=settings.embedded_redis_start_timeout)
        url = embedded.start()
    # Reading incidents never touches Redis; the client is only connected when used.
    redis = Redis.from_url(url or "redis://127.0.0.1:6379/0")
    try:
        await migrate(engine)
        yield DispatchService(engine, redis, settings.dispatch, settings.redis_prefix,
                              intel_settings=settings.intel, triage_fn=triage_with(book),
                              duplicates_fn=duplicates_with(book)), settings, book
    finally:
        with contextlib.suppress(Exception):
            await redis.aclose()
        await engine.dispose()
        if embedded is not None:
            embedded.stop()


async def _brief(args: argparse.Namespace) -> dict[str, Any]:
    from web.api.intel import analysis_params, assemble_brief

    async with _dispatch_service(args, need_redis=False) as (service, settings, book):
        params = analysis_params(settings)
        date = args.date or dt.datetime.now(ZoneInfo(params.tz)).date()
        return await assemble_brief(service, date, params, book.current)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {value!r}") from None


def cmd_brief(args: argparse.Namespace) -> int:
    """Write the daily brief for ``--date`` as an HTML file with inline charts."""
    from analytics.brief import render_html

    try:
        brief = asyncio.run(_brief(args))
        out = Path(args.out or f"brief-{brief['date']}.html")
        out.write_text(render_html(brief), encoding="utf-8")
    except Exception as exc:
        print(f"jingyun brief: {exc}", file=sys.stderr)
        return 2
    print(f"brief for {brief['date']}: {brief['total']} incidents, {len(brief['hotspots'])} hotspots, "
          f"{len(brief['spikes'])} spikes -> {out}")
    return 0


async def _seed(args: argparse.Namespace) -> int:
    from analytics import demo

    actor = "seed-demo"
    async with _dispatch_service(args, need_redis=True) as (service, settings, book):
        existing = await service.list_incidents(limit=1)
        if existing and not args.force:
            print("jingyun seed-demo: the database already has incidents; seed-demo fills a fresh install "
                  "(pass --force to add demo data anyway)", file=sys.stderr)
            return 1
        places = book.current.gazetteer.places
        by_name = {p.name: p for p in places}
        units = 0
        for i, (callsign, unit_type, caps) in enumerate(demo.DEMO_UNITS):
            spot = list(by_name.values())[(i * 7) % len(by_name)]
            with contextlib.suppress(Exception):  # an existing callsign is fine on --force
                await service.create_unit(callsign=callsign, unit_type=unit_type, capabilities=caps,
                                          lat=spot.lat, lon=spot.lon, actor=actor)
                units += 1
        today = dt.datetime.now(ZoneInfo(settings.intel.timezone)).date()
        history = demo.history(today, days=args.days, per_day=args.per_day, gazetteer_places=places,
                               tz=settings.intel.timezone, seed=args.seed)
        started = time.monotonic()
        for n, item in enumerate(history, 1):
            inc = await service.create_incident(text=item["text"], source=item["source"], actor=actor,
                                                lang=item["lang"], location_text=item["location_text"],
                                                lat=item["lat"], lon=item["lon"], created_at=item["created_at"])
            await service.set_incident_status(inc["id"], "closed", actor=actor, reason="demo history",
                                              outcome_code="settled_on_scene", outcome_note="demo history")
            if n % 200 == 0:
                print(f"  {n}/{len(history)} history incidents ({time.monotonic() - started:.0f} s)", flush=True)
        live = demo.live(dt.datetime.now(dt.UTC), places, seed=args.seed)
        for item in live:
            await service.create_incident(text=item["text"], source=item["source"], actor=actor, lang=item["lang"],
                                          location_text=item["location_text"], lat=item["lat"], lon=item["lon"],
                                          created_at=item["created_at"])
    print(f"seeded {units} units, {len(history)} closed incidents over {args.days} days and {len(live)} open "
          "incidents; open the console, or run: jingyun brief --date "
          f"{(today - dt.timedelta(days=1)).isoformat()}")
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    """Fill a fresh install with synthetic history, units and a few live incidents."""
    try:
        return asyncio.run(_seed(args))
    except Exception as exc:
        print(f"jingyun seed-demo: {exc}", file=sys.stderr)
        return 2


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this sub-system's commands to the `jingyun` parser."""
    p = sub.add_parser("brief", help="write the daily brief (counts, hotspots, spikes, repeat places) as HTML")
    p.add_argument("--date", type=_date, help="local day as YYYY-MM-DD (default: today in JINGYUN_ANALYSIS_TZ)")
    p.add_argument("--out", help="output file (default: brief-DATE.html)")
    p.add_argument("--data-dir", type=Path, help="data directory (env JINGYUN_DATA_DIR, default ./data)")
    p.set_defaults(func=cmd_brief)

    p = sub.add_parser("seed-demo", help="fill a fresh install with synthetic history, units and live incidents")
    p.add_argument("--days", type=int, default=35, choices=range(1, 366), metavar="DAYS",
                   help="days of history (1-365, default 35)")
    p.add_argument("--per-day", type=int, default=20, choices=range(1, 501), metavar="N",
                   help="incidents per day on average (1-500, default 20)")
    p.add_argument("--seed", type=int, default=7, help="random seed (same seed, same data)")
    p.add_argument("--force", action="store_true", help="add demo data even if incidents exist")
    p.add_argument("--data-dir", type=Path, help="data directory (env JINGYUN_DATA_DIR, default ./data)")
    p.set_defaults(func=cmd_seed_demo)
