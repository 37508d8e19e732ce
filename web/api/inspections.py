"""Routes of building hazard inspections (issue 13, part 3); see docs/inspections.md.

* ``/api/buildings``: register (admin, fire office), list the buildings the caller may see, one
  building's file (一栋楼一档案: record, versions, inspections, photos), correct it (version n+1).
* ``/api/buildings/{id}/photos``: the manager streams a self-check photo in (hashed on receipt, kept
  whole or not at all); every inspection role that sees the building reads it back.
* ``/api/buildings/{id}/inspections``: the manager submits a self-check.
* ``/api/inspections/...``: the caller's worklist, one inspection, each step of the chain, and the
  fire police's "open an incident" through the dispatch service.

A building the caller may not see answers 404 exactly like one that does not exist. Overdue steps
are found by a periodic task (one process at a time, by a Redis lease) and raised once each as a
console alert.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
from collections.abc import AsyncIterator

from aiohttp import web

from cases.errors import InvalidInput
from cases.upload import check_declared_size, remove_stale_temps
from inspections.access import Viewer
from inspections.buildings import BUILDING_TYPES
from inspections.chain import ACTION_NAMES, MEASURES, SEVERITIES, STATES
from inspections.photos import relative_dir
from inspections.service import InspectionService
from web import appkeys
from web.api.common import ID_RE, handles_errors, json_body, limit_param, path_id
from web.auth import Role, principal, requires

log = logging.getLogger("jingyun.inspections.api")

# Everyone the chain involves (inspections.access decides what each of them sees).
INSPECTION_ROLES = (Role.BUILDING_MANAGER, Role.GRID_WORKER, Role.FIRE_OFFICE, Role.FIRE_POLICE, Role.ADMIN)
REGISTRARS = (Role.ADMIN, Role.FIRE_OFFICE)
# The review steps taken at /api/inspections/{id}/{action} (submit has its own route).
STEP_ACTIONS = tuple(a for a in ACTION_NAMES if a != "submit")

# A partial photo upload not written to for this long belongs to no live request (see inspections_ctx).
STALE_UPLOAD_S = 15 * 60
def overdue_lease_key(prefix: str) -> str:
    """Held by the one process that looks for overdue inspection steps in a period."""
    return f"{prefix}lease:inspection-overdue"


def service(request: web.Request) -> InspectionService:
    return request.app[appkeys.INSPECTIONS]


def viewer(request: web.Request) -> Viewer:
    who = principal(request)
    return Viewer(subject=who.subject, role=who.role.value, grids=who.grids)


# ---- buildings ---------------------------------------------------------------------------------------------
@requires(*INSPECTION_ROLES)
@handles_errors
async def list_buildings(request: web.Request) -> web.Response:
    """The buildings the caller may see: ``?q=`` (address, name or code), ``?grid_id=``, ``?limit=``."""
    q = request.query.get("q") or None
    if q is not None and len(q) > 100:
        raise InvalidInput("q is a search text of at most 100 characters", field="q")
    items = await service(request).list_buildings(viewer(request), q=q, grid_id=request.query.get("grid_id") or None,
                                                  limit=limit_param(request, default=200, hi=500))
    return web.json_response({"buildings": items})


@requires(*REGISTRARS)
@handles_errors
async def create_building(request: web.Request) -> web.Response:
    building = await service(request).create_building(await json_body(request, optional=True), viewer=viewer(request))
    return web.json_response(building, status=201)


@requires(*INSPECTION_ROLES)
@handles_errors
async def get_building(request: web.Request) -> web.Response:
    """The building's file: record, versions, every inspection in full, photos, what the caller may do."""
    return web.json_response(await service(request).building_file(path_id(request, noun="building"), viewer(request)))


@requires(*REGISTRARS)
@handles_errors
async def correct_building(request: web.Request) -> web.Response:
    """The whole record again; kept as version n+1 with the fields it changed."""
    body = await json_body(request, optional=True)
    building = await service(request).correct_building(path_id(request, noun="building"), body, viewer=viewer(request))
    return web.json_response(building)


# ---- photos ------------------------------------------------------------------------------------------------
@requires(Role.BUILDING_MANAGER)
@handles_errors
async def upload_photo(request: web.Request) -> web.Response:
    """A self-check photo as the raw body (JPEG, PNG or WebP), ``?name=`` and ``?sha256=`` optional."""
    svc = service(request)
    declared = check_declared_size(request.headers.get("Content-Length"), svc.settings.photo_max_bytes)
    photo, created = await svc.receive_photo(
        path_id(request, noun="building"), request.content.iter_chunked(64 * 1024), viewer=viewer(request),
        content_type=request.content_type, name=request.query.get("name"), declared_size=declared,
        expected_sha256=request.query.get("sha256"))
    return web.json_response(photo, status=201 if created else 200)


@requires(*INSPECTION_ROLES)
@handles_errors
async def get_photo(request: web.Request) -> web.Response:
    photo, data = await service(request).photo_file(path_id(request, noun="building"), request.match_info["sha256"],
                                                    viewer(request))
    return web.Response(body=data, content_type=photo["content_type"],
                        headers={"X-Content-SHA256": photo["sha256"], "Cache-Control": "private, max-age=3600"})


# ---- inspections -------------------------------------------------------------------------------------------
@requires(Role.BUILDING_MANAGER)
@handles_errors
async def submit(request: web.Request) -> web.Response:
    """The manager's self-check: ``{"answers", "photos", "note"?}``; a new inspection (201)."""
    body = await json_body(request, optional=True)
    result = await service(request).submit(path_id(request, noun="building"), body, viewer=viewer(request))
    return web.json_response(result, status=201)


@requires(*INSPECTION_ROLES)
@handles_errors
async def list_inspections(request: web.Request) -> web.Response:
    """The caller's worklist: ``?state=open|<state>&building_id=&limit=``, the longest waiting first."""
    building_id = request.query.get("building_id") or None
    if building_id is not None and not ID_RE.match(building_id):
        raise InvalidInput(f"building_id {building_id[:80]!r} is not a building id", field="building_id")
    items = await service(request).list_inspections(viewer(request), state=request.query.get("state") or None,
                                                    building_id=building_id,
                                                    limit=limit_param(request, default=200, hi=500))
    return web.json_response({"inspections": items})


@requires(*INSPECTION_ROLES)
@handles_errors
async def get_inspection(request: web.Request) -> web.Response:
    return web.json_response(await service(request).get_inspection(path_id(request, noun="inspection"),
                                                                    viewer(request)))


@requires(*INSPECTION_ROLES)
@handles_errors
async def take_step(request: web.Request) -> web.Response:
    """One step of the chain; the body each action takes is in docs/inspections.md and the OpenAPI spec."""
    inspection_id = path_id(request, noun="inspection")
    action = request.match_info["action"]
    if action not in STEP_ACTIONS:
        raise InvalidInput(f"action must be one of {', '.join(STEP_ACTIONS)} (a self-check is submitted at "
                           f"POST /api/buildings/{{id}}/inspections), got {action[:40]!r}", field="action",
                           accepted=list(STEP_ACTIONS))
    body = await json_body(request, optional=True)
    result = await service(request).act(inspection_id, action, body, viewer=viewer(request))
    return web.json_response(result)


@requires(Role.FIRE_POLICE, Role.ADMIN)
@handles_errors
async def open_incident(request: web.Request) -> web.Response:
    """Open a dispatch incident for an escalated hazard and link it: ``{"note"?}`` (201)."""
    body = await json_body(request, optional=True)
    result = await service(request).open_incident(path_id(request, noun="inspection"), body,
                                                  viewer=viewer(request))
    return web.json_response(result, status=201)


@requires(*INSPECTION_ROLES)
async def reference(request: web.Request) -> web.Response:
    """What the forms offer: the checklist, building types, states, severities, measures, deadlines."""
    svc = service(request)
    return web.json_response({
        "checklist": svc.checklist_json(), "building_types": BUILDING_TYPES, "states": list(STATES),
        "severities": list(SEVERITIES), "measures": list(MEASURES),
        "deadlines_h": {k: v.total_seconds() / 3600 for k, v in svc.deadlines.steps.items()},
        "self_check_every_h": svc.deadlines.self_check_every.total_seconds() / 3600,
        "photo_max_bytes": svc.settings.photo_max_bytes})


# ---- lifecycle ---------------------------------------------------------------------------------------------
async def inspections_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[appkeys.SETTINGS]
    dispatch = app[appkeys.DISPATCH]
    svc = InspectionService(app[appkeys.DB], settings.inspections, data_dir=settings.data_dir, dispatch=dispatch,
                            executor=app[appkeys.EXECUTOR], record_audit_head=dispatch.bus.record_audit_head)
    # Uploads a crashed process left half-written are deleted before serving (nothing partial is kept);
    # only idle ones: another process sharing the directory may be receiving a photo right now.
    removed = await asyncio.get_running_loop().run_in_executor(
        app[appkeys.EXECUTOR], functools.partial(remove_stale_temps, settings.data_dir / relative_dir("x").parent,
                                                 older_than_s=STALE_UPLOAD_S))
    if removed:
        log.warning("deleted %d incomplete photo uploads left by a stopped process", len(removed))
    app[appkeys.INSPECTIONS] = svc
    me = os.urandom(8).hex()
    stop = asyncio.Event()
    task = asyncio.get_running_loop().create_task(_overdue_loop(app, svc, me, stop), name="inspections-overdue")
    try:
        yield
    finally:
        # Bounded, like dispatch's tasks: a cancellation swallowed inside a Redis call must not keep the
        # server from stopping (the loop also ends on ``stop`` at its next turn).
        stop.set()
        task.cancel()
        _done, stuck = await asyncio.wait({task}, timeout=5.0)
        if stuck:
            log.warning("the overdue inspection check did not stop within 5 s")
        # A process that stops hands the lease over at once instead of after its time-out.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(dispatch.bus.release_lease(me, overdue_lease_key(settings.redis_prefix)), 2.0)


async def _overdue_loop(app: web.Application, svc: InspectionService, me: str, stop: asyncio.Event) -> None:
    """Every JINGYUN_INSPECTION_OVERDUE_CHECK_SECONDS the process holding the lease raises the alerts."""
    bus = app[appkeys.DISPATCH].bus
    interval = svc.settings.overdue_check_s
    key = overdue_lease_key(app[appkeys.SETTINGS].redis_prefix)
    # A holder that stops is replaced after three missed periods (at least 5 s).
    ttl_s = max(5.0, 3 * interval)
    while not stop.is_set():
        try:
            if await bus.hold_lease(me, ttl_s, key):
                raised = await svc.raise_overdue_alerts()
                if raised:
                    log.info("raised %d overdue inspection alerts", len(raised))
        except Exception:
            log.exception("overdue inspection check failed; retrying next period")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


def setup(app: web.Application) -> None:
    """Register routes and the cleanup context (after dispatch's: the service needs it)."""
    app.cleanup_ctx.append(inspections_ctx)
    r = app.router
    r.add_get("/api/buildings", list_buildings)
    r.add_post("/api/buildings", create_building)
    r.add_get("/api/buildings/{id}", get_building)
    r.add_put("/api/buildings/{id}", correct_building)
    r.add_post("/api/buildings/{id}/photos", upload_photo)
    r.add_get("/api/buildings/{id}/photos/{sha256}", get_photo)
    r.add_post("/api/buildings/{id}/inspections", submit)
    r.add_get("/api/inspections", list_inspections)
    r.add_get("/api/inspections/reference", reference)
    r.add_get("/api/inspections/{id}", get_inspection)
    r.add_post("/api/inspections/{id}/incident", open_incident)
    r.add_post("/api/inspections/{id}/{action}", take_step)
