"""Core commands: ``serve``, ``token``, ``doctor``, ``settings``, ``migrate``."""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import sys
from pathlib import Path
from typing import Any

from web.auth import Role
from web.settings import Settings, settings_table


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(host=getattr(args, "host", None), port=getattr(args, "port", None),
                             data_dir=getattr(args, "data_dir", None))


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from web.app import create_app
    from web.logs import setup_logging
    from web.memory import limit_arenas, trim_every

    settings = _settings(args)
    setup_logging(settings.log_level, settings.log_json)
    limit_arenas(settings.malloc_arenas)  # before any thread starts
    app = create_app(settings)
    if settings.memory_trim_seconds > 0:
        async def trim_ctx(_app: Any) -> Any:
            task = asyncio.get_running_loop().create_task(trim_every(settings.memory_trim_seconds), name="memory-trim")
            yield
            task.cancel()

        app.cleanup_ctx.append(trim_ctx)
    print(f"Jingyun serving on http://{settings.host}:{settings.port} (data in {settings.data_dir})",
          file=sys.stderr, flush=True)
    # run_app turns SIGTERM/SIGINT into a graceful shutdown that runs every cleanup context.
    web.run_app(app, host=settings.host, port=settings.port, print=None, access_log=None,
                shutdown_timeout=10)
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from web.auth import issue_token

    settings = _settings(args)
    try:
        token = issue_token(settings.resolved_secret(), args.role, unit_id=args.unit,
                            ttl=args.ttl or settings.token_ttl, subject=args.subject, grids=args.grid)
    except ValueError as exc:
        print(f"jingyun token: {exc}", file=sys.stderr)
        return 2
    print(token)  # only the token on stdout, so scripts can capture it
    return 0


def cmd_settings(args: argparse.Namespace) -> int:
    rows = settings_table()
    if args.markdown:
        print("| variable | default | meaning |\n|---|---|---|")
        for name, default, doc in rows:
            print(f"| `{name}` | {('`' + default + '`') if default else '(unset)'} | {doc} |")
    else:
        for name, default, doc in rows:
            print(f"{name:32} {default or '(unset)':24} {doc}")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from web.db import make_engine, migrate

    settings = _settings(args)

    async def run() -> list[str]:
        engine = make_engine(settings.sqlalchemy_url)
        try:
            return await migrate(engine)
        finally:
            await engine.dispose()

    print("schema at:", ", ".join(asyncio.run(run())))
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from web.doctor import run_doctor

    return asyncio.run(run_doctor(_settings(args)))


def _version() -> str:
    try:
        return importlib.metadata.version("jingyun")
    except importlib.metadata.PackageNotFoundError:
        return "dev"


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, help="data directory (env JINGYUN_DATA_DIR, default ./data)")


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("serve", help="run the server")
    p.add_argument("--host", help="listen address (env JINGYUN_HOST, default 127.0.0.1)")
    p.add_argument("--port", type=int, help="listen port (env JINGYUN_PORT, default 8080)")
    _common(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("token", help="print a signed bearer token (only the token, on stdout)")
    p.add_argument("--role", required=True,
                   choices=[role.value for role in Role])
    p.add_argument("--unit", help="unit id (required for officer tokens)")
    p.add_argument("--grid", action="append", default=[],
                   help="a grid the grid worker covers (required for grid_worker tokens; repeat for several)")
    p.add_argument("--ttl", type=int, help="lifetime in seconds (default JINGYUN_TOKEN_TTL)")
    p.add_argument("--subject", help="who holds the token, recorded in the audit log")
    _common(p)
    p.set_defaults(func=cmd_token)

    p = sub.add_parser("doctor", help="check Redis, database, ASR model and VAD; say how to fix what is missing")
    _common(p)
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("settings", help="list every setting with its default")
    p.add_argument("--markdown", action="store_true", help="as a Markdown table")
    p.set_defaults(func=cmd_settings)

    p = sub.add_parser("migrate", help="apply database migrations and exit")
    _common(p)
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("version", help="print the version")
    p.set_defaults(func=lambda a: print(_version()) or 0)


