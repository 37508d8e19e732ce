"""HTTP and WebSocket routes of the intel sub-system (filled in by its issue)."""

from __future__ import annotations

from aiohttp import web


def setup(app: web.Application) -> None:
    """Register routes and cleanup contexts."""
