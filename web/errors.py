"""The one JSON error shape of the API: ``{"error": {"code": ..., "message": ...}}``.

Handlers raise :class:`ApiError` (or a subclass); the error middleware turns it, and any
aiohttp HTTP exception, into that shape. Error codes are constants so clients can branch on them.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

UNAUTHORIZED = "unauthorized"
FORBIDDEN = "forbidden"
NOT_FOUND = "not_found"
BAD_REQUEST = "bad_request"
CONFLICT = "conflict"
TOO_LARGE = "too_large"
RATE_LIMITED = "rate_limited"
UNAVAILABLE = "unavailable"
INTERNAL = "internal"
METHOD_NOT_ALLOWED = "method_not_allowed"

_STATUS_CODES = {400: BAD_REQUEST, 401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND, 405: METHOD_NOT_ALLOWED,
                 409: CONFLICT, 413: TOO_LARGE, 429: RATE_LIMITED, 503: UNAVAILABLE}


class ApiError(Exception):
    """An error a client can act on: HTTP status, stable code, human message, optional details."""

    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


def bad_request(message: str, **details: Any) -> ApiError:
    return ApiError(400, BAD_REQUEST, message, **details)


def not_found(message: str) -> ApiError:
    return ApiError(404, NOT_FOUND, message)


def error_body(code: str, message: str, **details: Any) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if details:
        err["details"] = details
    return {"error": err}


def json_error(status: int, code: str, message: str, **details: Any) -> web.Response:
    resp = web.json_response(error_body(code, message, **details), status=status)
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="jingyun"'
    return resp


def code_for_status(status: int) -> str:
    return _STATUS_CODES.get(status, BAD_REQUEST if 400 <= status < 500 else INTERNAL)
