"""Request middlewares: request id + logging + metrics, JSON errors, authentication and roles."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from web import appkeys, errors
from web.auth import PRINCIPAL_KEY, TokenError, bearer_from_request, form_token_field, route_roles, verify_token
from web.logs import request_id

log = logging.getLogger("jingyun.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _route_name(request: web.Request) -> str:
    info = request.match_info.route.resource
    return info.canonical if info is not None else "unmatched"


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give the request an id (kept from X-Request-Id when sane), log it and count it."""
    rid = request.headers.get("X-Request-Id", "")
    if not (0 < len(rid) <= 64 and rid.replace("-", "").isalnum()):
        rid = uuid.uuid4().hex[:16]
    token = request_id.set(rid)
    start = time.perf_counter()
    status = 500
    try:
        resp = await handler(request)
        status = resp.status
        if not resp.prepared:
            resp.headers["X-Request-Id"] = rid
        return resp
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        elapsed = time.perf_counter() - start
        route = _route_name(request)
        metrics = request.app.get(appkeys.METRICS)
        if metrics is not None:
            metrics.http_requests.labels(route, request.method, str(status)).inc()
            metrics.http_latency.labels(route).observe(elapsed)
        if route not in ("/healthz", "/readyz", "/metrics"):
            log.info("%s %s %s", request.method, request.path, status,
                     extra={"status": status, "ms": round(elapsed * 1000, 1), "route": route})
        request_id.reset(token)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves as ``{"error": {"code", "message"}}``; unexpected ones are logged, not leaked."""
    try:
        return await handler(request)
    except errors.ApiError as exc:
        return errors.json_error(exc.status, exc.code, exc.message, **exc.details)
    except web.HTTPRedirection:
        raise
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
        if exc.status == 405:
            message = f"method {request.method} is not allowed here; allowed: " + ", ".join(
                sorted(getattr(exc, "allowed_methods", ()) or ()))
        elif exc.status == 404:
            message = f"no such resource: {request.path}"
        elif exc.status == 413:
            message = f"request body too large; the limit is {request.app[appkeys.SETTINGS].max_request_bytes} bytes"
        return errors.json_error(exc.status, errors.code_for_status(exc.status), message)
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return errors.json_error(500, errors.INTERNAL, "internal error; the request id is in X-Request-Id")


def origin_allowed(request: web.Request, allowed: tuple[str, ...]) -> bool:
    """Browsers send Origin on WebSocket upgrades; a foreign one is refused (CSWSH).

    Non-browser clients (gateways, SDKs) send no Origin and are judged by their token alone.
    """
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    if allowed:
        return origin.rstrip("/") in {a.rstrip("/") for a in allowed}
    parsed = urlsplit(origin)
    return bool(parsed.netloc) and parsed.netloc.lower() == (request.host or "").lower()


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Enforce each route's declared roles; 401 for no or bad token, 403 for a wrong role."""
    route = request.match_info.route
    if route.resource is None:  # 404/405: let the router answer
        return await handler(request)
    roles = route_roles(route)
    if roles is None:
        return await handler(request)
    metrics = request.app.get(appkeys.METRICS)
    is_ws = request.headers.get("Upgrade", "").lower() == "websocket"
    if is_ws and not origin_allowed(request, request.app[appkeys.SETTINGS].allowed_origins):
        if metrics:
            metrics.auth_denied.labels("origin").inc()
        await _audit_denied(request, None, "origin not allowed")
        raise errors.ApiError(403, errors.FORBIDDEN,
                              f"WebSocket Origin {request.headers.get('Origin')!r} is not allowed; "
                              "set JINGYUN_ALLOWED_ORIGINS to allow it")
    token = bearer_from_request(request)
    field = form_token_field(route.handler)
    if not token and field and request.method == "POST" and request.content_type in (
            "multipart/form-data", "application/x-www-form-urlencoded"):
        # aiohttp caches the parsed form, so the handler reads it again without a second parse.
        try:
            form = await request.post()
        except ValueError as exc:
            raise errors.bad_request(f"malformed form body: {exc}") from None
        value = form.get(field)
        token = value if isinstance(value, str) and value else None
    if not token:
        if metrics:
            metrics.auth_denied.labels("missing").inc()
        await _audit_denied(request, None, "missing token")
        raise errors.ApiError(401, errors.UNAUTHORIZED,
                              "missing token: send 'Authorization: Bearer <token>' "
                              "(WebSockets may use ?token=<token>)")
    try:
        who = verify_token(request.app[appkeys.SECRET], token)
    except TokenError as exc:
        if metrics:
            metrics.auth_denied.labels("invalid").inc()
        await _audit_denied(request, None, str(exc))
        raise errors.ApiError(401, errors.UNAUTHORIZED, str(exc)) from None
    if who.role not in roles:
        if metrics:
            metrics.auth_denied.labels("role").inc()
        await _audit_denied(request, who, f"role {who.role.value} not allowed")
        raise errors.ApiError(403, errors.FORBIDDEN,
                              f"role {who.role.value!r} may not use this endpoint; allowed roles: "
                              + ", ".join(sorted(r.value for r in roles)))
    request[PRINCIPAL_KEY] = who
    return await handler(request)


async def _audit_denied(request: web.Request, who: object, reason: str) -> None:
    """Hand denied attempts to the audit log when the dispatch sub-system provides one."""
    hook = request.app.get(appkeys.AUDIT_DENIED)
    if hook is not None:
        try:
            await hook(request, who, reason)
        except Exception:  # the denial itself must still be answered
            log.exception("could not audit a denied request")

