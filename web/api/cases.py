"""Routes of the case files (案件管理中心, issue 13 part 2) and what the evidence routes share with them.

* ``/api/cases``: open a file (from an incident), list, the process-monitoring board, per-officer
  counts; one file, its versions (with the chain check), corrections, close/reopen, and hand-over
  propose / confirm / refuse / cancel.
* The sub-system's service (:class:`cases.service.CaseService`) is built in :func:`cases_ctx`, with the
  references to other packages' records (incidents, radio transmissions, interview records,
  transcripts) resolved through their services here, so ``cases/`` imports none of them.

See docs/cases.md. Every error of ``cases.errors`` leaves as the API's JSON error with its status.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa
from aiohttp import web

from cases import casefile, fields, upload
from cases.deadlines import CaseDeadlines, load_deadlines
from cases.evidence_store import Resolver
from cases.holders import Actor, parse_holder
from cases.service import CaseService, evidence_dir
from dispatch import errors as derr
from voice.interview.model import InterviewError
from voice.tables import transcripts
from web import appkeys
from web.api.common import handles_errors, json_body, limit_param, path_id
from web.auth import Role, principal, requires
from web.errors import UNAVAILABLE, ApiError, bad_request

log = logging.getLogger("jingyun.cases.api")

# Who reads files and evidence: the officers on them, the offices, and the supervisors.
READERS = (Role.OFFICER, Role.CASE_CENTRE, Role.LEGAL_REVIEW, Role.ADMIN, Role.DISPATCHER)
# Who takes steps on a file (each step then checks the caller against the file, see cases.access).
ACTORS = (Role.OFFICER, Role.CASE_CENTRE, Role.LEGAL_REVIEW, Role.ADMIN)
OPENERS = (Role.OFFICER, Role.CASE_CENTRE, Role.ADMIN)
SUPERVISORS = (Role.ADMIN, Role.DISPATCHER)

# A partial upload not written to for this long belongs to no live request (see cases_ctx).
STALE_UPLOAD_S = 15 * 60


# ---- shared with web.api.evidence ---------------------------------------------------------------------
def service(request: web.Request) -> CaseService:
    return request.app[appkeys.CASES]


def actor(request: web.Request) -> Actor:
    """The caller as the case rules see them: an officer is ``officer:<token subject>``."""
    who = principal(request)
    return Actor(who.subject, who.role.value)


def time_param(request: web.Request, name: str) -> Any:
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        return fields.moment(raw)
    except ValueError:
        raise bad_request(f"{name} must be an ISO 8601 time such as 2026-05-01T00:00:00Z, got {raw[:80]!r}",
                          field=name) from None


# ---- routes ---------------------------------------------------------------------------------------------
@requires(*READERS)
@handles_errors
async def list_cases(request: web.Request) -> web.Response:
    """``?status=open|closed&holder=officer:<id>|case_centre|legal_review&officer=&limit=``."""
    q = request.query
    status = q.get("status") or None
    if status is not None and status not in casefile.CASE_STATES:
        raise bad_request(f"status must be one of {', '.join(casefile.CASE_STATES)}, got {status[:40]!r}",
                          field="status")
    holder = str(parse_holder(q["holder"], "holder")) if q.get("holder") else None
    officer = fields.identifier(q.get("officer"), "officer", required=False) if q.get("officer") else None
    files = await service(request).files.list_files(actor(request), status=status, holder=holder, officer=officer,
                                              limit=limit_param(request, default=200, hi=1000))
    return web.json_response({"cases": files})


@requires(*OPENERS)
@handles_errors
async def open_case(request: web.Request) -> web.Response:
    """Open a file: ``{number, incident_id?, title, summary?, responsible_officer, items?}``."""
    body = await json_body(request)
    return web.json_response(await service(request).files.open(body, actor=actor(request)), status=201)


@requires(*READERS)
@handles_errors
async def board(request: web.Request) -> web.Response:
    """Process monitoring: every open file (an officer's own), where it is, since when, overdue first."""
    return web.json_response(await service(request).files.board(actor(request)))


@requires(*SUPERVISORS)
@handles_errors
async def counts(request: web.Request) -> web.Response:
    """Per-officer open / overdue / returned / awaiting-correction counts of files opened in ``[from, to)``."""
    since, until = time_param(request, "from"), time_param(request, "to")
    if since and until and since >= until:
        raise bad_request("from must be before to", field="from")
    return web.json_response(await service(request).files.counts(since=since, until=until))


@requires(*READERS)
@handles_errors
async def get_case(request: web.Request) -> web.Response:
    return web.json_response(await service(request).files.get(path_id(request, noun="case file"), actor=actor(request)))


@requires(*READERS)
@handles_errors
async def versions(request: web.Request) -> web.Response:
    """Every version with the result of re-walking the hash chain."""
    case_id = path_id(request, noun="case file")
    return web.json_response(await service(request).files.versions(case_id, actor=actor(request)))


@requires(*ACTORS)
@handles_errors
async def correct(request: web.Request) -> web.Response:
    """A correction, as a new version: ``{title?, summary?, items?, reason}``."""
    case_id = path_id(request, noun="case file")
    body = await json_body(request)
    return web.json_response(await service(request).files.correct(case_id, body, actor=actor(request)), status=201)


@requires(*ACTORS)
@handles_errors
async def set_status(request: web.Request) -> web.Response:
    """``{"status": "closed"|"open", "reason"?}``; reopening needs a reason."""
    case_id = path_id(request, noun="case file")
    body = await json_body(request)
    return web.json_response(await service(request).files.set_status(case_id, body, actor=actor(request)))


@requires(*ACTORS)
@handles_errors
async def propose(request: web.Request) -> web.Response:
    """``{to, purpose?: transfer|return_for_correction, note?, corrections?}`` from the current holder."""
    case_id = path_id(request, noun="case file")
    body = await json_body(request)
    return web.json_response(await service(request).files.propose(case_id, body, actor=actor(request)), status=201)


async def _decide(request: web.Request, decision: str) -> web.Response:
    case_id = path_id(request, noun="case file")
    handover_id = path_id(request, "hid", noun="hand-over")
    body = await json_body(request, optional=True)
    result = await service(request).files.decide(case_id, handover_id, decision, body, actor=actor(request))
    return web.json_response(result)


@requires(*ACTORS)
@handles_errors
async def confirm(request: web.Request) -> web.Response:
    """The receiver takes the file: ``{note?}``."""
    return await _decide(request, "confirm")


@requires(*ACTORS)
@handles_errors
async def refuse(request: web.Request) -> web.Response:
    """The receiver declines: ``{reason}``."""
    return await _decide(request, "refuse")


@requires(*ACTORS)
@handles_errors
async def cancel(request: web.Request) -> web.Response:
    """The sender (or an admin) withdraws the proposal: ``{reason?}``."""
    return await _decide(request, "cancel")


# ---- lifecycle ------------------------------------------------------------------------------------------
def resolver(app: web.Application) -> Resolver:
    """Whether an incident, radio transmission, interview record or transcript exists, asked of the
    service that keeps it (read when a request needs it, so start-up order does not matter)."""

    def need(key: Any, what: str) -> Any:
        svc = app.get(key)
        if svc is None:
            raise ApiError(503, UNAVAILABLE, f"the {what} service is not running here; {what}s cannot be checked")
        return svc

    async def exists(kind: str, ref: str) -> bool:
        if kind == "incident":
            try:
                await need(appkeys.DISPATCH, "dispatch").ctx.store.incident_row(ref)
            except derr.NotFound:
                return False
            return True
        if kind == "radio_transmission":
            return await need(appkeys.RADIO, "radio").get_transmission(ref) is not None
        if kind == "interview_record":
            try:
                await need(appkeys.INTERVIEWS, "interview").get(ref, with_lines=False)
            except InterviewError as exc:
                if exc.status == 404:
                    return False
                raise
            return True
        if kind == "transcript":
            if not ref.isdigit():
                return False
            async with app[appkeys.DB].connect() as conn:
                found = await conn.scalar(sa.select(transcripts.c.id).where(transcripts.c.id == int(ref)))
            return found is not None
        raise ValueError(f"no way to check a reference of kind {kind!r}")

    return exists


def cases_ctx(deadlines: CaseDeadlines) -> Any:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        settings = app[appkeys.SETTINGS]
        # A crashed process's partial uploads are never registered; clear them before serving. Only ones
        # idle for a while: other processes sharing the directory may be receiving uploads right now.
        removed = upload.remove_stale_temps(evidence_dir(settings.data_dir), older_than_s=STALE_UPLOAD_S)
        if removed:
            log.warning("removed %d partial evidence uploads left by a stopped process", len(removed))
        dispatch = app.get(appkeys.DISPATCH)
        app[appkeys.CASES] = CaseService.create(
            app[appkeys.DB], settings.data_dir, max_bytes=settings.cases.evidence_max_bytes, deadlines=deadlines,
            exists=resolver(app), record_head=dispatch.bus.record_audit_head if dispatch is not None else None,
            executor=app[appkeys.EXECUTOR])
        yield

    return ctx


def setup(app: web.Application) -> None:
    """Load the deadline table (a broken one stops start-up, naming the key) and register the routes."""
    settings = app[appkeys.SETTINGS]
    deadlines = load_deadlines(settings.cases.deadlines_file or None)
    app.cleanup_ctx.append(cases_ctx(deadlines))
    r = app.router
    r.add_get("/api/cases", list_cases)
    r.add_post("/api/cases", open_case)
    r.add_get("/api/cases/board", board)
    r.add_get("/api/cases/counts", counts)
    r.add_get("/api/cases/{id}", get_case)
    r.add_get("/api/cases/{id}/versions", versions)
    r.add_post("/api/cases/{id}/corrections", correct)
    r.add_post("/api/cases/{id}/status", set_status)
    r.add_post("/api/cases/{id}/handovers", propose)
    r.add_post("/api/cases/{id}/handovers/{hid}/confirm", confirm)
    r.add_post("/api/cases/{id}/handovers/{hid}/refuse", refuse)
    r.add_post("/api/cases/{id}/handovers/{hid}/cancel", cancel)
