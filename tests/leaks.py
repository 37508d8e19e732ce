"""Where a leaked socket came from.

The suite turns warnings into errors, so a socket nobody closed fails a test: but only when the
garbage collector reaches it, which may be minutes later, in whatever test is running then. This
records where each socket of the test process was made (the project's and the tests' own frames,
for the newest ``KEEP`` sockets) and, when one is reported unclosed, writes that origin to stderr,
which the failing test's report shows.
"""

from __future__ import annotations

import socket
import sys
import threading
import traceback
from pathlib import Path
from types import FrameType
from typing import Any

KEEP = 50_000
ROOT = str(Path(__file__).resolve().parent.parent)
# Keyed by id(): an id is reused only after its socket is gone, and then the entry is replaced. Nothing
# is removed when a socket dies, because a socket in a reference cycle reaches its finaliser (the warning)
# only after the collector has already dropped weak references to it.
_origins: dict[int, tuple[str, list[tuple[str, int, str]]]] = {}
_lock = threading.Lock()
_test = "(no test yet)"  # the test running when a socket is made (sockets accepted by a server have no
                         # frame of the project on their stack)


def _where() -> list[tuple[str, int, str]]:
    """The project's and the tests' own frames of the current stack, innermost last (no source read)."""
    frames: list[tuple[str, int, str]] = []
    frame: FrameType | None = sys._getframe(2)
    while frame is not None and len(frames) < 8:
        code = frame.f_code
        if code.co_filename.startswith(ROOT) and "/.venv/" not in code.co_filename:
            frames.append((code.co_filename, frame.f_lineno, code.co_name))
        frame = frame.f_back
    return frames[::-1]


def _format(test: str, frames: list[tuple[str, int, str]]) -> str:
    where = "".join(traceback.format_list([traceback.FrameSummary(f, n, name) for f, n, name in frames]))
    return f"  during {test}\n" + (where or "  (no frame of the project or its tests)\n")


def pytest_runtest_logstart(nodeid: str, location: object) -> None:
    global _test
    _test = nodeid


def install(config: Any) -> None:
    """Wrap ``socket.socket.__init__`` and the current ``sys.unraisablehook`` (pytest's own); follow
    which test runs."""
    config.pluginmanager.register(sys.modules[__name__], "jingyun-leaks")
    if getattr(socket.socket.__init__, "_jingyun_traced", False):
        return
    original_init = socket.socket.__init__

    def traced_init(self: socket.socket, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        origin = (_test, _where())
        with _lock:  # sockets are made in worker threads too
            _origins.pop(id(self), None)
            _origins[id(self)] = origin
            if len(_origins) > KEEP:
                del _origins[next(iter(_origins))]

    traced_init._jingyun_traced = True  # type: ignore[attr-defined]
    socket.socket.__init__ = traced_init  # type: ignore[method-assign]
    previous = sys.unraisablehook

    def hook(args: Any) -> None:
        try:
            if isinstance(args.object, socket.socket) and id(args.object) in _origins:
                sys.stderr.write(f"{args.object!r} was left open; it was made at:\n"
                                 f"{_format(*_origins[id(args.object)])}")
        finally:
            previous(args)

    sys.unraisablehook = hook
