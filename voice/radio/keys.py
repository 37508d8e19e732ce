"""Redis keys of the radio sub-system, built from the configured prefix (``settings.redis_prefix``)."""

from __future__ import annotations


def retention_lease(prefix: str) -> str:
    """Lease held by the one process that runs the audio retention sweep for a period."""
    return f"{prefix}lease:audio-retention"
