"""Helpers for the reliability tests: callers of every kind, audit counts, private servers.

Everything here drives real things: tokens signed like production ones, the real audit table,
a private ``redis-server`` process, the real server started with ``python -m web.cli serve``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from aiohttp import web

from dispatch.tables import audit_log as audit_table
from web import appkeys
from web.auth import Role, issue_token

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Caller:
    """One kind of caller in the security matrix."""

    name: str
    role: Role | None  # the role the server would see; None when the token is not accepted at all
    unit: str | None = None
    kind: str = "valid"  # valid | expired | foreign | none

    def token(self, app: web.Application) -> str | None:
        secret = app[appkeys.SECRET]
        if self.kind == "none":
            return None
        if self.kind == "expired":
            return issue_token(secret, Role.DISPATCHER, ttl=60, now=time.time() - 3600)
        if self.kind == "foreign":
            return issue_token("another-secret-" + "x" * 32, Role.ADMIN, ttl=600)
        assert self.role is not None
        return issue_token(secret, self.role, unit_id=self.unit, ttl=600,
                           subject=f"unit:{self.unit}" if self.unit else f"matrix-{self.name}")


def callers(unit_a: str, unit_b: str) -> list[Caller]:
    """The ten callers of issue 7, officer B before officer A (so A's order is still open for B)."""
    return [
        Caller("none", None, kind="none"),
        Caller("expired", None, kind="expired"),
        Caller("foreign", None, kind="foreign"),
        Caller("kiosk", Role.KIOSK),
        Caller("interviewer", Role.INTERVIEWER),
        Caller("officer_b", Role.OFFICER, unit_b),
        Caller("officer_a", Role.OFFICER, unit_a),
        Caller("service", Role.SERVICE),
        Caller("dispatcher", Role.DISPATCHER),
        Caller("admin", Role.ADMIN),
    ]


async def denied_audit_count(app: web.Application) -> int:
    """Rows with action ``access_denied`` in the hash-chained audit log."""
    async with app[appkeys.DB].connect() as conn:
        value = await conn.scalar(sa.select(sa.func.count()).select_from(audit_table)
                                  .where(audit_table.c.action == "access_denied"))
    return int(value or 0)


async def denied_audit_rows(app: web.Application) -> list[dict[str, Any]]:
    async with app[appkeys.DB].connect() as conn:
        rows = (await conn.execute(sa.select(audit_table).where(audit_table.c.action == "access_denied")
                                   .order_by(audit_table.c.seq))).mappings().all()
    return [dict(r) for r in rows]


async def pg_execute(admin_url: str, sql: str) -> None:
    """One statement on a PostgreSQL server, outside any transaction (CREATE / DROP DATABASE)."""
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RedisProcess:
    """A private redis-server on a free loopback port (never the shared one on 6379)."""

    dir: Path
    password: str | None = None
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.dir.mkdir(parents=True, exist_ok=True)
        args = [exe, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.dir),
                "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no",
                "--logfile", str(self.dir / "redis.log")]
        if self.password:
            args += ["--requirepass", self.password]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited: {(self.dir / 'redis.log').read_text()[-2000:]}")
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


@dataclass
class ServerProcess:
    """``python -m web.cli serve`` as a child process, its stderr kept in a file."""

    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JINGYUN_", "REDIS_URL", "DATABASE_URL"))}
        env.update(self.env)
        env.setdefault("JINGYUN_LOAD_MODEL", "0")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "web.cli", "serve", "--host", "127.0.0.1",
                                      "--port", str(self.port)], cwd=REPO, env=env, stdout=log,
                                     stderr=subprocess.STDOUT)
        log.close()

    async def wait_ready(self, within: float = 60.0, need: tuple[str, ...] = ("redis", "database")) -> None:
        import aiohttp

        deadline = time.monotonic() + within
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited {self.proc.returncode}: {self.tail()}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(self.base + "/readyz") as resp:
                        data = await resp.json()
                        comps = data.get("components", {})
                        if all(comps.get(n, {}).get("status") == "ready" for n in need):
                            return
                await asyncio.sleep(0.2)
        raise RuntimeError(f"server not ready in {within}s: {self.tail()}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def tail(self, n: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-n:]
        return ""


def concrete_path(canonical: str, ids: dict[str, str]) -> str:
    """Fill ``{name}`` placeholders: known ids by the path's context, else a harmless ``x1``."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        before = canonical[:match.start()]
        for prefix, value in ids.items():
            if before.endswith(prefix) and name == "id":
                return value
        return "x1"

    return re.sub(r"\{([^}]+)\}", fill, canonical)

