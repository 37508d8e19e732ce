"""JSON logging with a request or connection id on every line.

The id lives in a context variable: the request middleware and WebSocket connections set it,
and every log line written while handling that request carries it, in any module.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from typing import Any

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
# Values of these keys never reach a log line: tokens and secrets travel in them.
_REDACT = {"token", "secret", "authorization", "password", "key"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "rid": request_id.get(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                out[key] = "[redacted]" if key.lower() in _REDACT else value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.rid = request_id.get()
        return super().format(record)


def setup_logging(level: str = "INFO", as_json: bool = True) -> None:
    """Configure the root logger once (idempotent, so tests may call it repeatedly)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if as_json else
                         PlainFormatter("%(asctime)s %(levelname)s %(name)s [%(rid)s] %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_jingyun", False):
            root.removeHandler(old)
    handler._jingyun = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # aiohttp's access log duplicates our own request line.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
