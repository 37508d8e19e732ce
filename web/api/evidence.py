"""Routes of the evidence bag (视频档案袋, issue 13 part 1); see docs/cases.md.

Register an item, then ``PUT`` its file (streamed to disk through :func:`cases.upload.receive`: 413
before a byte is read when ``Content-Length`` is over the limit, nothing kept when the upload is cut
off) or record the signed statement that it was lost or damaged. Opening an item, downloading its
file, exporting it and handing its media over are each a custody event in the audit log; the trail
reads them back.
"""

from __future__ import annotations

import asyncio
import base64
from urllib.parse import quote

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from cases import evidence, fields
from cases.errors import IncompleteUpload
from web.api.cases import READERS, actor, service
from web.api.common import handles_errors, json_body, limit_param, path_id
from web.auth import Role, requires
from web.errors import bad_request

# Who registers items and completes them (each then checked against the item, see cases.access).
WRITERS = (Role.OFFICER, Role.CASE_CENTRE, Role.ADMIN)
# Exports and physical hand-overs are steps, not reading: not for supervisors who only read.
HANDLERS = (Role.OFFICER, Role.CASE_CENTRE, Role.LEGAL_REVIEW, Role.ADMIN)
CHUNK = 256 * 1024


def _item_id(request: web.Request) -> str:
    return path_id(request, noun="evidence item")


@requires(*WRITERS)
@handles_errors
async def register(request: web.Request) -> web.Response:
    """Register an item (see docs/cases.md for the fields); media then wait for their file."""
    body = await json_body(request)
    return web.json_response(await service(request).evidence.register(body, actor=actor(request)), status=201)


@requires(*READERS)
@handles_errors
async def list_items(request: web.Request) -> web.Response:
    """``?incident_id=&case_id=&state=&limit=``; listing shows registrations and is not a custody event."""
    q = request.query
    state = q.get("state") or None
    if state is not None and state not in evidence.EVIDENCE_STATES:
        raise bad_request(f"state must be one of {', '.join(evidence.EVIDENCE_STATES)}, got {state[:40]!r}",
                          field="state")
    incident_id = fields.identifier(q.get("incident_id"), "incident_id", required=False) if q.get("incident_id") \
        else None
    case_id = fields.identifier(q.get("case_id"), "case_id", required=False) if q.get("case_id") else None
    items = await service(request).evidence.list_items(actor(request), incident_id=incident_id, case_id=case_id,
                                                 state=state, limit=limit_param(request, default=100, hi=1000))
    return web.json_response({"evidence": items})


@requires(*READERS)
@handles_errors
async def view(request: web.Request) -> web.Response:
    """The item's record; a ``viewed`` custody event."""
    return web.json_response(await service(request).evidence.view(_item_id(request), actor=actor(request)))


@requires(*WRITERS)
@handles_errors
async def put_file(request: web.Request) -> web.Response:
    """The item's file as the raw body (``Content-Type`` fitting its kind; ``?filename=`` the original name;
    ``X-Content-SHA256`` optionally, checked on receipt). Kept whole or not at all."""
    ev_id = _item_id(request)
    try:
        item = await service(request).evidence.receive_file(
            ev_id, request.content.iter_chunked(CHUNK), actor=actor(request),
            media_type=request.headers.get("Content-Type"), filename=request.query.get("filename"),
            content_length=request.headers.get("Content-Length"),
            declared_sha256=request.headers.get("X-Content-SHA256"))
    except (ConnectionError, asyncio.IncompleteReadError, HttpProcessingError) as exc:
        # The client went away or the body broke off: receive() has already thrown the partial file away.
        raise IncompleteUpload(f"the upload was cut off ({type(exc).__name__}); nothing was kept, send the whole "
                               "file again", field="file") from None
    return web.json_response(item, status=201)


@requires(*WRITERS)
@handles_errors
async def record_loss(request: web.Request) -> web.Response:
    """No file will come: ``{condition: lost|damaged, statement, responsible, responsible_role, confirmed: true,
    statement_sha256?}``, signed by the person responsible."""
    ev_id = _item_id(request)
    body = await json_body(request)
    return web.json_response(await service(request).evidence.record_loss(ev_id, body, actor=actor(request)))


@requires(*READERS)
@handles_errors
async def get_file(request: web.Request) -> web.StreamResponse:
    """The kept file, with its sha256 (``X-Content-SHA256``, ``Repr-Digest``); a ``downloaded`` custody event."""
    item, path = await service(request).evidence.open_download(_item_id(request), actor=actor(request))
    kept = item["file"]
    digest = base64.b64encode(bytes.fromhex(kept["sha256"])).decode("ascii")
    name = kept["filename"] or item["id"]
    headers = {"Content-Type": kept["media_type"], "X-Content-SHA256": kept["sha256"],
               "Repr-Digest": f"sha-256=:{digest}:", "X-Evidence-Id": item["id"], "Cache-Control": "no-store",
               "Content-Disposition": f"attachment; filename=\"{item['id']}\"; filename*=UTF-8''{quote(name)}"}
    return web.FileResponse(path, headers=headers)


@requires(*HANDLERS)
@handles_errors
async def export(request: web.Request) -> web.Response:
    """Record an export ``{format: file|media|print|record, recipient, note?}``; returns the manifest."""
    ev_id = _item_id(request)
    body = await json_body(request)
    return web.json_response(await service(request).evidence.export(ev_id, body, actor=actor(request)))


@requires(*HANDLERS)
@handles_errors
async def hand_over(request: web.Request) -> web.Response:
    """The media (or a copy) changed hands: ``{from, to, note?}``."""
    ev_id = _item_id(request)
    body = await json_body(request)
    return web.json_response(await service(request).evidence.hand_over(ev_id, body, actor=actor(request)),
                             status=201)


@requires(*READERS)
@handles_errors
async def custody_trail(request: web.Request) -> web.Response:
    """Every custody event of the item in order (reading the trail is not itself an event)."""
    ev_id = _item_id(request)
    events = await service(request).evidence.trail(ev_id, actor=actor(request))
    return web.json_response({"evidence_id": ev_id, "events": events})


def setup(app: web.Application) -> None:
    """Register the routes; the service is built by web.api.cases (its cleanup context)."""
    r = app.router
    r.add_post("/api/evidence", register)
    r.add_get("/api/evidence", list_items)
    r.add_get("/api/evidence/{id}", view)
    r.add_put("/api/evidence/{id}/file", put_file)
    r.add_get("/api/evidence/{id}/file", get_file)
    r.add_post("/api/evidence/{id}/loss", record_loss)
    r.add_post("/api/evidence/{id}/export", export)
    r.add_post("/api/evidence/{id}/handover", hand_over)
    r.add_get("/api/evidence/{id}/custody", custody_trail)
