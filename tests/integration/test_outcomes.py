"""Outcomes and AI accountability through the real routes, on both stacks (SQLite + embedded Valkey,
PostgreSQL + the Redis server): closing with an outcome code (console and officer paths), the ranking
and verdict recorded with each dispatch, the machine level beside the dispatcher's final level, the
accountability report and the brief section, the outcome in the EIDO export, and field notes with photos
(the right unit only, streamed, kept whole or not at all)."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import os
import pathlib
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from jsonschema import Draft4Validator

from cases.outcomes import DEFAULT_TABLE
from dispatch.tables import audit_log
from tests.conftest import auth
from tests.fixtures_dispatch import FAST_TIMERS, DispatchApi
from tests.integration.test_dispatch_standards import check_eido, eido_validator, registries  # noqa: F401
from web import appkeys
from web.auth import Role

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

FIGHT = "Fight outside the Futian metro station, two men punching each other"
# Where this module's units and incidents are: PostgreSQL's database is shared by the session's tests, and
# their units (around Futian, Shanghai) must not take part in this module's rankings, nor ours in theirs.
LAT, LON = -33.80, 151.20


def _now() -> str:
    """Now as an ISO 8601 time with a zone, to the microsecond (``Z``: no ``+`` to escape in a query)."""
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture
def outcomes_file(tmp_path: pathlib.Path) -> pathlib.Path:
    """The bundled table with one code retired, as a district's own copy (JINGYUN_OUTCOMES_FILE)."""
    doc = yaml.safe_load(DEFAULT_TABLE.read_text(encoding="utf-8"))
    for row in doc["outcomes"]:
        if row["code"] == "citation":
            row["retired"] = True
    path = tmp_path / "outcomes.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


async def _retire(api: DispatchApi, unit_ids: list[str]) -> None:
    """Take this module's units out of the session's shared PostgreSQL rankings once a test is done."""
    from dispatch.tables import units

    assert api.app is not None
    async with api.app[appkeys.DB].begin() as conn:
        await conn.execute(units.update().where(units.c.id.in_(unit_ids)).values(status="out_of_service"))


async def _audit(api: DispatchApi, action: str) -> list[Any]:
    assert api.app is not None
    async with api.app[appkeys.DB].connect() as conn:
        return list((await conn.execute(sa.select(audit_log).where(audit_log.c.action == action)
                                        .order_by(audit_log.c.seq))).all())


async def test_close_with_outcome_verdicts_final_levels_and_report(
        make_client: Any, stack: dict[str, str], outcomes_file: pathlib.Path, eido_validator: Draft4Validator,  # noqa: F811
        registries: dict[str, set[str]]) -> None:  # noqa: F811
    api = DispatchApi(await make_client(env={**stack, **FAST_TIMERS, "JINGYUN_OUTCOMES_FILE": str(outcomes_file)}))
    start = _now()
    near = await api.unit("Acc-1", lat=LAT + 0.0002, lon=LON + 0.0002)
    mid = await api.unit("Acc-2", lat=LAT + 0.009, lon=LON + 0.009)
    far = await api.unit("Acc-3", lat=LAT + 0.059, lon=LON + 0.039)
    back = await api.unit("Acc-4", lat=LAT + 0.0003, lon=LON + 0.0003, status="returning")  # never ranked

    codes = await api.call("GET", "/api/outcomes", headers=api.as_officer(near["id"]))
    table = {o["code"]: o for o in codes["outcomes"]}
    assert table["arrest"]["eido"] == "03" and table["arrest"]["zh"] and table["mediated"]["eido"] is None
    assert table["citation"]["retired"] is True  # listed (old incidents use it), no longer accepted

    # A: the top recommendation is sent; dispatching at the level shown records it as the final level.
    a = await api.incident(FIGHT, lat=LAT, lon=LON)
    assert a["machine_level"] == a["level"] and a["final_level"] is None
    shown = await api.call("GET", f"/api/incidents/{a['id']}/recommendations")
    order_a = await api.dispatch(a["id"], near["id"])
    # The ranking recorded (judged in SQL on the dispatch path) is the ranking the console shows.
    assert order_a["recommendation"]["recommended"] == [r["unit_id"] for r in shown["recommendations"]]
    assert order_a["recommendation"]["verdict"] == "top" and order_a["recommendation"]["rank"] == 1
    assert order_a["recommendation"]["recommended"][0] == near["id"]
    a = await api.call("GET", f"/api/incidents/{a['id']}")
    assert a["final_level"] == a["machine_level"] and a["final_level_by"] == "test-dispatcher"
    # The phone's copy of the order carries no ranking of other units.
    mine = await api.call("GET", f"/api/orders/{order_a['id']}", headers=api.as_officer(near["id"]))
    assert "recommendation" not in mine

    # B: the dispatcher raises the level, then passes over the top unit (Acc-2) for the second (Acc-3).
    b = await api.incident("Two men shouting at each other near Coco Park", lat=LAT - 0.0001, lon=LON - 0.0001)
    assert b["machine_level"] in ("P2", "P3", "P4")
    b = await api.call("POST", f"/api/incidents/{b['id']}/priority", json={"priority": 9, "reason": "crowd"})
    assert (b["machine_level"], b["final_level"], b["level"]) == (b["machine_level"], "P1", "P1")
    recs = await api.call("GET", f"/api/incidents/{b['id']}/recommendations")
    ranked = [r["unit_id"] for r in recs["recommendations"]]
    assert ranked[:2] == [mid["id"], far["id"]]
    order_b = await api.dispatch(b["id"], far["id"])
    assert order_b["recommendation"]["recommended"] == ranked
    assert (order_b["recommendation"]["verdict"], order_b["recommendation"]["rank"]) == ("other_recommended", 2)

    # C: a unit on its way back is dispatchable but not ranked; the level is confirmed by hand first.
    c = await api.incident("Someone scratched my parked car last night on Fuhua Road.", lat=LAT, lon=LON)
    c = await api.call("POST", f"/api/incidents/{c['id']}/level/confirm")
    assert c["final_level"] == c["level"] == c["machine_level"]
    order_c = await api.dispatch(c["id"], back["id"])
    assert order_c["recommendation"]["verdict"] == "not_recommended" and order_c["recommendation"]["rank"] is None

    # Closing without an outcome, with an unknown or a retired code: 400 saying what is accepted.
    err = await api.call("POST", f"/api/incidents/{a['id']}/status", 400, json={"status": "closed"})
    assert err["error"]["details"]["field"] == "outcome_code" and "arrest" in err["error"]["message"]
    assert "citation" not in err["error"]["details"]["accepted"]
    err = await api.call("POST", f"/api/incidents/{a['id']}/status", 400,
                         json={"status": "closed", "outcome_code": "solved", "note": "x"})
    assert "'solved'" in err["error"]["message"] and "settled_on_scene" in err["error"]["message"]
    err = await api.call("POST", f"/api/incidents/{a['id']}/status", 400,
                         json={"status": "closed", "outcome_code": "citation", "note": "warned"})
    assert "citation" not in err["error"]["details"]["accepted"]
    err = await api.call("POST", f"/api/incidents/{a['id']}/status", 400,
                         json={"status": "closed", "outcome_code": "arrest", "note": "  "})
    assert err["error"]["details"]["field"] == "note"
    err = await api.call("POST", f"/api/incidents/{a['id']}/status", 400,
                         json={"status": "en_route", "outcome_code": "arrest", "note": "x"})
    assert "when an incident ends" in err["error"]["message"]
    err = await api.call("POST", f"/api/incidents/{a['id']}/status", 400,
                         json={"status": "closed", "outcome": "arrest"})
    assert "outcome" in err["error"]["message"] and "outcome_code" in err["error"]["message"]
    assert (await api.call("GET", f"/api/incidents/{a['id']}"))["status"] == "dispatched"

    # The console's close: A with an arrest (EIDO disposition 03).
    closed_a = await api.call("POST", f"/api/incidents/{a['id']}/status",
                              json={"status": "closed", "outcome_code": "arrest", "note": "一人被当场抓获"})
    assert closed_a["status"] == "closed" and closed_a["closed_by"] == "test-dispatcher"
    assert closed_a["outcome"] == {"code": "arrest", "note": "一人被当场抓获", "by": "test-dispatcher"}
    assert closed_a["orders"][0]["state"] == "withdrawn"  # offered, never acknowledged
    eido = await api.call("GET", f"/api/incidents/{a['id']}/eido")
    check_eido(eido, eido_validator, registries)
    disposition = eido["incidentComponent"]["dispositionComponent"]
    assert [d["dispositionCommonRegistryCode"] for d in disposition] == ["03"]
    assert disposition[0]["dispositionCommonRegistryCode"] in registries["EIDO-CommonDispositionCode"]
    assert "一人被当场抓获" in eido["notesComponent"][0]["notesActionComments"]

    # The officer's close: only a unit the incident was given to; B with a code EIDO has no equivalent for.
    err = await api.call("POST", f"/api/incidents/{b['id']}/close", 403, headers=api.as_officer(mid["id"]),
                         json={"outcome_code": "mediated", "note": "x"})
    assert err["error"]["code"] == "forbidden"
    await api.call("POST", f"/api/orders/{order_b['id']}/ack", headers=api.as_officer(far["id"]))
    closed_b = await api.call("POST", f"/api/incidents/{b['id']}/close", headers=api.as_officer(far["id"]),
                              json={"outcome_code": "mediated", "note": "双方调解完毕"})
    assert closed_b["outcome"]["code"] == "mediated" and closed_b["closed_by"] == f"unit:{far['id']}"
    assert closed_b["orders"][0]["state"] == "completed" and "recommendation" not in closed_b["orders"][0]
    eido = await api.call("GET", f"/api/incidents/{b['id']}/eido")
    check_eido(eido, eido_validator, registries)
    assert "dispositionComponent" not in eido["incidentComponent"]  # never stretched to a wrong code
    assert "mediated" in eido["notesComponent"][0]["notesActionComments"]
    err = await api.call("POST", f"/api/incidents/{b['id']}/close", 409, headers=api.as_officer(far["id"]),
                         json={"outcome_code": "mediated", "note": "again"})
    # C is cancelled without an outcome: allowed, and counted as such.
    await api.call("POST", f"/api/incidents/{c['id']}/status", json={"status": "cancelled", "reason": "caller"})

    audit = [json.loads(r.after) for r in await _audit(api, "incident.status")]
    assert {"outcome_code": "arrest", "outcome_note": "一人被当场抓获"}.items() <= audit[-3].items()
    assert [json.loads(r.after)["verdict"] for r in await _audit(api, "order.create")][-3:] == \
        ["top", "other_recommended", "not_recommended"]

    # The report over exactly this test's incidents (ISO times with a zone), and its 400s.
    rep = await api.call("GET", "/api/analysis/accountability", params={"from": start, "to": _now()})
    assert rep["incidents"] == 3 and rep["timezone"]
    assert (rep["units"]["dispatches"], rep["units"]["top"], rep["units"]["other_recommended"],
            rep["units"]["not_recommended"]) == (3, 1, 1, 1)
    assert rep["units"]["acceptance_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert (rep["levels"]["scored"], rep["levels"]["accepted"], rep["levels"]["raised"]) == (3, 2, 1)
    assert rep["levels"]["by_level"][a["machine_level"]]["accepted"] >= 1
    assert rep["outcomes"]["levels"]["overridden"] == {"mediated": 1}
    assert rep["outcomes"]["levels"]["accepted"] == {"arrest": 1, "status:cancelled": 1}
    assert rep["outcomes"]["units"] == {"accepted": {"arrest": 1},
                                        "overridden": {"mediated": 1, "status:cancelled": 1}, "open": {}}
    for query, field in (({"from": "2026-13-01"}, "from"), ({"to": "yesterday"}, "to"),
                         ({"from": "2026-05-01T08:00:00"}, "from"),  # no zone
                         ({"from": "2026-05-02", "to": "2026-05-01"}, "from"),
                         ({"from": "2020-01-01", "to": "2026-01-01"}, "from"), ({"to": "9999-12-31"}, "to"),
                         ({"since": "2026-05-01"}, "since")):
        err = await api.call("GET", "/api/analysis/accountability", 400, params=query)
        assert err["error"]["details"]["field"] == field, err
    assert "YYYY-MM-DD" in (await api.call("GET", "/api/analysis/accountability", 400,
                                           params={"from": "1 May"}))["error"]["message"]
    officer = await api.client.get("/api/analysis/accountability", headers=api.as_officer(near["id"]))
    assert officer.status == 403

    # The daily brief carries the section (JSON and the printable page).
    brief = await api.call("GET", "/api/analysis/daily", headers=auth(api.client.server.app, "admin"))
    section = brief["accountability"]
    assert section["rows"][0]["group"] == "all" and section["columns"]["zh"][0] == ["group", "分组"]
    assert section["outcome_labels"]["arrest"]["zh"] == table["arrest"]["zh"]
    page = await api.call("GET", "/api/analysis/daily.html", headers=auth(api.client.server.app, "admin"))
    assert "Accountability" in page and "定级采纳率" in page
    verify = await api.call("GET", "/api/audit/verify", headers=auth(api.client.server.app, Role.ADMIN))
    assert verify["ok"]
    await _retire(api, [near["id"], mid["id"], far["id"], back["id"]])
    await _lean_ranking_matches_the_shown_one(api)


async def _lean_ranking_matches_the_shown_one(api: DispatchApi) -> None:
    """The dispatch path's ranking (SQL judges capabilities and freshness and pre-selects by a flat-earth
    distance) against GET /recommendations, over 300 units with ties, missing capabilities, stale and
    missing fixes. Far from every other test's units, and out of service afterwards (PostgreSQL's
    database is shared by the session's tests)."""
    import random

    from dispatch.orders import recommended_ids
    from dispatch.tables import units

    assert api.app is not None
    service = api.app[appkeys.DISPATCH]
    rng = random.Random(13)
    now = dt.datetime.now(dt.UTC)
    tag = os.urandom(3).hex()
    caps = sorted(service.table.capabilities)
    rows = [{"id": f"lean{tag}{i:04d}", "callsign": f"Lean-{tag}-{i:03d}", "unit_type": "patrol_car",
             "capabilities": rng.sample(caps, rng.randrange(len(caps) + 1)),
             "status": "available" if i % 7 else "on_scene",
             "lat": None if i % 29 == 0 else -41.0 + rng.randrange(40) / 200,
             "lon": None if i % 29 == 0 else 174.0 + rng.randrange(40) / 200,
             "location_at": None if i % 31 == 0 else now - dt.timedelta(seconds=rng.choice((5, 900, 7200))),
             "created_at": now, "updated_at": now} for i in range(300)]
    async with api.app[appkeys.DB].begin() as conn:
        await conn.execute(units.insert(), rows)
    try:
        for text in ("Man with a knife threatening people", "Elderly man collapsed, not breathing",
                     "My bicycle was stolen last night"):
            inc = await api.incident(text, lat=-40.95, lon=174.05)
            shown = await api.call("GET", f"/api/incidents/{inc['id']}/recommendations")
            depth = service.settings.recommended_units
            assert await recommended_ids(service.ctx, inc["id"]) == \
                [r["unit_id"] for r in shown["recommendations"]][:depth], text
            await api.call("POST", f"/api/incidents/{inc['id']}/status", json={"status": "cancelled"})
    finally:
        await _retire(api, [r["id"] for r in rows])


PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(60_000)


async def _cut_off_upload(api: DispatchApi, path: str, headers: dict[str, str], declared: int, sent: bytes) -> None:
    """A client that declares ``declared`` bytes, sends ``sent`` and goes away (a phone losing signal)."""
    server = api.client.server
    _reader, writer = await asyncio.open_connection(server.host, server.port)
    head = [f"PUT {path} HTTP/1.1", f"Host: {server.host}:{server.port}", f"Content-Length: {declared}",
            *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    writer.write("\r\n".join(head).encode() + sent)
    await writer.drain()
    await asyncio.sleep(0.2)
    writer.close()
    await writer.wait_closed()


async def test_field_notes_and_photos_by_the_right_unit_only(make_client: Any, stack: dict[str, str]) -> None:
    api = DispatchApi(await make_client(env={**stack, **FAST_TIMERS, "JINGYUN_FIELD_PHOTO_MAX_BYTES": "100000"}))
    assert api.app is not None
    photos = api.app[appkeys.SETTINGS].data_dir / "field-photos"
    unit_a = await api.unit("Note-A", lat=LAT, lon=LON)
    unit_b = await api.unit("Note-B", lat=LAT + 0.05, lon=LON)
    inc = await api.incident(FIGHT, lat=LAT, lon=LON)
    order = await api.dispatch(inc["id"], unit_a["id"])
    await api.call("POST", f"/api/orders/{order['id']}/ack", headers=api.as_officer(unit_a["id"]))
    a, b = api.as_officer(unit_a["id"]), api.as_officer(unit_b["id"])
    notes = f"/api/incidents/{inc['id']}/notes"

    note = await api.call("POST", notes, 201, headers=a, json={"text": "两人已被分开，一人轻伤"})
    assert note["unit_id"] == unit_a["id"] and note["photo"] is None
    await api.call("POST", notes, 400, headers=a, json={"text": " "})
    await api.call("POST", notes, 400, headers=a, json={"text": "x", "photo": "y"})
    photo_path = f"{notes}/{note['id']}/photo"
    # Another unit: refused before anything is read (and audited), whatever the incident or note.
    denied_before = len(await _audit(api, "access_denied"))
    for method, path, kwargs in (("POST", notes, {"json": {"text": "mine"}}), ("GET", notes, {}),
                                 ("PUT", photo_path, {"data": PNG, "headers": {**b, "Content-Type": "image/png"}}),
                                 ("GET", photo_path, {}), ("POST", f"/api/incidents/{inc['id']}/close",
                                                          {"json": {"outcome_code": "arrest", "note": "x"}}),
                                 ("POST", "/api/incidents/nosuchincident/notes", {"json": {"text": "x"}})):
        resp = await api.client.request(method, path, **{"headers": b, **kwargs})
        assert resp.status == 403, (method, path, resp.status, await resp.text())
    assert len(await _audit(api, "access_denied")) - denied_before == 6

    # The photo: wrong type and over the limit are refused before a byte is read.
    resp = await api.client.put(photo_path, data=b"<svg/>", headers={**a, "Content-Type": "image/svg+xml"})
    assert resp.status == 400 and "image/jpeg" in (await resp.json())["error"]["message"]
    resp = await api.client.put(photo_path, data=os.urandom(150_000), headers={**a, "Content-Type": "image/png"})
    assert resp.status == 413 and (await resp.json())["error"]["code"] == "too_large"
    # A page declared to be a photo: its first bytes decide, and nothing is kept.
    resp = await api.client.put(photo_path, data=b"<html><script>alert(1)</script></html>" * 10,
                                headers={**a, "Content-Type": "image/jpeg"})
    err = (await resp.json())["error"]
    assert resp.status == 400 and "declared image/jpeg" in err["message"] and err["details"]["field"] == "body", err
    resp = await api.client.put(photo_path, data=PNG, headers={**a, "Content-Type": "image/jpeg"})
    assert resp.status == 400 and "a image/png image" in (await resp.json())["error"]["message"]
    assert [p for p in photos.rglob("*") if p.is_file()] == []

    # Cut off midway: nothing is kept, nothing is registered, and the attempt is in the audit log.
    await _cut_off_upload(api, photo_path, {**a, "Content-Type": "image/png"}, len(PNG), PNG[:20_000])
    for _ in range(100):
        if await _audit(api, "incident.field_photo_refused"):
            break
        await asyncio.sleep(0.05)
    refused = [json.loads(r.after) for r in await _audit(api, "incident.field_photo_refused")]
    assert refused and refused[-1]["note_id"] == note["id"], refused
    assert [p for p in photos.rglob("*") if p.is_file()] == []
    assert (await api.call("GET", notes, headers=a))["notes"][0]["photo"] is None
    # A hash that does not match: 400, nothing kept.
    resp = await api.client.put(photo_path, data=PNG, headers={**a, "Content-Type": "image/png",
                                                              "X-Content-SHA256": "0" * 64})
    assert resp.status == 400 and "sha256" in (await resp.json())["error"]["message"]
    assert [p for p in photos.rglob("*") if p.is_file()] == []

    # The whole photo: kept read-only under DATA_DIR/field-photos, registered with its hash, audited.
    digest = hashlib.sha256(PNG).hexdigest()
    resp = await api.client.put(photo_path, data=PNG, headers={**a, "Content-Type": "image/png",
                                                              "X-Content-SHA256": digest})
    assert resp.status == 201, await resp.text()
    kept = (await resp.json())["photo"]
    assert (kept["sha256"], kept["size"], kept["content_type"]) == (digest, len(PNG), "image/png")
    files = [p for p in photos.rglob("*") if p.is_file()]
    assert [p.name for p in files] == [f"{note['id']}.png"] and files[0].read_bytes() == PNG
    assert files[0].stat().st_mode & 0o777 == 0o440
    assert json.loads((await _audit(api, "incident.field_photo"))[-1].after)["sha256"] == digest
    resp = await api.client.put(photo_path, data=PNG, headers={**a, "Content-Type": "image/png"})
    assert resp.status == 409  # a kept photo is never replaced
    for who in (a, api.headers):
        resp = await api.client.get(photo_path, headers=who)
        assert resp.status == 200 and await resp.read() == PNG
        assert resp.headers["X-Photo-SHA256"] == digest and resp.headers["Content-Type"] == "image/png"

    # A dispatcher's note, and the detail the console shows.
    await api.call("POST", notes, 201, json={"text": "增派警力已在路上"})
    detail = await api.call("GET", f"/api/incidents/{inc['id']}")
    assert [(n["unit_id"], n["photo"] is not None) for n in detail["field_notes"]] == [(unit_a["id"], True),
                                                                                      (None, False)]
    closed = await api.call("POST", f"/api/incidents/{inc['id']}/close", headers=a,
                            json={"outcome_code": "settled_on_scene", "note": "现场处置完毕"})
    assert closed["status"] == "closed" and closed["final_level"] == closed["level"]
    # Notes may still be added after the close (the report written back at the station).
    await api.call("POST", notes, 201, headers=a, json={"text": "已回所补充材料"})
    await _retire(api, [unit_a["id"], unit_b["id"]])
