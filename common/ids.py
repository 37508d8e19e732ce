"""Identifiers the stores create for their rows."""

from __future__ import annotations

import uuid


def new_id() -> str:
    """A new row id: 16 hex digits (64 random bits), a string as every id in the API is."""
    return uuid.uuid4().hex[:16]
