"""HTTP and WebSocket routes of the dispatch sub-system.

Handlers only move data: they parse the request, call :class:`dispatch.service.DispatchService`
and shape the reply. Dispatch errors become the foundation's JSON error shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from cases.upload import remove_stale_temps
from dispatch import errors as derr
from dispatch.exports import alert_to_cap, to_eido, units_by_id
from dispatch.live import Hub
from dispatch.model import parse_time, utcnow
from dispatch.service import DispatchService
from dispatch.views import without_ranking
from web import appkeys
from web.api.common import audit_refusal, handles_errors, json_body, scorers
from web.auth import Principal, Role, principal, requires
from web.errors import BAD_REQUEST, CONFLICT, FORBIDDEN, NOT_FOUND, ApiError
from web.ws import CLOSE_POLICY, Connection

log = logging.getLogger("jingyun.dispatch.api")

DISPATCH_ROLES = (Role.DISPATCHER, Role.ADMIN, Role.SERVICE)
PHOTOS_DIR = "field-photos"  # under JINGYUN_DATA_DIR


def svc(request: web.Request) -> DispatchService:
    service = request.app[appkeys.DISPATCH]
    assert isinstance(service, DispatchService)
    return service


def actor_of(who: Principal) -> str:
    return who.subject


def own_unit_only(who: Principal, unit_id: str) -> None:
    """Officers may only act on their own unit."""
    if not who.can_see_unit(unit_id):
        raise ApiError(403, FORBIDDEN, f"officers may only use their own unit ({who.unit_id}), not {unit_id}")


def officer_unit(who: Principal) -> str | None:
    """The unit an officer acts for (always their own), None for the dispatch roles."""
    if who.role is Role.OFFICER:
        if not who.unit_id:
            raise ApiError(403, FORBIDDEN, "this officer token names no unit")
        return who.unit_id
    return None


def time_arg(request: web.Request, name: str) -> Any:
    raw = request.query.get(name)
    return parse_time(raw, name) if raw else None


# ---- incidents ---------------------------------------------------------------------------------------
@requires(*DISPATCH_ROLES)
@handles_errors
async def create_incident(request: web.Request) -> web.Response:
    data = await json_body(request)
    allowed = {"text", "source", "lang", "location_text", "lat", "lon", "report"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ApiError(400, BAD_REQUEST, f"unknown fields {unknown}; accepted: {', '.join(sorted(allowed))}")
    incident = await svc(request).create_incident(
        text=data.get("text"), source=data.get("source", "call"), actor=actor_of(principal(request)),  # type: ignore[arg-type]
        lang=data.get("lang"), location_text=data.get("location_text"), lat=data.get("lat"), lon=data.get("lon"),
        report=data.get("report"))
    return web.json_response(incident, status=201)


@requires(*DISPATCH_ROLES)
@handles_errors
async def list_incidents(request: web.Request) -> web.Response:
    status = [s for s in request.query.get("status", "").split(",") if s] or None
    limit_raw = request.query.get("limit")
    if limit_raw is not None and not limit_raw.isdigit():
        raise ApiError(400, BAD_REQUEST, f"limit must be a positive integer, got {limit_raw!r}")
    items = await svc(request).list_incidents(status=status, since=time_arg(request, "since"),
                                              until=time_arg(request, "until"),
                                              limit=int(limit_raw) if limit_raw else None)
    return web.json_response({"incidents": items})


@requires(*DISPATCH_ROLES, Role.OFFICER)
@handles_errors
async def get_incident(request: web.Request) -> web.Response:
    incident_id = request.match_info["id"]
    who = principal(request)
    # Officers: only incidents their own unit holds (or held) an order for. Checked before the
    # lookup, so an officer learns nothing, not even whether another incident id exists.
    if who.role is Role.OFFICER and not (who.unit_id and await svc(request).unit_has_order_for(incident_id,
                                                                                               who.unit_id)):
        raise ApiError(403, FORBIDDEN, f"officers may only read incidents their own unit ({who.unit_id}) has "
                       f"an order for; incident {incident_id} has none")
    incident = await svc(request).get_incident(incident_id)
    if who.role is Role.OFFICER:  # other units' rankings are the dispatchers' business
        incident["orders"] = [without_ranking(o) for o in incident["orders"]]
    return web.json_response(incident)


@requires(*DISPATCH_ROLES)
@handles_errors
async def add_text(request: web.Request) -> web.Response:
    data = await json_body(request)
    incident = await svc(request).add_text(request.match_info["id"], text=data.get("text"),  # type: ignore[arg-type]
                                           source=data.get("source", "dispatcher"),
                                           actor=actor_of(principal(request)))
    return web.json_response(incident)


@requires(*DISPATCH_ROLES)
@handles_errors
async def link_transcript(request: web.Request) -> web.Response:
    data = await json_body(request)
    incident = await svc(request).link_transcript(request.match_info["id"], transcript_id=data.get("transcript_id"),  # type: ignore[arg-type]
                                                  text=data.get("text"), actor=actor_of(principal(request)))
    return web.json_response(incident)


@requires(Role.DISPATCHER, Role.ADMIN)
@handles_errors
async def override_priority(request: web.Request) -> web.Response:
    data = await json_body(request)
    incident = await svc(request).override_priority(request.match_info["id"], priority=data.get("priority"),  # type: ignore[arg-type]
                                                    reason=data.get("reason"),  # type: ignore[arg-type]
                                                    actor=actor_of(principal(request)))
    return web.json_response(incident)


@requires(*DISPATCH_ROLES)
@handles_errors
async def incident_status(request: web.Request) -> web.Response:
    data = await json_body(request, allowed=("status", "reason", "into", "outcome_code", "note"))
    status = data.get("status")
    if not isinstance(status, str):
        raise ApiError(400, BAD_REQUEST, "status is required: one of new, triaged, dispatched, en_route, "
                       "on_scene, closed, cancelled, merged (closed also needs outcome_code and note)")
    reason = data.get("reason", "")
    if not isinstance(reason, str):
        raise ApiError(400, BAD_REQUEST, "reason must be a string")
    incident = await svc(request).set_incident_status(request.match_info["id"], status,
                                                      actor=actor_of(principal(request)), reason=reason,
                                                      merged_into=data.get("into"),
                                                      outcome_code=data.get("outcome_code"),
                                                      outcome_note=data.get("note"))
    return web.json_response(incident)


@requires(*DISPATCH_ROLES, Role.OFFICER)
@handles_errors
async def close_incident(request: web.Request) -> web.Response:
    """Close with the outcome: dispatchers, or an officer of a unit the incident was given to."""
    who = principal(request)
    data = await json_body(request, allowed=("outcome_code", "note", "reason"))
    reason = data.get("reason", "")
    if not isinstance(reason, str):
        raise ApiError(400, BAD_REQUEST, "reason must be a string")
    incident = await svc(request).close_incident(request.match_info["id"], outcome_code=data.get("outcome_code"),
                                                 note=data.get("note"), actor=actor_of(who),
                                                 unit_id=officer_unit(who), reason=reason)
    if who.role is Role.OFFICER:
        incident["orders"] = [without_ranking(o) for o in incident["orders"]]
    return web.json_response(incident)


@requires(Role.DISPATCHER, Role.ADMIN)
@handles_errors
async def confirm_level(request: web.Request) -> web.Response:
    """The dispatcher confirms the level shown: recorded as the final level beside the machine's."""
    await json_body(request, allowed=(), optional=True)
    return web.json_response(await svc(request).confirm_level(request.match_info["id"],
                                                              actor=actor_of(principal(request))))


@requires(*DISPATCH_ROLES, Role.OFFICER)
@handles_errors
async def outcome_codes(request: web.Request) -> web.Response:
    """The codes an incident is closed with, zh/en labels, groups and EIDO disposition codes."""
    return web.json_response({"outcomes": svc(request).outcome_codes()})


# ---- field notes -------------------------------------------------------------------------------------
@requires(Role.OFFICER, Role.DISPATCHER, Role.ADMIN)
@handles_errors
async def add_field_note(request: web.Request) -> web.Response:
    who = principal(request)
    data = await json_body(request, allowed=("text",))
    note = await svc(request).add_field_note(request.match_info["id"], text=data.get("text"), actor=actor_of(who),
                                             unit_id=officer_unit(who))
    return web.json_response(note, status=201)


@requires(*DISPATCH_ROLES, Role.OFFICER)
@handles_errors
async def list_field_notes(request: web.Request) -> web.Response:
    notes = await svc(request).field_notes(request.match_info["id"], unit_id=officer_unit(principal(request)))
    return web.json_response({"incident_id": request.match_info["id"], "notes": notes})


@requires(Role.OFFICER, Role.DISPATCHER, Role.ADMIN)
@handles_errors
async def put_field_photo(request: web.Request) -> web.Response:
    """The photo of a note, as the raw request body (Content-Type image/jpeg, png, webp, heic, heif or gif),
    streamed to disk; kept whole or not at all."""
    who = principal(request)
    # Upload errors (cases.errors: 413 too large, 400 cut off / hash mismatch) map in handles_errors.
    note = await svc(request).attach_field_photo(
        request.match_info["id"], request.match_info["note"], request.content.iter_chunked(64 * 1024),
        content_type=request.headers.get("Content-Type"), content_length=request.headers.get("Content-Length"),
        expected_sha256=request.headers.get("X-Content-SHA256"), actor=actor_of(who), unit_id=officer_unit(who))
    return web.json_response(note, status=201)


@requires(*DISPATCH_ROLES, Role.OFFICER)
@handles_errors
async def get_field_photo(request: web.Request) -> web.StreamResponse:
    note, path = await svc(request).field_photo(request.match_info["id"], request.match_info["note"],
                                                unit_id=officer_unit(principal(request)))
    photo = note["photo"]
    return web.FileResponse(path, headers={
        "Content-Type": photo["content_type"], "X-Photo-SHA256": photo["sha256"],
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store",
        "Content-Disposition": f'inline; filename="{path.name}"'})


@requires(*DISPATCH_ROLES)
@handles_errors
async def unlink_duplicate(request: web.Request) -> web.Response:
    """"Not a duplicate": remove the possible-duplicate link between two incidents."""
    data = await json_body(request, optional=True)
    reason = data.get("reason", "")
    if not isinstance(reason, str):
        raise ApiError(400, BAD_REQUEST, "reason must be a string")
    incident = await svc(request).unlink_duplicate(request.match_info["id"], request.match_info["other"],
                                                   actor=actor_of(principal(request)), reason=reason)
    return web.json_response(incident)


@requires(*DISPATCH_ROLES)
@handles_errors
async def recommendations(request: web.Request) -> web.Response:
    return web.json_response(await svc(request).recommend(request.match_info["id"]))


@requires(Role.DISPATCHER, Role.ADMIN, Role.SERVICE)
@handles_errors
async def dispatch_unit(request: web.Request) -> web.Response:
    data = await json_body(request)
    unit_id = data.get("unit_id")
    if not isinstance(unit_id, str) or not unit_id:
        raise ApiError(400, BAD_REQUEST, "unit_id is required: the id of the unit to send (a string)")
    order = await svc(request).dispatch(request.match_info["id"], unit_id, actor=actor_of(principal(request)),
                                        note=data.get("note", ""))
    return web.json_response(order, status=200 if order.get("duplicate") else 201)


@requires(*DISPATCH_ROLES)
@handles_errors
async def eido(request: web.Request) -> web.Response:
    service = svc(request)
    incident = await service.get_incident(request.match_info["id"])
    units = units_by_id([await service.get_unit(uid) for uid in {o["unit_id"] for o in incident["orders"]}],
                        service.table.unit_types)
    closed = incident["outcome"] and service.outcomes.get(incident["outcome"]["code"])
    doc = to_eido(incident, units, service.settings.agency_domain, closed.to_dict() if closed else None)
    return web.json_response(doc, content_type="application/json")


# ---- alerts ------------------------------------------------------------------------------------------
@requires(*DISPATCH_ROLES)
@handles_errors
async def list_alerts(request: web.Request) -> web.Response:
    return web.json_response({"alerts": await svc(request).list_alerts()})


@requires(*DISPATCH_ROLES)
@handles_errors
async def alert_cap(request: web.Request) -> web.Response:
    service = svc(request)
    alert = await service.get_alert(request.match_info["id"])
    incident = await service.get_incident(alert["incident_id"]) if alert["incident_id"] else None
    xml = alert_to_cap(alert, incident, service.settings.agency_domain)
    return web.Response(body=xml, content_type="application/cap+xml", charset="utf-8")


# ---- units -------------------------------------------------------------------------------------------
@requires(Role.DISPATCHER, Role.ADMIN)
@handles_errors
async def create_unit(request: web.Request) -> web.Response:
    data = await json_body(request)
    allowed = {"callsign", "unit_type", "capabilities", "lat", "lon", "shift_start", "shift_end", "status"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ApiError(400, BAD_REQUEST, f"unknown fields {unknown}; accepted: {', '.join(sorted(allowed))}")
    shift_start = parse_time(data["shift_start"], "shift_start") if data.get("shift_start") else None
    shift_end = parse_time(data["shift_end"], "shift_end") if data.get("shift_end") else None
    unit = await svc(request).create_unit(
        callsign=data.get("callsign"), unit_type=data.get("unit_type", "patrol_car"),  # type: ignore[arg-type]
        capabilities=data.get("capabilities", []), lat=data.get("lat"), lon=data.get("lon"),
        actor=actor_of(principal(request)), shift_start=shift_start, shift_end=shift_end,
        status=data.get("status", "available"))
    return web.json_response(unit, status=201)


@requires(*DISPATCH_ROLES)
@handles_errors
async def list_units(request: web.Request) -> web.Response:
    return web.json_response({"units": await svc(request).list_units(status=request.query.get("status"))})


@requires(*DISPATCH_ROLES, Role.OFFICER)
@handles_errors
async def get_unit(request: web.Request) -> web.Response:
    unit_id = request.match_info["id"]
    own_unit_only(principal(request), unit_id)
    return web.json_response(await svc(request).get_unit(unit_id))


@requires(*DISPATCH_ROLES, Role.OFFICER)
@handles_errors
async def unit_history(request: web.Request) -> web.Response:
    unit_id = request.match_info["id"]
    own_unit_only(principal(request), unit_id)
    return web.json_response({"unit_id": unit_id, "history": await svc(request).unit_history(unit_id)})


@requires(Role.DISPATCHER, Role.ADMIN, Role.OFFICER)
@handles_errors
async def unit_status(request: web.Request) -> web.Response:
    unit_id = request.match_info["id"]
    who = principal(request)
    own_unit_only(who, unit_id)
    data = await json_body(request)
    status = data.get("status")
    if not isinstance(status, str):
        raise ApiError(400, BAD_REQUEST, "status is required: one of available, dispatched, en_route, "
                       "on_scene, returning, out_of_service")
    unit = await svc(request).set_unit_status(unit_id, status, actor=actor_of(who),
                                              source="officer" if who.role is Role.OFFICER else "dispatcher",
                                              note=data.get("note", ""))
    return web.json_response(unit)


@requires(Role.DISPATCHER, Role.ADMIN, Role.OFFICER, Role.SERVICE)
@handles_errors
async def unit_location(request: web.Request) -> web.Response:
    unit_id = request.match_info["id"]
    who = principal(request)
    own_unit_only(who, unit_id)
    data = await json_body(request)
    at = parse_time(data["at"], "at") if data.get("at") else None
    return web.json_response(await svc(request).update_unit_location(unit_id, lat=data.get("lat"),
                                                                      lon=data.get("lon"), actor=actor_of(who),
                                                                      at=at))


@requires(*DISPATCH_ROLES, Role.OFFICER)
@handles_errors
async def unit_orders(request: web.Request) -> web.Response:
    unit_id = request.match_info["id"]
    own_unit_only(principal(request), unit_id)
    open_only = request.query.get("open", "") in ("1", "true", "yes")
    # The unit's own orders: the ranking behind each is the dispatchers' business, even for their unit.
    return web.json_response({"orders": [without_ranking(o) for o in
                                         await svc(request).orders_for_unit(unit_id, open_only=open_only)]})


# ---- orders ------------------------------------------------------------------------------------------
@requires(*DISPATCH_ROLES, Role.OFFICER)
@handles_errors
async def get_order(request: web.Request) -> web.Response:
    order = await svc(request).get_order(request.match_info["id"])
    who = principal(request)
    own_unit_only(who, order["unit_id"])
    return web.json_response(without_ranking(order) if who.role is Role.OFFICER else order)


@requires(Role.OFFICER, Role.DISPATCHER, Role.ADMIN)
@handles_errors
async def ack_order(request: web.Request) -> web.Response:
    who = principal(request)
    order = await svc(request).acknowledge(request.match_info["id"],
                                           unit_id=who.unit_id if who.role is Role.OFFICER else None,
                                           actor=actor_of(who), via="rest")
    return web.json_response(order)


# ---- picture, intervals, audit -----------------------------------------------------------------------
@requires(*DISPATCH_ROLES)
@handles_errors
async def snapshot(request: web.Request) -> web.Response:
    return web.json_response(await svc(request).snapshot())


@requires(*DISPATCH_ROLES)
@handles_errors
async def intervals(request: web.Request) -> web.Response:
    end = time_arg(request, "end") or utcnow()
    start = time_arg(request, "start")
    if start is None:
        import datetime as dt

        start = end - dt.timedelta(days=1)
    if start >= end:
        raise ApiError(400, BAD_REQUEST, "start must be before end")
    return web.json_response(await svc(request).response_intervals(start, end))


@requires(Role.ADMIN)
@handles_errors
async def audit_verify(request: web.Request) -> web.Response:
    result = await svc(request).verify_audit()
    return web.json_response(result.to_dict(), status=200 if result.ok else 409)


# ---- WebSockets --------------------------------------------------------------------------------------
@requires(*DISPATCH_ROLES)
async def ws_console(request: web.Request) -> web.StreamResponse:
    """Live events for dispatchers; a snapshot first so the console starts complete."""
    conn = Connection(request, "console")
    await conn.prepare()
    hub = request.app[appkeys.HUB]
    hub.add_console(conn)
    try:
        conn.send({"type": "snapshot", "snapshot": await svc(request).snapshot()})
        async for raw in conn.messages():
            msg = _parse(raw)
            if msg is not None and msg.get("type") == "ping":
                conn.send({"type": "pong"})
            elif msg is not None and msg.get("type") == "resync":
                conn.send({"type": "snapshot", "snapshot": await svc(request).snapshot()})
    finally:
        hub.remove_console(conn)
        await conn.close()
    return conn.ws


def _parse(raw: str | bytes) -> dict[str, Any] | None:
    try:
        msg = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep
        return None
    return msg if isinstance(msg, dict) else None


@requires(Role.OFFICER)
async def ws_unit(request: web.Request) -> web.StreamResponse:
    """The officer's phone: orders pushed (pending ones first), acks and status updates back."""
    who = principal(request)
    service = svc(request)
    unit_id = who.unit_id or ""
    conn = Connection(request, "unit")
    await conn.prepare()
    try:
        unit = await service.get_unit(unit_id)
    except derr.NotFound:
        conn.send({"type": "error", "code": NOT_FOUND, "message": f"your token names unit {unit_id!r}, "
                   "which does not exist; ask a dispatcher for a new token"})
        await conn.close(CLOSE_POLICY, "unknown unit")
        return conn.ws
    hub = request.app[appkeys.HUB]
    # The server's clock lets the phone judge order ages without trusting its own.
    conn.send({"type": "hello", "unit": unit, "server_time": dt.datetime.now(dt.UTC).isoformat()})
    try:
        await hub.add_unit(unit_id, conn)
        # What callers added while the phone was away (or after a re-sent order was first pushed).
        for update in await service.unit_updates(unit_id):
            conn.send(update)
        async for raw in conn.messages():
            msg = _parse(raw)
            if msg is None:
                conn.send({"type": "error", "code": BAD_REQUEST,
                           "message": "messages must be JSON objects with a type: ack, status, location, ping"})
                continue
            await _unit_message(service, who, unit_id, conn, msg)
    finally:
        hub.remove_unit(unit_id, conn)
        await conn.close()
    return conn.ws


async def _unit_message(service: DispatchService, who: Principal, unit_id: str, conn: Connection,
                        msg: dict[str, Any]) -> None:
    kind = msg.get("type")
    try:
        if kind == "ack":
            order_id = msg.get("order_id")
            if not isinstance(order_id, str):
                raise derr.InvalidInput("ack needs order_id: the id of the order (a string)")
            order = await service.acknowledge(order_id, unit_id=unit_id, actor=who.subject, via="ws")
            conn.send({"type": "acked", "order_id": order_id, "duplicate": bool(order.get("duplicate")),
                       "order": order})
        elif kind == "status":
            unit = await service.set_unit_status(unit_id, str(msg.get("status")), actor=who.subject,
                                                 source="officer", note=str(msg.get("note", "")))
            conn.send({"type": "unit", "unit": unit})
        elif kind == "location":
            unit = await service.update_unit_location(unit_id, lat=msg.get("lat"), lon=msg.get("lon"),
                                                      actor=who.subject)
            conn.send({"type": "unit", "unit": unit})
        elif kind == "ping":
            conn.send({"type": "pong"})
        else:
            raise derr.InvalidInput(f"unknown message type {kind!r}; accepted: ack, status, location, ping")
    except derr.DispatchError as exc:
        code = {derr.NotFound: NOT_FOUND, derr.Forbidden: FORBIDDEN, derr.IllegalTransition: "illegal_transition",
                derr.Conflict: CONFLICT}.get(type(exc), BAD_REQUEST)
        if isinstance(exc, derr.Forbidden):
            await audit_refusal(conn.request, f"{kind}: {exc.message}")
        conn.send({"type": "error", "code": code, "message": exc.message, "request": kind,
                   **({"order_id": msg.get("order_id")} if kind == "ack" else {})})


# ---- lifecycle ---------------------------------------------------------------------------------------
async def dispatch_ctx(app: web.Application) -> AsyncIterator[None]:
    """Build the service and its hub; run the subscriber, the redelivery poll and the timers."""
    settings = app[appkeys.SETTINGS]
    photos = settings.data_dir / PHOTOS_DIR
    # Temporary files of uploads a crashed process left behind: never registered, never to be.
    await asyncio.get_running_loop().run_in_executor(app[appkeys.EXECUTOR], remove_stale_temps, photos)
    service = DispatchService(app[appkeys.DB], app[appkeys.REDIS], settings.dispatch, settings.redis_prefix,
                              executor=app[appkeys.EXECUTOR], intel_settings=settings.intel,
                              photos_dir=photos, **scorers(app))
    readiness = app[appkeys.READINESS]
    readiness.set("dispatch", False, "pub/sub not subscribed yet")
    hub = Hub(service.bus, settings.dispatch, service.instance, service,
              on_ready_change=lambda ready, detail: readiness.set("dispatch", ready, detail))
    app[appkeys.DISPATCH] = service
    app[appkeys.HUB] = hub
    app[appkeys.AUDIT_DENIED] = service.audit_denied
    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(hub.listen(), name="dispatch-pubsub"),
             loop.create_task(hub.poll(), name="dispatch-redelivery"),
             loop.create_task(hub.timers(), name="dispatch-timers"),
             loop.create_task(service.run_emitter(), name="dispatch-console-events")]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(hub.ready.wait(), 5.0)
    try:
        yield
    finally:
        hub.stop()
        for task in tasks:
            task.cancel()
        # Bounded: a stuck Redis connection must not stop the server from shutting down.
        _done, stuck = await asyncio.wait(tasks, timeout=5.0)
        for task in stuck:
            log.warning("dispatch task %s did not stop within 5 s", task.get_name())
        await service.close()


def setup(app: web.Application) -> None:
    """Register routes and cleanup contexts."""
    app.cleanup_ctx.append(dispatch_ctx)
    r = app.router
    r.add_post("/api/incidents", create_incident)
    r.add_get("/api/incidents", list_incidents)
    r.add_get("/api/incidents/{id}", get_incident)
    r.add_post("/api/incidents/{id}/text", add_text)
    r.add_post("/api/incidents/{id}/transcripts", link_transcript)
    r.add_post("/api/incidents/{id}/priority", override_priority)
    r.add_post("/api/incidents/{id}/status", incident_status)
    r.add_post("/api/incidents/{id}/close", close_incident)
    r.add_post("/api/incidents/{id}/level/confirm", confirm_level)
    r.add_post("/api/incidents/{id}/notes", add_field_note)
    r.add_get("/api/incidents/{id}/notes", list_field_notes)
    r.add_put("/api/incidents/{id}/notes/{note}/photo", put_field_photo)
    r.add_get("/api/incidents/{id}/notes/{note}/photo", get_field_photo)
    r.add_get("/api/outcomes", outcome_codes)
    r.add_post("/api/incidents/{id}/duplicates/{other}/unlink", unlink_duplicate)
    r.add_get("/api/incidents/{id}/recommendations", recommendations)
    r.add_post("/api/incidents/{id}/dispatch", dispatch_unit)
    r.add_get("/api/incidents/{id}/eido", eido)
    r.add_get("/api/alerts", list_alerts)
    r.add_get("/api/alerts/{id}/cap", alert_cap)
    r.add_post("/api/units", create_unit)
    r.add_get("/api/units", list_units)
    r.add_get("/api/units/{id}", get_unit)
    r.add_get("/api/units/{id}/history", unit_history)
    r.add_post("/api/units/{id}/status", unit_status)
    r.add_post("/api/units/{id}/location", unit_location)
    r.add_get("/api/units/{id}/orders", unit_orders)
    r.add_get("/api/orders/{id}", get_order)
    r.add_post("/api/orders/{id}/ack", ack_order)
    r.add_get("/api/snapshot", snapshot)
    r.add_get("/api/intervals", intervals)
    r.add_get("/api/audit/verify", audit_verify)
    r.add_get("/ws/console", ws_console)
    r.add_get("/ws/unit", ws_unit)
