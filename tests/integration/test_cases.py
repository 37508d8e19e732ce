"""Case files end to end on both stacks: open from an incident with its evidence, corrections as
versions, hand-over that both sides confirm (refuse, cancel, stale), return for correction, the
process-monitoring board with configurable deadlines, per-officer counts, and who may do what.

Real app (``create_app``), real SQLite / PostgreSQL, real Redis.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from cases.tables import case_files, case_versions, handovers
from tests.integration.test_evidence import VIDEO, call, media_body, who
from web import appkeys
from web.auth import Role

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

# This run's own names: the PostgreSQL database is shared by the whole test session.
RUN = uuid.uuid4().hex[:6]
NUMBER = f"深福公(刑)立字〔2026〕{RUN}号"
W, Z = f"wang.li-{RUN}", f"zhao.min-{RUN}"
DEADLINES = "holders:\n  officer: 5d\n  case_centre: 2d\n  legal_review: 3d\ncorrection: 3d\npending_handover: 1d\n"


async def test_broken_deadline_table_stops_start_up(make_client: Any, tmp_path: Path) -> None:
    bad = tmp_path / "deadlines.yaml"
    bad.write_text("holders:\n  officer: soon\n  case_centre: 2d\n  legal_review: 3d\ncorrection: 3d\n"
                   "pending_handover: 1d\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"holders\.officer"):
        await make_client(env={"JINGYUN_CASE_DEADLINES_FILE": str(bad)})


async def test_case_file_workflow(make_client: Any, dispatch_api: Any, stack: dict[str, str], tmp_path: Path) -> None:
    table = tmp_path / "deadlines.yaml"
    table.write_text(DEADLINES, encoding="utf-8")
    client = await make_client(env={**stack, "JINGYUN_CASE_DEADLINES_FILE": str(table)})
    since = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")  # counts over this test's files
    app = client.server.app
    incident = (await dispatch_api(client).incident())["id"]
    wang, zhao = who(app, Role.OFFICER, W), who(app, Role.OFFICER, Z)
    centre, legal = who(app, Role.CASE_CENTRE, "cc-liu"), who(app, Role.LEGAL_REVIEW, "lr-sun")
    admin, sup = who(app, Role.ADMIN, "admin-1"), who(app, Role.DISPATCHER, "duty-sup")

    clip = await call(client, "POST", "/api/evidence", wang, 201, json=media_body(incident))
    await call(client, "PUT", f"/api/evidence/{clip['id']}/file", {**wang, "Content-Type": "video/mp4"}, 201,
               data=VIDEO)
    photo = await call(client, "POST", "/api/evidence", wang, 201,
                       json=media_body(incident, kind="photo", title="Scene photo"))
    body = {"number": NUMBER, "incident_id": incident, "title": "Phone theft at Futian metro",
            "summary": "Suspect took a phone at exit A.", "responsible_officer": W,
            "items": [{"kind": "evidence", "ref_id": clip["id"], "note": "CAM-03 08:10-08:20"},
                      {"kind": "evidence", "ref_id": photo["id"]}, {"kind": "document", "ref_id": "DOC-2026-17"}]}

    # Bad input: 400 naming the field (404 for a reference that does not exist); nothing opened.
    for bad, status, field in [({**body, "number": ""}, 400, "number"), ({**body, "colour": 1}, 400, "colour"),
                               ({**body, "items": [{"kind": "video", "ref_id": "x"}]}, 400, "items[0].kind"),
                               ({**body, "items": [{"kind": "evidence", "ref_id": "nope"}]}, 404, "items[0].ref_id"),
                               ({**body, "items": [{"kind": "interview_record", "ref_id": "nope"}]}, 404,
                                "items[0].ref_id"),
                               ({**body, "incident_id": "nope"}, 404, "incident_id")]:
        err = (await call(client, "POST", "/api/cases", wang, status, json=bad))["error"]
        assert err["details"]["field"] == field, err
    # An officer opens files for themselves only; a kiosk or interviewer not at all.
    err = (await call(client, "POST", "/api/cases", zhao, 403, json=body))["error"]
    assert err["code"] == "forbidden" and W in err["message"]
    for role in (Role.KIOSK, Role.INTERVIEWER):
        await call(client, "POST", "/api/cases", who(app, role), 403, json=body)
        await call(client, "GET", "/api/cases/board", who(app, role), 403)
    assert (await call(client, "GET", f"/api/cases?officer={W}", admin, 200))["cases"] == []

    case = await call(client, "POST", "/api/cases", wang, 201, json=body)
    cid = case["id"]
    assert case["number"] == NUMBER and case["holder"] == f"officer:{W}" and case["version"] == 1
    assert case["position"]["overdue"] is False and {e["id"] for e in case["evidence"]} == {clip["id"], photo["id"]}
    await call(client, "POST", "/api/cases", wang, 409, json=body)  # the number is taken
    trail = (await call(client, "GET", f"/api/evidence/{clip['id']}/custody", wang, 200))["events"]
    assert trail[-1]["event"] == "attached" and trail[-1]["details"]["case_id"] == cid

    # Corrections are versions, chained by hash; a correction by someone else, or of nothing, is refused.
    fix = {"summary": "Suspect took a phone at exit A, ran north.", "reason": "witness statement",
           "items": [body["items"][0], body["items"][2]]}
    await call(client, "POST", f"/api/cases/{cid}/corrections", zhao, 403, json=fix)
    v2 = await call(client, "POST", f"/api/cases/{cid}/corrections", wang, 201, json=fix)
    assert v2["version"] == 2 and v2["current"]["summary"].endswith("ran north.")
    assert (await call(client, "POST", f"/api/cases/{cid}/corrections", wang, 400, json=fix))["error"]["details"][
        "field"] == "body"
    err = (await call(client, "POST", f"/api/cases/{cid}/corrections", wang, 400, json={"summary": "x"}))["error"]
    assert err["details"]["field"] == "reason"
    history = await call(client, "GET", f"/api/cases/{cid}/versions", wang, 200)
    v1_, v2_ = history["versions"]
    assert history["verify"]["ok"] and v2_["prev_hash"] == v1_["hash"] and len(v1_["items"]) == 3
    assert [i["ref_id"] for i in v2_["changes"]["removed"]] == [photo["id"]]

    # Hand-over: only the holder proposes, one at a time; only the receiver confirms.
    await call(client, "POST", f"/api/cases/{cid}/handovers", zhao, 403, json={"to": "case_centre"})
    err = (await call(client, "POST", f"/api/cases/{cid}/handovers", wang, 400, json={"to": "legal_review"}))["error"]
    assert err["details"]["field"] == "to" and err["details"]["accepted"] == ["officer", "case_centre"]
    h1 = await call(client, "POST", f"/api/cases/{cid}/handovers", wang, 201,
                    json={"to": "case_centre", "note": "complete, for check-in"})
    assert h1["state"] == "proposed" and h1["from"] == f"officer:{W}"
    await call(client, "POST", f"/api/cases/{cid}/handovers", wang, 409, json={"to": "case_centre"})
    still = await call(client, "GET", f"/api/cases/{cid}", centre, 200)
    assert still["holder"] == f"officer:{W}"  # nothing moves until the receiver confirms
    await call(client, "POST", f"/api/cases/{cid}/handovers/{h1['id']}/confirm", legal, 403)
    await call(client, "POST", f"/api/cases/{cid}/handovers/{h1['id']}/confirm", wang, 403)
    done = await call(client, "POST", f"/api/cases/{cid}/handovers/{h1['id']}/confirm", centre, 200,
                      json={"note": "received, 2 items"})
    assert done["state"] == "confirmed" and done["decided_by"] == "cc-liu"
    await call(client, "POST", f"/api/cases/{cid}/handovers/{h1['id']}/confirm", centre, 409)  # decided once
    moved = await call(client, "GET", f"/api/cases/{cid}", wang, 200)
    assert moved["holder"] == "case_centre:case_centre" and moved["responsible_officer"] == W
    trail = (await call(client, "GET", f"/api/evidence/{clip['id']}/custody", wang, 200))["events"]
    assert trail[-1]["event"] == "handed_over" and trail[-1]["details"]["to"] == "case_centre:case_centre"

    # Return for correction (退回补正): the officer confirms, the file waits for the correction.
    err = (await call(client, "POST", f"/api/cases/{cid}/handovers", centre, 400,
                      json={"to": f"officer:{W}", "purpose": "return_for_correction"}))["error"]
    assert err["details"]["field"] == "corrections"
    back = await call(client, "POST", f"/api/cases/{cid}/handovers", centre, 201,
                      json={"to": f"officer:{W}", "purpose": "return_for_correction",
                            "corrections": ["the owner's statement is missing"]})
    await call(client, "POST", f"/api/cases/{cid}/handovers/{back['id']}/confirm", wang, 200)
    returned = await call(client, "GET", f"/api/cases/{cid}", wang, 200)
    assert returned["awaiting_correction"] is True and returned["returns"] == 1
    await call(client, "POST", f"/api/cases/{cid}/status", wang, 409, json={"status": "closed"})
    counts = await call(client, "GET", f"/api/cases/counts?from={since}", sup, 200)
    assert counts["officers"] == [{"officer": W, "open": 1, "overdue": 0, "returned": 1,
                                   "awaiting_correction": 1}]
    await call(client, "GET", "/api/cases/counts", wang, 403)
    await call(client, "GET", "/api/cases/counts", centre, 403)
    assert (await call(client, "GET", "/api/cases/counts?from=yesterday", admin, 400))["error"]["details"][
        "field"] == "from"

    # Refused: a reason is required, and the file stays where it is.
    await call(client, "POST", f"/api/cases/{cid}/corrections", wang, 201,
               json={"items": [*fix["items"], {"kind": "document", "ref_id": "DOC-2026-18", "note": "owner"}],
                     "reason": "owner's statement added"})
    h3 = await call(client, "POST", f"/api/cases/{cid}/handovers", wang, 201, json={"to": "case_centre"})
    err = (await call(client, "POST", f"/api/cases/{cid}/handovers/{h3['id']}/refuse", centre, 400, json={}))["error"]
    assert err["details"]["field"] == "reason"
    refused = await call(client, "POST", f"/api/cases/{cid}/handovers/{h3['id']}/refuse", centre, 200,
                         json={"reason": "statement not signed"})
    assert refused["state"] == "refused" and refused["decision_note"] == "statement not signed"
    assert (await call(client, "GET", f"/api/cases/{cid}", wang, 200))["holder"] == f"officer:{W}"
    # Cancelled by the sender: a confirmation afterwards is refused (409, with what the state allows).
    h4 = await call(client, "POST", f"/api/cases/{cid}/handovers", wang, 201, json={"to": "case_centre"})
    await call(client, "POST", f"/api/cases/{cid}/handovers/{h4['id']}/cancel", wang, 200,
               json={"reason": "signature first"})
    err = (await call(client, "POST", f"/api/cases/{cid}/handovers/{h4['id']}/confirm", centre, 409))["error"]
    assert err["details"]["current"] == "cancelled"
    h5 = await call(client, "POST", f"/api/cases/{cid}/handovers", wang, 201, json={"to": "case_centre"})
    await call(client, "POST", f"/api/cases/{cid}/handovers/{h5['id']}/confirm", centre, 200)
    assert (await call(client, "GET", f"/api/cases/{cid}", wang, 200))["awaiting_correction"] is False

    # A stale confirmation: the file was closed after the proposal was made.
    h6 = await call(client, "POST", f"/api/cases/{cid}/handovers", centre, 201, json={"to": "legal_review"})
    await call(client, "POST", f"/api/cases/{cid}/status", centre, 200, json={"status": "closed"})
    err = (await call(client, "POST", f"/api/cases/{cid}/handovers/{h6['id']}/confirm", legal, 409))["error"]
    assert "stale" in err["message"]
    await call(client, "POST", f"/api/cases/{cid}/handovers/{h6['id']}/cancel", centre, 200)
    err = (await call(client, "POST", f"/api/cases/{cid}/status", centre, 400, json={"status": "open"}))["error"]
    assert err["details"]["field"] == "reason"
    await call(client, "POST", f"/api/cases/{cid}/status", centre, 400, json={"status": "archived"})
    reopened = await call(client, "POST", f"/api/cases/{cid}/status", centre, 200,
                          json={"status": "open", "reason": "court asked for the owner's receipt"})
    assert [h["to"] for h in reopened["status_history"]] == ["closed", "open"]

    # Another officer's file stays out of sight; the board shows each file where it is, overdue first.
    await call(client, "GET", f"/api/cases/{cid}", zhao, 403)
    assert (await call(client, "GET", "/api/cases", zhao, 200))["cases"] == []
    other = await call(client, "POST", "/api/cases", zhao, 201,
                       json={"number": f"FT-{RUN}-0200", "title": "Bicycle theft", "responsible_officer": Z})
    eight_days = dt.datetime.now(dt.UTC) - dt.timedelta(days=8)
    async with app[appkeys.DB].begin() as conn:  # the file has sat with its officer for 8 days
        await conn.execute(case_files.update().where(case_files.c.id == other["id"]).values(held_since=eight_days))
    board = await call(client, "GET", "/api/cases/board", centre, 200)
    assert board["deadlines"]["holders_s"]["officer"] == 5 * 86400  # the district's table, not the default
    files = [f for f in board["files"] if f["case_id"] in (other["id"], cid)]
    assert [f["case_id"] for f in files] == [other["id"], cid]
    assert board["overdue"] == sum(f["overdue"] for f in board["files"]) >= 1
    first, second = files
    assert first["overdue"] and first["overdue_by_s"] > 2.9 * 86400 and first["holder"] == f"officer:{Z}"
    assert not second["overdue"] and second["holder"] == "case_centre:case_centre" and second["number"] == NUMBER
    mine = await call(client, "GET", "/api/cases/board", zhao, 200)
    assert [f["case_id"] for f in mine["files"]] == [other["id"]] and mine["files"][0]["pending"] is None
    # A hand-over nobody has answered for two days is flagged on the board (the table allows one).
    asked = await call(client, "POST", f"/api/cases/{other['id']}/handovers", zhao, 201, json={"to": "case_centre"})
    async with app[appkeys.DB].begin() as conn:
        await conn.execute(handovers.update().where(handovers.c.id == asked["id"])
                           .values(proposed_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=2)))
    pending = next(f["pending"] for f in (await call(client, "GET", "/api/cases/board", centre, 200))["files"]
                   if f["case_id"] == other["id"])
    assert pending["id"] == asked["id"] and pending["overdue"] is True and pending["to"] == "case_centre:case_centre"
    counts = {o["officer"]: o for o in (await call(client, "GET", f"/api/cases/counts?from={since}", admin,
                                                    200))["officers"]}
    assert counts[Z]["overdue"] == 1 and counts[W] == {
        "officer": W, "open": 1, "overdue": 0, "returned": 1, "awaiting_correction": 0}
    assert (await call(client, "GET", f"/api/cases?holder=officer:{Z}", centre, 200))["cases"][0]["id"] == \
        other["id"]

    # Reassignment (officer to officer): the new officer becomes responsible and reaches the file's evidence.
    await call(client, "GET", f"/api/evidence/{clip['id']}", zhao, 403)
    third = await call(client, "POST", "/api/cases", wang, 201,
                       json={"number": f"FT-{RUN}-0300", "title": "Phone theft, second victim",
                             "responsible_officer": W, "items": [{"kind": "evidence", "ref_id": clip["id"]}]})
    move = await call(client, "POST", f"/api/cases/{third['id']}/handovers", wang, 201, json={"to": f"officer:{Z}"})
    await call(client, "POST", f"/api/cases/{third['id']}/handovers/{move['id']}/confirm", zhao, 200)
    taken = await call(client, "GET", f"/api/cases/{third['id']}", zhao, 200)
    assert taken["responsible_officer"] == Z and taken["holder"] == f"officer:{Z}"
    await call(client, "GET", f"/api/evidence/{clip['id']}", zhao, 200)
    assert clip["id"] in {e["id"] for e in (await call(client, "GET", "/api/evidence", zhao, 200))["evidence"]}

    # Nothing was deleted: every version and every hand-over decision is still there.
    async with app[appkeys.DB].connect() as conn:
        versions = await conn.scalar(sa.select(sa.func.count()).select_from(case_versions)
                                     .where(case_versions.c.case_id == cid))
        states = [r.state for r in await conn.execute(sa.select(handovers.c.state).where(handovers.c.case_id == cid)
                                                      .order_by(handovers.c.proposed_at))]
    assert versions == 3
    assert states == ["confirmed", "confirmed", "refused", "cancelled", "confirmed", "cancelled"]
    chain = await app[appkeys.DISPATCH].verify_audit()
    assert chain.ok, chain.message


async def test_every_case_and_evidence_route_is_documented(client: Any) -> None:
    from web.auth import route_roles

    app = client.server.app
    doc = await (await client.get("/api/openapi.json", headers=who(app, Role.ADMIN))).json()
    mine = [r for r in app.router.routes() if r.method != "HEAD" and r.resource is not None
            and r.resource.canonical.startswith(("/api/cases", "/api/evidence"))]
    assert len(mine) == 21
    for route in mine:
        path = route.resource.canonical
        roles = route_roles(route)
        assert roles and not roles & {Role.KIOSK, Role.INTERVIEWER, Role.SERVICE}, path
        assert route.method.lower() in doc["paths"].get(path, {}), f"{route.method} {path} not in the OpenAPI document"
    assert {"Evidence", "CaseFile", "Handover", "CustodyEvent"} <= set(doc["components"]["schemas"])
