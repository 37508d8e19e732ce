"""The dispatch exception tree. ``web.api.dispatch`` maps each class to an HTTP status.

Every message says what was wrong and what is accepted, so a dispatcher can act on it.
"""

from __future__ import annotations

from typing import Any


class DispatchError(Exception):
    """Base of every dispatch error; ``details`` travel into the JSON error body."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(DispatchError):
    """A value was missing, of the wrong type or out of range (HTTP 400)."""


class NotFound(DispatchError):
    """No incident, unit, order or alert with that id (HTTP 404)."""


class Forbidden(DispatchError):
    """The caller may not touch this object, e.g. an officer and another unit's order (HTTP 403)."""


class Conflict(DispatchError):
    """The request is valid but the current state refuses it (HTTP 409)."""


class IllegalTransition(Conflict):
    """A state change that the state machine does not allow; names the current and requested state."""

    def __init__(self, kind: str, current: str, requested: str, allowed: list[str]) -> None:
        allowed_text = ", ".join(allowed) if allowed else "none (final state)"
        super().__init__(f"{kind} cannot go from {current!r} to {requested!r}; from {current!r} "
                         f"it may go to: {allowed_text}",
                         current=current, requested=requested, allowed=allowed)
