"""Building hazard inspections over HTTP (issue 13, part 3), on SQLite and PostgreSQL with real Redis.

The real app (``create_app``) on both stacks: buildings registered and corrected (versions kept), what
each role sees (a manager only their buildings, a grid worker only their grids'), photos streamed in
and hashed (a cut-off upload leaves nothing), the whole chain to closed, return and resubmit,
escalation to a dispatch incident and its resolution, refusals (403 for the wrong role, 404 for a
building that is not yours), bad bodies answered 400 with ``details.field``, every decision in the
hash-chained audit log; and an overdue step raised as a console alert exactly once, also across a
restart.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dispatch.tables import alerts as dispatch_alerts
from dispatch.tables import audit_log
from inspections.rules import load_checklist
from inspections.tables import alerts as inspection_alerts
from inspections.tables import photos
from tests.fixtures_dispatch import DispatchApi
from web import appkeys
from web.auth import Role, issue_token

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

ITEMS = [c.id for c in load_checklist() if not c.retired]


def png(seed: int) -> bytes:
    """A real 1x1 PNG, different for each seed."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"\x00" + bytes([seed % 256, (seed * 7) % 256, (seed * 13) % 256])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


class Caller:
    """One signed-in caller of the inspection API."""

    def __init__(self, client: Any, role: Role, subject: str, grids: tuple[str, ...] = ()) -> None:
        self.client = client
        token = issue_token(client.server.app[appkeys.SECRET], role, subject=subject, grids=grids, ttl=600)
        self.headers = {"Authorization": f"Bearer {token}"}
        self.subject = subject

    async def call(self, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        resp = await self.client.request(method, path, headers=headers, **kwargs)
        body = await resp.read()
        assert resp.status == expect, f"{method} {path} as {self.subject}: {resp.status} {body[:400]!r}"
        return json.loads(body) if resp.content_type == "application/json" else body

    async def error(self, method: str, path: str, expect: int, **kwargs: Any) -> dict[str, Any]:
        err: dict[str, Any] = (await self.call(method, path, expect, **kwargs))["error"]
        assert err["message"]
        return err

    async def photo(self, building_id: str, data: bytes, expect: int = 201, name: str = "p.png") -> dict[str, Any]:
        result: dict[str, Any] = await self.call("POST", f"/api/buildings/{building_id}/photos?name={name}", expect,
                                                 data=data, headers={"Content-Type": "image/png"})
        return result


def building(code: str, grid: str, manager: str, **extra: Any) -> dict[str, Any]:
    return {"name": f"{code} 楼", "building_code": code, "address": f"深圳市福田区{code}路 1 号",
            "lat": 22.54, "lon": 114.06, "building_type": "urban_village", "floors_above": 6, "grid_id": grid,
            "manager": {"id": manager, "name": "王经理", "phone": "138-0013-8000"}, **extra}


def self_check(photo: dict[str, Any], hazard: str | None = None) -> dict[str, Any]:
    answers = [{"item": i, "result": "ok"} for i in ITEMS]
    if hazard:
        answers[ITEMS.index(hazard)] = {"item": hazard, "result": "hazard", "note": "楼道内有电动车充电",
                                        "photos": [photo["sha256"]]}
    return {"answers": answers, "photos": [{"sha256": photo["sha256"], "size": photo["size"], "name": "p.png"}]}


async def _count(app: Any, q: Any) -> int:
    async with app[appkeys.DB].connect() as conn:
        return int((await conn.execute(q)).scalar() or 0)


def _kept_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def _cut_off_upload(client: Any, path: str, headers: dict[str, str], data: bytes, total: int,
                          root: Path) -> list[str]:
    """Send ``data`` of a body declared ``total`` bytes long, then drop the connection; returns the
    files there were while the server was still receiving."""
    _reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    head = "".join(f"{k}: {v}\r\n" for k, v in {**headers, "Content-Type": "image/png",
                                                 "Content-Length": str(total)}.items())
    writer.write(f"POST {path} HTTP/1.1\r\nHost: test\r\n{head}\r\n".encode() + data)
    await writer.drain()
    # Until the server streams the body to its temporary file (a fixed 0.3 s was too short on a loaded
    # CI machine); what is there then is returned, so a missing temporary file still fails the caller.
    for _ in range(100):
        during = _kept_files(root)
        if any("/.upload-" in f for f in during):
            break
        await asyncio.sleep(0.05)
    writer.transport.abort()
    for _ in range(100):  # the server notices the cut and removes its temporary file
        await asyncio.sleep(0.05)
        if not any("/.upload-" in f for f in _kept_files(root)):
            break
    return during


async def test_buildings_roles_photos_and_the_whole_chain(make_client: Any, stack: dict[str, str]) -> None:
    client = await make_client(env={**stack, "JINGYUN_INSPECTION_PHOTO_MAX_BYTES": "4096"})
    app = client.server.app
    office = Caller(client, Role.FIRE_OFFICE, "office-1")
    police = Caller(client, Role.FIRE_POLICE, "police-1")
    admin = Caller(client, Role.ADMIN, "admin-1")
    mgr_a = Caller(client, Role.BUILDING_MANAGER, "mgr-a")
    mgr_b = Caller(client, Role.BUILDING_MANAGER, "mgr-b")
    grid1 = Caller(client, Role.GRID_WORKER, "grid-1", ("G1",))
    grid2 = Caller(client, Role.GRID_WORKER, "grid-2", ("G2", "G3"))
    dispatcher = Caller(client, Role.DISPATCHER, "disp-1")
    code = f"B{id(client) % 100000:05d}"  # unique in the session's shared PostgreSQL database

    # Every route is in the OpenAPI document.
    doc = await mgr_a.call("GET", "/api/openapi.json", 200)
    for route in app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if route.method != "HEAD" and path.startswith(("/api/buildings", "/api/inspections")):
            assert route.method.lower() in doc["paths"].get(path, {}), f"{route.method} {path} is not documented"

    # ---- buildings: registered by the fire office or an admin, refused with the field at fault ----------
    a = await office.call("POST", "/api/buildings", 201, json=building(code + "A", "G1", "mgr-a"))
    b = await admin.call("POST", "/api/buildings", 201, json=building(code + "B", "G2", "mgr-b"))
    assert a["version"] == 1 and a["manager"]["id"] == "mgr-a" and a["created_by"] == "office-1"
    assert (await office.error("POST", "/api/buildings", 400, json={}))["details"]["field"] == "manager"
    err = await office.error("POST", "/api/buildings", 400, json=building(code + "C", "G1", "m", floors_above=0))
    assert err["details"]["field"] == "floors_above" and "1 to 200" in err["message"]
    err = await office.error("POST", "/api/buildings", 400, json=building(code + "C", "G1", "m", colour="red"))
    assert err["details"]["field"] == "colour" and "accepted" in err["message"]
    err = await office.error("POST", "/api/buildings", 400, data=b"{not json", headers={"Content-Type": "text/plain"})
    assert err["details"]["field"] == "body"
    err = await office.error("POST", "/api/buildings", 409, json=building(code + "A", "G1", "m"))
    assert err["details"]["building_id"] == a["id"]
    await mgr_a.error("POST", "/api/buildings", 403)
    await dispatcher.error("GET", "/api/buildings", 403)

    # ---- who sees what: lists and single files ------------------------------------------------------------
    async def listed(caller: Caller) -> set[str]:
        items = (await caller.call("GET", f"/api/buildings?q={code}", 200))["buildings"]
        return {i["id"] for i in items}

    assert await listed(mgr_a) == {a["id"]} and await listed(mgr_b) == {b["id"]}
    assert await listed(grid1) == {a["id"]} and await listed(grid2) == {b["id"]}
    for everyone in (office, police, admin):
        assert await listed(everyone) == {a["id"], b["id"]}
    unknown = await mgr_a.error("GET", "/api/buildings/nosuchbuilding", 404)
    for caller, other in ((mgr_a, b), (mgr_b, a), (grid1, b), (grid2, a)):
        hidden = await caller.error("GET", f"/api/buildings/{other['id']}", 404)
        assert hidden["message"] == unknown["message"].replace("nosuchbuilding", other["id"])  # no leak
    assert (await grid1.call("GET", f"/api/buildings/{a['id']}", 200))["building"]["id"] == a["id"]

    # ---- a correction is version 2; the first version stays ---------------------------------------------
    fixed = await office.call("PUT", f"/api/buildings/{a['id']}", 200,
                              json=building(code + "A", "G1", "mgr-a", floors_above=7))
    assert fixed["version"] == 2 and fixed["floors_above"] == 7
    assert (await office.error("PUT", f"/api/buildings/{a['id']}", 400,
                               json=building(code + "A", "G1", "mgr-a", floors_above=7)))["details"]["field"] == "body"
    await mgr_a.error("PUT", f"/api/buildings/{a['id']}", 403, json=building(code + "A", "G1", "mgr-a"))
    versions = (await mgr_a.call("GET", f"/api/buildings/{a['id']}", 200))["versions"]
    assert [(v["version"], v["changed"]) for v in versions] == [(1, []), (2, ["floors_above"])]
    assert versions[0]["record"]["floors_above"] == 6 and versions[1]["by"] == "office-1"

    # ---- photos: streamed in and hashed; the same bytes once; refusals; a cut-off upload leaves nothing --
    data = png(1)
    photo = await mgr_a.photo(a["id"], data)
    assert photo["sha256"] == hashlib.sha256(data).hexdigest() and photo["size"] == len(data)
    assert photo["content_type"] == "image/png" and photo["name"] == "p.png"
    assert (await mgr_a.photo(a["id"], data, expect=200))["id"] == photo["id"]
    await mgr_b.error("POST", f"/api/buildings/{a['id']}/photos", 404, data=data,
                      headers={"Content-Type": "image/png"})
    await grid1.error("POST", f"/api/buildings/{a['id']}/photos", 403, data=data,
                      headers={"Content-Type": "image/png"})
    err = await mgr_a.error("POST", f"/api/buildings/{a['id']}/photos", 415, data=b"hello, not an image",
                            headers={"Content-Type": "image/png"})
    assert err["code"] == "unsupported_media_type" and "JPEG, PNG or WebP" in err["message"]
    err = await mgr_a.error("POST", f"/api/buildings/{a['id']}/photos", 415, data=data,
                            headers={"Content-Type": "text/plain"})
    assert err["details"]["field"] == "Content-Type"
    err = await mgr_a.error("POST", f"/api/buildings/{a['id']}/photos", 413, data=data + b"\0" * 5000,
                            headers={"Content-Type": "image/png"})
    assert err["details"]["limit"] == 4096
    root = Path(app[appkeys.SETTINGS].data_dir) / "inspections"
    kept, rows = _kept_files(root), await _count(app, sa.select(sa.func.count()).select_from(photos))
    during = await _cut_off_upload(client, f"/api/buildings/{a['id']}/photos", mgr_a.headers, png(2)[:40], 3000,
                                   root)
    assert any("/.upload-" in f for f in during), during  # it was being received
    assert _kept_files(root) == kept, "a cut-off upload left a file behind"
    assert await _count(app, sa.select(sa.func.count()).select_from(photos)) == rows
    got = await grid1.call("GET", photo["url"], 200)
    assert got == data
    await mgr_b.error("GET", photo["url"], 404)

    # ---- the chain: submit, return, resubmit, accept, close ------------------------------------------------
    path = f"/api/buildings/{a['id']}/inspections"
    err = await mgr_a.error("POST", path, 400, json={"answers": [], "photos": [
        {"sha256": photo["sha256"], "size": photo["size"]}]})
    assert err["details"]["field"] == "answers" and set(err["details"]["missing"]) == set(ITEMS)
    stranger = {"sha256": "ab" * 32, "size": 10}
    err = await mgr_a.error("POST", path, 400, json={**self_check(photo), "photos": [stranger]})
    assert err["details"]["field"] == "photos[0].sha256" and "upload it first" in err["message"]
    await grid1.error("POST", path, 403, json=self_check(photo))
    await mgr_b.error("POST", path, 404, json=self_check(photo))
    insp = await mgr_a.call("POST", path, 201, json=self_check(photo, hazard="ebike_charging"))
    assert insp["state"] == "submitted" and insp["waiting_for"] == "grid_worker" and insp["due"]["overdue"] is False
    await mgr_a.error("POST", path, 409, json=self_check(photo))
    step = f"/api/inspections/{insp['id']}"
    denied = sa.select(sa.func.count()).select_from(audit_log).where(audit_log.c.action == "access_denied")
    before = await _count(app, denied)
    assert (await mgr_a.error("POST", f"{step}/accept", 403))["code"] == "forbidden"
    assert await _count(app, denied) == before + 1  # a refusal the chain decided is audited too
    await grid2.error("POST", f"{step}/accept", 404)
    await mgr_b.error("GET", step, 404)
    assert (await grid1.error("POST", f"{step}/return", 400, json={}))["details"]["field"] == "reasons"
    assert (await grid1.error("POST", f"{step}/teleport", 400))["details"]["field"] == "action"
    assert (await grid1.error("POST", f"{step}/close", 409))["details"]["allowed"] == ["accept", "return"]
    worklist = (await grid1.call("GET", "/api/inspections?state=submitted", 200))["inspections"]
    assert [w["id"] for w in worklist if w["building_id"] == a["id"]] == [insp["id"]]
    assert worklist[0]["my_actions"] == ["accept", "return"]
    assert (await grid2.call("GET", f"/api/inspections?building_id={a['id']}", 200))["inspections"] == []
    returned = await grid1.call("POST", f"{step}/return", 200, json={"reasons": ["照片看不清充电位置"]})
    assert returned["state"] == "returned" and returned["my_actions"] == []
    assert (await mgr_a.call("GET", step, 200))["my_actions"] == ["resubmit"]
    photo2 = await mgr_a.photo(a["id"], png(3))
    again = await mgr_a.call("POST", f"{step}/resubmit", 200, json=self_check(photo2, hazard="ebike_charging"))
    assert again["state"] == "submitted" and again["round"] == 2
    await grid1.call("POST", f"{step}/accept", 200, json={"note": "已核实"})
    assert (await office.error("POST", f"{step}/close", 400, json={}))["details"]["field"] == "note"
    closed = await office.call("POST", f"{step}/close", 200, json={"note": "已当场整改，充电桩移至室外"})
    assert closed["state"] == "closed" and closed["due"] is None
    assert [d["action"] for d in closed["decisions"]] == ["submit", "return", "resubmit", "accept", "close"]
    assert [c["round"] for c in closed["self_checks"]] == [1, 2]

    # Every decision is an entry of the audit log (its seq recorded with it), and the chain is intact.
    async with app[appkeys.DB].connect() as conn:
        entries = (await conn.execute(sa.select(audit_log.c.seq, audit_log.c.action, audit_log.c.actor).where(
            audit_log.c.target == f"inspection:{insp['id']}").order_by(audit_log.c.seq))).all()
    assert [(e.seq, e.action, e.actor) for e in entries] == [
        (d["audit_seq"], f"inspection.{d['action']}", d["actor"]) for d in closed["decisions"]]
    assert (await admin.call("GET", "/api/audit/verify", 200))["ok"] is True

    # ---- escalation: an incident opened through dispatch, then resolved --------------------------------
    insp2 = await mgr_a.call("POST", path, 201, json=self_check(photo, hazard="ebike_charging"))
    step2 = f"/api/inspections/{insp2['id']}"
    await grid1.call("POST", f"{step2}/accept", 200)
    await police.error("POST", f"{step2}/incident", 409)  # not escalated yet
    escalated = await office.call("POST", f"{step2}/escalate", 200,
                                  json={"hazard": "电动自行车在楼道内集中充电", "severity": "major"})
    assert escalated["state"] == "escalated" and escalated["escalation"]["severity"] == "major"
    assert (await police.call("GET", step2, 200))["my_actions"] == ["link_incident", "create_incident", "resolve"]
    await grid1.error("POST", f"{step2}/incident", 403)
    err = await police.error("POST", f"{step2}/link_incident", 404, json={"incident_id": "nosuchincident"})
    assert err["details"]["field"] == "incident_id"
    opened = await police.call("POST", f"{step2}/incident", 201, json={"note": "请辖区派出所配合"})
    incident = opened["incident"]
    assert incident["source"] == "inspection" and incident["location"]["text"] == a["address"]
    assert (incident["location"]["lat"], incident["location"]["lon"]) == (a["lat"], a["lon"])
    assert opened["inspection"]["incident_id"] == incident["id"] and opened["inspection"]["state"] == "escalated"
    seen = await dispatcher.call("GET", f"/api/incidents/{incident['id']}", 200)
    assert seen["report"]["inspection"]["id"] == insp2["id"]
    await police.error("POST", f"{step2}/link_incident", 409, json={"incident_id": incident["id"]})
    err = await police.error("POST", f"{step2}/resolve", 400, json={"result": "已整改", "measures": ["jail"]})
    assert err["details"]["field"] == "measures[0]"
    done = await police.call("POST", f"{step2}/resolve", 200,
                             json={"result": "责令限期整改，已复查合格", "measures": ["rectification_order"]})
    assert done["state"] == "closed" and done["result"]["measures"] == ["rectification_order"]
    file = await mgr_a.call("GET", f"/api/buildings/{a['id']}", 200)
    assert [i["id"] for i in file["inspections"]] == [insp2["id"], insp["id"]]
    assert file["can_submit"] is True and file["building"]["last_self_check_at"]
    assert {p["sha256"] for p in file["photos"]} == {photo["sha256"], photo2["sha256"]}
    assert (await mgr_b.call("GET", "/api/inspections", 200))["inspections"] == []
    assert (await admin.call("GET", "/api/audit/verify", 200))["ok"] is True


async def _alerts_for(sock: Any, wanted: list[str], quiet_s: float,
                      max_wait_s: float = 8.0) -> dict[str, list[dict[str, Any]]]:
    """Console alert events about each of ``wanted``: waits until each has one, then ``quiet_s`` more
    (several sweeps) to catch any repeat."""
    found: dict[str, list[dict[str, Any]]] = {i: [] for i in wanted}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max_wait_s
    settled = False
    while True:
        if not settled and all(found.values()):
            settled, deadline = True, loop.time() + quiet_s
        left = deadline - loop.time()
        if left <= 0:
            return found
        try:
            ev = await sock.next("alert", wait_s=left)
        except AssertionError:
            return found
        if ev["alert"].get("inspection_id") in found:
            found[ev["alert"]["inspection_id"]].append(ev)


async def test_overdue_step_raises_one_console_alert_also_across_a_restart(make_client: Any,
                                                                          stack: dict[str, str]) -> None:
    env = {**stack, "JINGYUN_INSPECTION_DEADLINE_SUBMITTED_HOURS": "0.0004",  # 1.44 s
           "JINGYUN_INSPECTION_OVERDUE_CHECK_SECONDS": "0.2"}
    client = await make_client(env=env)
    app = client.server.app
    office = Caller(client, Role.FIRE_OFFICE, "office-2")
    mgr = Caller(client, Role.BUILDING_MANAGER, f"mgr-{id(client)}")
    code = f"O{id(client) % 100000:05d}"
    ids = []
    for n in range(2):
        b = await office.call("POST", "/api/buildings", 201, json=building(f"{code}{n}", "G9", mgr.subject))
        photo = await mgr.photo(b["id"], png(10 + n))
        ids.append((await mgr.call("POST", f"/api/buildings/{b['id']}/inspections", 201, json=self_check(photo)))["id"])
    console = await DispatchApi(client).console_ws()
    found = await _alerts_for(console, ids, quiet_s=1.0)  # five more sweeps
    await console.close()
    assert [len(found[i]) for i in ids] == [1, 1], found  # raised once each
    ev = found[ids[0]][0]
    alert = ev["alert"]
    assert alert["kind"] == "inspection_overdue" and alert["waiting_for"] == "grid_worker"
    assert "grid worker" in alert["message"] and "网格员" in alert["message_zh"] and code in alert["address"]
    assert ev["origin"] and ev["at"]  # the console event envelope (common/events.py)

    async def recorded() -> dict[str, Any]:
        async with app[appkeys.DB].connect() as conn:
            rows = (await conn.execute(sa.select(inspection_alerts).where(
                inspection_alerts.c.inspection_id.in_(ids)))).mappings().all()
        return {r["inspection_id"]: dict(r) for r in rows}

    rows = await recorded()
    assert rows[ids[0]]["alert_id"] == alert["id"] and rows[ids[0]]["published_at"] is not None
    listed = (await Caller(client, Role.DISPATCHER, "d").call("GET", "/api/alerts", 200))["alerts"]
    # With the console's alerts (snapshot): a reloaded console shows it as it came live, both languages
    # and the building's page included.
    assert [x for x in listed if x["id"] == alert["id"]] == [alert]
    # The state a stop between recording the second alert and publishing it leaves behind.
    async with app[appkeys.DB].begin() as conn:
        await conn.execute(sa.update(inspection_alerts).where(inspection_alerts.c.inspection_id == ids[1])
                           .values(published_at=None, alert_id=None))
    await client.close()

    client = await make_client(env=env)  # the same database and Redis
    console = await DispatchApi(client).console_ws()
    found = await _alerts_for(console, [ids[1]], quiet_s=1.0)
    await console.close()
    assert len(found[ids[1]]) == 1  # not lost
    app = client.server.app
    stored = await _count(app, sa.select(sa.func.count()).select_from(dispatch_alerts).where(
        dispatch_alerts.c.kind == "inspection_overdue", dispatch_alerts.c.message.contains(ids[0])))
    assert stored == 1  # not raised again
    assert all(r["published_at"] is not None for r in (await recorded()).values())
