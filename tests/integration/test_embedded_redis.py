"""The private Valkey: start, persistence across restart, and never an orphan (SIGTERM, SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from web.embedded_redis import EmbeddedRedis

pytestmark = pytest.mark.slow


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"  # a zombie is already dead
    except FileNotFoundError:
        return False


def _wait_gone(pid: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def _children_valkey(ppid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=,ppid=,comm=", "-e"], capture_output=True, text=True).stdout
    return [int(p) for p, pp, comm in (line.split(None, 2) for line in out.splitlines())
            if int(pp) == ppid and "valkey" in comm]


def test_start_persist_restart(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path)
    url = server.start()
    assert url.startswith("redis://:") and "@127.0.0.1:" in url
    client = redis.Redis.from_url(url)
    client.xadd("orders:U1", {"id": "o-1"})
    client.set("k", "v")
    client.close()
    pid = server.pid
    assert pid is not None
    server.stop()
    assert _wait_gone(pid)

    again = EmbeddedRedis(tmp_path)
    url2 = again.start()
    try:
        client = redis.Redis.from_url(url2)
        assert client.get("k") == b"v"
        assert client.xlen("orders:U1") == 1
        client.close()
    finally:
        again.stop()


def test_requires_password(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path) as server:
        anon = redis.Redis(host="127.0.0.1", port=server.port)
        with pytest.raises(redis.AuthenticationError):
            anon.ping()
        anon.close()


def _start_server(tmp_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    env = {**os.environ, "JINGYUN_DATA_DIR": str(tmp_path), "JINGYUN_PORT": "0", "JINGYUN_LOAD_MODEL": "0",
           "JINGYUN_SECRET": "z" * 40}
    env.pop("REDIS_URL", None)
    env.pop("DATABASE_URL", None)
    env["JINGYUN_PORT"] = str(_free_port())
    proc = subprocess.Popen([sys.executable, "-m", "web.cli", "serve"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        kids = _children_valkey(proc.pid)
        if kids:
            return proc, kids[0]
        assert proc.poll() is None, "server exited during start-up"
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("embedded Valkey never started")


def _free_port() -> int:
    from web.embedded_redis import free_port

    return free_port()


def test_sigterm_to_server_leaves_no_valkey(tmp_path: Path) -> None:
    proc, valkey = _start_server(tmp_path)
    time.sleep(1.0)  # let start-up finish so shutdown runs the cleanup contexts
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert _wait_gone(valkey), "Valkey left running after SIGTERM"


def test_sigkill_to_server_leaves_no_valkey(tmp_path: Path) -> None:
    proc, valkey = _start_server(tmp_path)
    proc.kill()
    proc.wait(timeout=10)
    assert _wait_gone(valkey), "Valkey orphaned after the server was killed"
