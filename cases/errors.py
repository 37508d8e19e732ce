"""The exception tree of case files, evidence and building inspections.

Each class carries the HTTP ``status`` and the stable error ``code`` (the ones in ``web/errors.py``)
that the web layer answers with, so one ``except RecordError`` maps all of them. Every message says
what was wrong and what is accepted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar


class RecordError(Exception):
    """Base of every error raised by ``cases`` and ``inspections``; ``details`` go into the JSON body."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(RecordError):
    """A value was missing, of the wrong type or out of range (HTTP 400); ``details["field"]`` names it."""


class Forbidden(RecordError):
    """The caller's role or identity may not take this step on this record (HTTP 403)."""

    status = 403
    code = "forbidden"


class NotFound(RecordError):
    """No record with that id (HTTP 404)."""

    status = 404
    code = "not_found"


class Conflict(RecordError):
    """The request is valid but the record's current state refuses it (HTTP 409)."""

    status = 409
    code = "conflict"


class IllegalTransition(Conflict):
    """A state change the state machine does not allow; names the current state and what it allows."""

    def __init__(self, kind: str, current: str, requested: str, allowed: Sequence[str]) -> None:
        allowed_text = ", ".join(allowed) if allowed else "none (final state)"
        super().__init__(f"{kind} cannot {requested!r} while {current!r}; from {current!r} it may: {allowed_text}",
                         current=current, requested=requested, allowed=list(allowed))


class TooLarge(RecordError):
    """An upload went past its size limit (HTTP 413); nothing of it was kept."""

    status = 413
    code = "too_large"


class IncompleteUpload(InvalidInput):
    """An upload ended before its declared size, was empty, or failed its declared hash; nothing was kept."""
