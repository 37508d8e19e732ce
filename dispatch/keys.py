"""Every Redis key and channel name, built from the configured prefix (one place, so nothing collides)."""

from __future__ import annotations


def console_channel(prefix: str) -> str:
    """Pub/sub channel of live events for every dispatcher console (losable fan-out)."""
    return f"{prefix}console"
