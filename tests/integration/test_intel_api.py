"""Intelligence routes end to end on both stacks: kiosk templates, drafts streamed to the console,
reports turned into scored incidents with a receipt, validation errors, rate limits, the daily
analysis, triage preview and rule reload."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from analytics import rules
from dispatch import keys
from tests.conftest import auth
from web import appkeys

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

FORM = {"description": "在福田站换乘的时候手机被偷了，小偷早就不见了", "time": "今天上午10点", "place": "福田站",
        "item": "华为手机", "amount": "6000元", "phone": "13812345678"}


async def _console(client: Any) -> Any:
    app = client.app
    pubsub = app[appkeys.REDIS].pubsub()
    await pubsub.subscribe(keys.console_channel(app[appkeys.SETTINGS].redis_prefix))
    return pubsub


async def _next_event(pubsub: Any, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(5.0):
        while True:
            msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if msg and msg["type"] == "message":
                event = json.loads(msg["data"])
                if event.get("type") == kind:
                    return event


async def test_kiosk_draft_report_receipt_and_incident(make_client: Any, stack: dict[str, str]) -> None:
    client = await make_client(env=stack)
    kiosk = auth(client.app, "kiosk")
    resp = await client.get("/api/kiosk/templates", headers=kiosk)
    assert resp.status == 200
    ids = [t["id"] for t in (await resp.json())["templates"]]
    assert ids == ["pickpocketing", "injury", "bank_card_fraud", "ebike_theft", "lost_property"]
    assert (await client.get("/api/kiosk/templates", headers=auth(client.app, "dispatcher"))).status == 200
    assert (await client.get("/api/kiosk/templates", headers=auth(client.app, "officer", "u1"))).status == 403

    pubsub = await _console(client)
    try:
        draft_body = {"draft_id": "d-1", "template_id": "pickpocketing",
                      "fields": {"description": "手机被偷了", "place": "福田"}}
        resp = await client.post("/api/kiosk/drafts", headers=kiosk, json=draft_body)
        assert resp.status == 202
        draft = await _next_event(pubsub, "kiosk_draft")
        assert draft["draft_id"] == "d-1" and draft["fields"]["description"] == "手机被偷了"
        assert draft["preview"]["level"] == "P3"

        resp = await client.post("/api/kiosk/reports", headers=kiosk,
                                 json={"draft_id": "d-1", "template_id": "pickpocketing", "fields": FORM})
        assert resp.status == 201, await resp.text()
        receipt = await resp.json()
        assert receipt["receipt"].startswith("JY-")
        done = await _next_event(pubsub, "kiosk_draft")
        assert done["submitted"] is True and done["receipt"] == receipt["receipt"]
    finally:
        await pubsub.aclose()

    # A double-tapped Submit gives the same receipt and no second incident.
    again = await client.post("/api/kiosk/reports", headers=kiosk,
                              json={"draft_id": "d-1", "template_id": "pickpocketing", "fields": FORM})
    assert again.status == 200 and (await again.json())["receipt"] == receipt["receipt"]

    inc = await (await client.get(f"/api/incidents/{receipt['incident_id']}",
                                  headers=auth(client.app, "dispatcher"))).json()
    assert inc["source"] == "kiosk" and inc["level"] == "P3" and inc["category"] == "theft"
    assert inc["reasons"] and inc["location"]["text"] == "福田站" and inc["location"]["lat"] is not None
    assert inc["report"]["template"] == "pickpocketing"
    listed = await (await client.get("/api/incidents", headers=auth(client.app, "dispatcher"))).json()
    rows = listed if isinstance(listed, list) else listed.get("incidents", [])
    assert sum(1 for r in rows if r["source"] == "kiosk") == 1


async def test_kiosk_report_with_ongoing_threat_is_p1(make_client: Any, stack: dict[str, str]) -> None:
    client = await make_client(env=stack)
    form = {**FORM, "description": "抢我手机的人现在拿着刀就站在派出所对面，还在看着我"}
    resp = await client.post("/api/kiosk/reports", headers=auth(client.app, "kiosk"),
                             json={"template_id": "pickpocketing", "fields": form})
    assert resp.status == 201
    inc = await (await client.get(f"/api/incidents/{(await resp.json())['incident_id']}",
                                  headers=auth(client.app, "dispatcher"))).json()
    assert inc["level"] == "P1", "the kiosk channel does not cap priority"


async def test_kiosk_validation_errors_name_field_and_rule(client: Any) -> None:
    kiosk = auth(client.app, "kiosk")
    resp = await client.post("/api/kiosk/reports", headers=kiosk, json={
        "template_id": "injury", "fields": {"description": "被人推倒了", "time": "", "place": "岗厦",
                                            "injury": "擦伤", "treated": "maybe", "phone": "123"}})
    assert resp.status == 400
    err = (await resp.json())["error"]
    assert err["code"] == "invalid_fields"
    got = {(e["field"], e["rule"]) for e in err["details"]["errors"]}
    assert got == {("time", "required"), ("treated", "choice"), ("phone", "pattern")}
    resp = await client.post("/api/kiosk/reports", headers=kiosk, json={"template_id": "nope", "fields": {}})
    assert resp.status == 400 and "pickpocketing" in (await resp.json())["error"]["message"]
    resp = await client.post("/api/kiosk/reports", headers=kiosk, data=b"not json")
    assert resp.status == 400 and "JSON object" in (await resp.json())["error"]["message"]


async def test_kiosk_rate_limit(make_client: Any) -> None:
    client = await make_client(env={"JINGYUN_RATE_LIMIT_PER_MIN": "3"})
    kiosk = auth(client.app, "kiosk")
    statuses = [(await client.get("/api/kiosk/templates", headers=kiosk)).status for _ in range(4)]
    if statuses[-1] == 200:  # the minute window turned over mid-test; try once more
        statuses = [(await client.get("/api/kiosk/templates", headers=kiosk)).status for _ in range(4)]
    assert statuses[:3].count(200) >= 2 and statuses[-1] == 429
    resp = await client.get("/api/kiosk/templates", headers=kiosk)
    err = (await resp.json())["error"]
    assert err["code"] == "rate_limited" and "at most 3 per minute" in err["message"]
    # Dispatchers are not limited by the kiosk budget.
    assert (await client.get("/api/kiosk/templates", headers=auth(client.app, "dispatcher"))).status == 200


async def test_daily_analysis_json_and_html(make_client: Any, stack: dict[str, str]) -> None:
    client = await make_client(env=stack)
    service = client.app[appkeys.DISPATCH]
    tz = dt.timezone(dt.timedelta(hours=8))
    day = dt.date(2026, 5, 20)
    for i, text in enumerate(["华强北步行街手机被偷了", "华强北步行街钱包被偷了", "赛格广场门口手机被偷了",
                              "华强北路有人打架，没人拿东西"]):
        await service.create_incident(text=text, source="call", actor="test",
                                      created_at=dt.datetime(2026, 5, 20, 14, i * 5, tzinfo=tz))
    await service.create_incident(text="昨天的事", source="call", actor="test",
                                  created_at=dt.datetime(2026, 5, 19, 14, 0, tzinfo=tz))
    disp = auth(client.app, "dispatcher")
    resp = await client.get(f"/api/analysis/daily?date={day.isoformat()}", headers=disp)
    assert resp.status == 200, await resp.text()
    brief = await resp.json()
    assert brief["date"] == "2026-05-20" and brief["total"] == 4
    assert brief["by_category"] == {"theft": 3, "public_order": 1}
    assert brief["by_hour"][14] == 4
    assert brief["hotspots"] and brief["hotspots"][0]["count"] == 4
    html = await client.get(f"/api/analysis/daily.html?date={day.isoformat()}", headers=disp)
    assert html.status == 200 and "<svg" in await html.text()

    bad = await client.get("/api/analysis/daily?date=20-05-2026", headers=disp)
    assert bad.status == 400 and "YYYY-MM-DD" in (await bad.json())["error"]["message"]
    bad = await client.get("/api/analysis/daily?date=2026-02-30", headers=disp)
    assert bad.status == 400
    assert (await client.get("/api/analysis/daily", headers=auth(client.app, "kiosk"))).status == 403


async def test_triage_preview_and_rules_reload(make_client: Any, tmp_path: Path) -> None:
    edited = tmp_path / "rules.yaml"
    edited.write_text(rules.DEFAULT_RULES.read_text(encoding="utf-8"), encoding="utf-8")
    client = await make_client(env={"JINGYUN_RULES_PATH": str(edited)})
    disp, admin = auth(client.app, "dispatcher"), auth(client.app, "admin")
    text = "那个人手里拿着家伙事站在门口"
    first = await (await client.post("/api/triage", headers=disp, json={"text": text})).json()
    # the rules do not know the word (the learned model may still read the sentence as dangerous)
    assert first["rule"] != "weapon_present" and first["reasons"] is not None

    edited.write_text(edited.read_text(encoding="utf-8").replace("'刀仔', '利器',", "'刀仔', '利器', '家伙事',"),
                      encoding="utf-8")
    assert (await client.post("/api/admin/rules/reload", headers=disp)).status == 403
    resp = await client.post("/api/admin/rules/reload", headers=admin)
    assert resp.status == 200 and (await resp.json())["reloaded"] is True
    second = await (await client.post("/api/triage", headers=disp, json={"text": text})).json()
    assert second["level"] == "P1" and second["rule"] == "weapon_present"

    edited.write_text("concepts: [", encoding="utf-8")
    resp = await client.post("/api/admin/rules/reload", headers=admin)
    err = (await resp.json())["error"]
    assert resp.status == 422 and "previous rules stay in force" in err["message"]
    still = await (await client.post("/api/triage", headers=disp, json={"text": text})).json()
    assert still["level"] == "P1"

    resp = await client.post("/api/triage", headers=disp, json={"text": ""})
    assert resp.status == 400 and "text" in (await resp.json())["error"]["message"]


async def test_rules_reload_changes_only_its_own_app(make_client: Any, tmp_path: Path) -> None:
    """Each app owns its rule book: an admin's reload in one app leaves another app in the same
    process (here: one started on the shipped rules) scoring as before."""
    edited = tmp_path / "rules.yaml"
    edited.write_text(rules.DEFAULT_RULES.read_text(encoding="utf-8"), encoding="utf-8")
    ours = await make_client(env={"JINGYUN_RULES_PATH": str(edited)})
    other = await make_client()
    assert ours.app[appkeys.RULES] is not other.app[appkeys.RULES]
    other_rules = other.app[appkeys.RULES].current
    edited.write_text(edited.read_text(encoding="utf-8").replace("'刀仔', '利器',", "'刀仔', '利器', '家伙事',"),
                      encoding="utf-8")
    resp = await ours.post("/api/admin/rules/reload", headers=auth(ours.app, "admin"))
    assert resp.status == 200, await resp.text()
    text = "那个人手里拿着家伙事站在门口"
    mine = await (await ours.post("/api/triage", headers=auth(ours.app, "dispatcher"), json={"text": text})).json()
    assert mine["rule"] == "weapon_present"
    # Dispatch scores new incidents with the app's book too, reloaded rules included.
    resp = await ours.post("/api/incidents", headers=auth(ours.app, "dispatcher"),
                           json={"text": text, "source": "call"})
    assert resp.status in (200, 201), await resp.text()
    assert (await resp.json())["level"] == "P1"
    theirs = await (await other.post("/api/triage", headers=auth(other.app, "dispatcher"),
                                     json={"text": text})).json()
    assert theirs["rule"] != "weapon_present"
    assert other.app[appkeys.RULES].current is other_rules
    # The info route of each app reports its own file.
    info = await (await other.get("/api/admin/rules", headers=auth(other.app, "admin"))).json()
    assert info["source"] != str(edited)


async def test_incident_rescored_when_text_arrives_and_duplicate_linked(make_client: Any) -> None:
    client = await make_client()
    disp = auth(client.app, "dispatcher")
    resp = await client.post("/api/incidents", headers=disp,
                             json={"text": "福华路一家便利店门口两个人在吵架", "source": "call"})
    assert resp.status in (200, 201), await resp.text()
    first = await resp.json()
    assert first["level"] in ("P2", "P3"), "an argument: not yet an emergency (the model may read it as urgent)"
    resp = await client.post(f"/api/incidents/{first['id']}/text", headers=disp,
                             json={"text": "现在其中一个人从车里拿出一把刀了", "source": "call"})
    assert resp.status == 200, await resp.text()
    again = await resp.json()
    assert again["level"] == "P1", "new text with a weapon present re-scores the incident"
    assert any(r["factor"] == "weapon_present" for r in again["reasons"])

    # A second caller a minute later about the same scene is linked as a possible duplicate.
    resp = await client.post("/api/incidents", headers=disp,
                             json={"text": "福华路便利店门口有人拿着刀跟人吵架", "source": "call"})
    second = await resp.json()
    detail = await (await client.get(f"/api/incidents/{second['id']}", headers=disp)).json()
    linked = {d["incident_id"]: d for d in detail.get("duplicates", [])}
    assert first["id"] in linked
    assert any("same category" in e or "text similarity" in e for e in linked[first["id"]]["evidence"])
