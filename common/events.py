"""The envelope of every live event on the console channel (see "Console events" in docs/architecture.md).

Every publisher (dispatch's ``Console.publish``, and through it radio, calls and the kiosk routes;
the transcript persister) sends the same shape, so a console reads one shape: the event's own fields
plus ``origin`` (which process sent it, for tracing across processes) and ``at``
(when it was sent).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from common.times import iso


def envelope(event: Mapping[str, Any], *, origin: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """``event`` (which has its ``type``) with ``origin`` set and ``at`` added unless it has one."""
    out = {**event, "origin": origin}
    # Dispatch has always sent ``at`` in its own format (microseconds when there are any).
    out.setdefault("at", iso(now or dt.datetime.now(dt.UTC), timespec="auto"))
    return out


def console_event(type_: str, /, *, origin: str, **fields: Any) -> dict[str, Any]:
    """A console event ``{"type": type_, **fields, "origin": origin, "at": <now>}``."""
    return envelope({"type": type_, **fields}, origin=origin)
