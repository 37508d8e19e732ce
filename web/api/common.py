"""What the route modules share, so none imports another: error mapping, request parsing, audio replies.

* :func:`handles_errors`: every core package's error classes become the API's JSON errors.
* :func:`json_body`, :func:`limit_param`, :func:`since_param`: the request parts every API reads.
* :func:`audio_response`: kept Opus audio (radio transmissions, interviews, calls).
* :func:`scorers`: the triage and duplicate functions bound to the app's rule book.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
from collections.abc import Awaitable, Callable, Collection
from typing import TYPE_CHECKING, Any

from aiohttp import web

from cases.errors import RecordError
from common.times import parse_iso
from dispatch import errors as derr
from voice.calls.service import CallError
from voice.connections.deps import INTERVIEW_SOURCE
from voice.gaps import GapError, get_gap, retry_gap
from voice.interview.model import InterviewError
from voice.radio.channels import ChannelError
from voice.radio.rdio import CallFormError
from voice.radio.recording import recording_bytes
from voice.radio.service import RadioError
from voice.types import DecodeError
from web import appkeys
from web.auth import PRINCIPAL_KEY
from web.errors import BAD_REQUEST, CONFLICT, FORBIDDEN, NOT_FOUND, UNAVAILABLE, ApiError, bad_request

if TYPE_CHECKING:
    from web.api.voice import VoiceService

log = logging.getLogger("jingyun.api")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Errors that carry their own HTTP status and code (and details, where the class has them).
_STATUS_ERRORS = (RadioError, CallError, InterviewError, GapError, RecordError)


def api_error(exc: Exception) -> ApiError | None:
    """The API's answer to a core package's error; None for anything else (a bug: a 500)."""
    if isinstance(exc, _STATUS_ERRORS):
        return ApiError(exc.status, exc.code, exc.message, **getattr(exc, "details", {}))
    if isinstance(exc, ChannelError | CallFormError):
        return bad_request(exc.message, field=exc.field)
    if isinstance(exc, derr.IllegalTransition):  # before Conflict: it is one
        return ApiError(409, "illegal_transition", exc.message, **exc.details)
    if isinstance(exc, derr.NotFound):
        return ApiError(404, NOT_FOUND, exc.message, **exc.details)
    if isinstance(exc, derr.Forbidden):
        return ApiError(403, FORBIDDEN, exc.message, **exc.details)
    if isinstance(exc, derr.Conflict):
        return ApiError(409, CONFLICT, exc.message, **exc.details)
    if isinstance(exc, derr.InvalidInput):
        return ApiError(400, BAD_REQUEST, exc.message, **exc.details)
    return None


def handles_errors(handler: Handler) -> Handler:
    """Core errors become the API's JSON errors with their own messages; refusals (403) are audited."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except ApiError as exc:
            if exc.status == 403:  # e.g. an officer on another unit's resource
                await audit_refusal(request, exc.message)
            raise
        except Exception as exc:
            mapped = api_error(exc)
            if mapped is None:
                raise
            if mapped.status == 403:
                await audit_refusal(request, mapped.message)
            raise mapped from None

    return wrapper


async def audit_refusal(request: web.Request, reason: str) -> None:
    """A refusal decided by the handler (not the role check) is audited like the middleware's."""
    hook = request.app.get(appkeys.AUDIT_DENIED)
    if hook is None:
        return
    try:
        await hook(request, request.get(PRINCIPAL_KEY), reason)
    except Exception:  # the refusal itself must still be answered
        log.exception("could not audit a refused request")


async def json_body(request: web.Request, *, allowed: Collection[str] | None = None,
                    optional: bool = False) -> dict[str, Any]:
    """The JSON object in the request body, or a 400 that says what is expected.

    ``allowed``: refuse other field names, listing the accepted ones. ``optional``: no body is ``{}``.
    """
    if optional and not request.can_read_body:
        return {}
    try:
        data = await request.json()
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep
        raise bad_request("the request body must be a JSON object (Content-Type: application/json)",
                          field="body") from None
    if not isinstance(data, dict):
        raise bad_request(f"the request body must be a JSON object, not {type(data).__name__}", field="body")
    if allowed is not None:
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise bad_request(f"unknown field(s) {', '.join(unknown)}; accepted: "
                              f"{', '.join(sorted(allowed)) or 'none'}")
    return data


# Ids are ours (16 hex digits) or a district's; anything else is answered without touching the database.
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


def path_id(request: web.Request, name: str = "id", noun: str = "record") -> str:
    """The id in the path, or a 404 naming what was looked for (an odd id cannot name anything)."""
    value = request.match_info[name]
    if not ID_RE.match(value):
        raise ApiError(404, NOT_FOUND, f"no {noun} with id {value[:80]!r}")
    return value


def limit_param(request: web.Request, *, default: int, hi: int) -> int:
    """``?limit=`` from 1 to ``hi``."""
    raw = request.query.get("limit", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= hi:
        raise bad_request(f"limit must be an integer from 1 to {hi}, got {raw!r}")
    return int(raw)


def since_param(request: web.Request) -> dt.datetime | None:
    """``?since=`` as an ISO 8601 time (naive means UTC); None when absent."""
    raw = request.query.get("since")
    if not raw:
        return None
    try:
        return parse_iso(raw)
    except ValueError:
        raise bad_request(f"since must be an ISO 8601 time such as 2026-05-01T12:00:00Z, got {raw!r}") from None


async def audio_response(request: web.Request, rec_id: str | None, what: str) -> web.Response:
    """The kept Opus audio with its hash in headers; 410 once retention deleted it."""
    found = await recording_bytes(request.app[appkeys.DB], rec_id) if rec_id else None
    if found is None:
        raise ApiError(404, NOT_FOUND, f"no audio is kept for {what}")
    meta, data = found
    if data is None:
        raise ApiError(410, "gone", f"the audio of {what} was deleted on {meta['deleted_at']} "
                                    f"({meta['deleted_reason']}); its sha256 was {meta['sha256']}",
                       sha256=meta["sha256"], deleted_at=meta["deleted_at"])
    return web.Response(body=data, content_type="audio/ogg",
                        headers={"X-Audio-SHA256": meta["sha256"], "X-Recording-Id": meta["id"],
                                 "Content-Disposition": f'attachment; filename="{meta["id"]}.ogg"'})


def voice_service(app: web.Application) -> VoiceService:
    """The transcription service (``web.api.voice``), for routes that decode audio."""
    return app[appkeys.VOICE]


async def retry_gap_now(app: web.Application, gap_id: str, *, actor: str, private_ok: bool) -> dict[str, Any]:
    """Transcribe a gap again from its kept audio (``retry_gap``), with the API's errors."""
    db = app[appkeys.DB]
    gap = await get_gap(db, gap_id)
    if gap is None or (gap["source"] == INTERVIEW_SOURCE and not private_ok):
        raise ApiError(404, "not_found", f"no transcription gap {gap_id!r}")
    engine = voice_service(app).require_engine()
    try:
        return await retry_gap(db, engine, gap_id, actor=actor, executor=app[appkeys.EXECUTOR])
    except GapError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    except DecodeError as exc:
        raise ApiError(503, UNAVAILABLE, f"decoding failed again ({exc.reason}); the gap stays open, retry later") \
            from None


def scorers(app: web.Application) -> dict[str, Any]:
    """``triage_fn`` and ``duplicates_fn`` that score with the app's rule book (``appkeys.RULES``),
    reading it at call time so an admin's reload takes effect at once, for this app only.

    Empty when the app has no rule book or the analytics package is absent: the services then fall
    back to the library defaults (the shipped rules), or leave incidents unscored.
    """
    book = app.get(appkeys.RULES)
    if book is None:
        return {}
    try:
        from analytics.bound import duplicates_with, triage_with
    except ImportError:
        return {}
    return {"triage_fn": triage_with(book), "duplicates_fn": duplicates_with(book)}
