"""Hardening middleware found necessary by the reliability tests (tests/reliability/).

``malformed_input`` turns two kinds of malformed request into the 400 they deserve instead of a
500 logged as an internal error:

* a JSON body nested a few thousand levels deep: Python's decoder raises ``RecursionError``
  (not ``ValueError``), which every handler's ``except ValueError`` misses;
* a multipart body with broken part headers: aiohttp raises ``HttpProcessingError`` from
  ``request.post()`` (in handlers, and in the auth middleware when it reads a form token).

Wire it between the error middleware and authentication, so it also covers the form-token read:
``middlewares=[observe, json_errors, guards.malformed_input, authenticate]``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from web import errors

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def malformed_input(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A request body that cannot be parsed gets 400 with the reason, never 500."""
    try:
        return await handler(request)
    except RecursionError:
        raise errors.bad_request("the request body is nested too deeply to parse; send a flat JSON object "
                                 "as described in /api/openapi.json") from None
    except HttpProcessingError as exc:
        raise errors.bad_request(f"malformed request body: {exc.message or exc.__class__.__name__}") from None
