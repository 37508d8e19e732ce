"""Times as the API writes and reads them: ISO 8601 in UTC with a ``Z``.

The databases hand back naive datetimes from SQLite; they were stored as UTC, so naive means UTC
both here and in what clients send.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, overload

# "milliseconds" is what voice, radio, interviews and calls write (docs/interviews.md: "stored to the
# millisecond"). Dispatch and cases have always written Python's "auto" (microseconds when there are
# any): docs/dispatch.md shows it and the case-file and audit hash chains hash it, so they keep it.
Timespec = Literal["milliseconds", "auto"]


@overload
def as_utc(value: dt.datetime) -> dt.datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """The same instant in UTC; a naive value is taken to be UTC already. None stays None."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


@overload
def iso(value: dt.datetime, *, timespec: Timespec = ...) -> str: ...
@overload
def iso(value: None, *, timespec: Timespec = ...) -> None: ...
@overload
def iso(value: dt.datetime | None, *, timespec: Timespec = ...) -> str | None: ...
def iso(value: dt.datetime | None, *, timespec: Timespec = "milliseconds") -> str | None:
    """``2026-05-01T12:00:03.120Z``; None stays None."""
    if value is None:
        return None
    return as_utc(value).isoformat(timespec=timespec).replace("+00:00", "Z")


def parse_iso(value: str) -> dt.datetime:
    """An ISO 8601 time from a client (``Z`` or an offset; naive means UTC), in UTC.

    Raises ``ValueError`` for anything else: each caller words the error for its own field.
    """
    return as_utc(dt.datetime.fromisoformat(value.replace("Z", "+00:00")))


@overload
def iso_exact(value: dt.datetime) -> str: ...
@overload
def iso_exact(value: None) -> None: ...
@overload
def iso_exact(value: dt.datetime | None) -> str | None: ...
def iso_exact(value: dt.datetime | None) -> str | None:
    """``2026-05-01T12:00:03.120456Z`` (microseconds when there are any, ``timespec="auto"``): the format
    dispatch, case files and inspections publish and their hash chains hash. None stays None."""
    return iso(value, timespec="auto")
