"""HTTP and WebSocket routes of the radio sub-system (issue 6)."""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    """Register routes and cleanup contexts."""
