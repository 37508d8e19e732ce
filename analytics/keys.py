"""Redis keys of the kiosk (citizen self-service) routes, built from the configured prefix."""

from __future__ import annotations


def kiosk_rate(prefix: str, bucket: str, client: str, minute: int) -> str:
    """Fixed one-minute window counter of kiosk requests per client address."""
    return f"{prefix}ratelimit:kiosk:{bucket}:{client}:{minute}"


def kiosk_submission(prefix: str, draft_id: str) -> str:
    """A kiosk draft's submission: makes a double-tapped Submit create one incident."""
    return f"{prefix}kiosk:submitted:{draft_id}"
