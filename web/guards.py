"""Hardening middleware found necessary by the reliability tests (tests/reliability/).

``deep_json``: Python's JSON decoder raises ``RecursionError`` (not ``ValueError``) on a body nested
a few thousand levels deep, which every handler's ``except ValueError`` misses, so such a body was
answered 500 and logged as an internal error. This turns it into the 400 a malformed body deserves.
Wire it innermost: ``middlewares=[observe, json_errors, authenticate, guards.deep_json]``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from web import errors

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def deep_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A request whose body is nested too deeply to parse gets 400, not 500."""
    try:
        return await handler(request)
    except RecursionError:
        raise errors.bad_request("the request body is nested too deeply to parse; send a flat JSON object "
                                 "as described in /api/openapi.json") from None
