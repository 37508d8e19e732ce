"""rdio-scanner uploads on both stacks with the real model: filing, idempotency, suggestions, audio, roles."""

from __future__ import annotations

import hashlib

import aiohttp
import pytest

from tests.conftest import auth, token_for
from tests.fixtures_radio import headers
from web.auth import Role

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.model]


def call_form(audio: bytes, **fields: str) -> aiohttp.FormData:
    """The form trunk-recorder's rdioscanner uploader sends."""
    form = aiohttp.FormData()
    form.add_field("audio", audio, filename="9-1714564800_774031250.wav", content_type="audio/x-wav")
    base = {"dateTime": "1714564800", "frequency": "774031250", "source": "4424000", "system": "11",
            "systemLabel": "Futian P25", "talkgroup": "54241", "talkgroupLabel": "PD Dispatch 1",
            "talkgroupTag": "Law Dispatch", "talkgroupGroup": "Police", "key": "ignored-by-jingyun",
            "sources": '[{"pos": 0.0, "src": 4424000}]', "frequencies": "[]", "patches": "[]"}
    base.update(fields)
    for k, v in base.items():
        form.add_field(k, v)
    return form


async def test_call_upload_files_once_and_suggests_incident(make_client, stack, asr_engine, shared_dir,
                                                            dispatch_api):
    client = await make_client(env=stack, asr_engine=asr_engine)
    app = client.server.app
    api = dispatch_api(client)
    unit = await api.unit("P-31")
    resp = await client.put("/api/radio/aliases/4424000", json={"unit_id": unit["id"]},
                            headers=headers(app, Role.DISPATCHER))
    assert resp.status == 200, await resp.text()
    audio = (shared_dir / "audio/synthetic/en_radio_06.wav").read_bytes()  # "... collapsed ... not breathing ..."
    svc = headers(app, Role.SERVICE)

    resp = await client.post("/api/call-upload", data=call_form(audio), headers=svc)
    assert resp.status == 200, await resp.text()
    assert await resp.text() == "Call imported successfully."
    tx_id = resp.headers["X-Transmission-Id"]
    assert resp.headers["X-Duplicate"] == "false"

    # The same call again (trunk-recorder retries; here with the RFC 3339 form of the same time): filed once.
    # This time as trunk-recorder sends it: no Authorization header, the service token in the 'key' field.
    key = token_for(app, Role.SERVICE)
    resp = await client.post("/api/call-upload", data=call_form(audio, dateTime="2024-05-01T12:00:00Z", key=key))
    assert resp.status == 200 and await resp.text() == "Call imported successfully."
    assert resp.headers["X-Transmission-Id"] == tx_id and resp.headers["X-Duplicate"] == "true"

    disp = headers(app, Role.DISPATCHER)
    listed = await client.get("/api/radio/transmissions?channel=tg-11-54241", headers=disp)
    txs = (await listed.json())["transmissions"]
    assert len(txs) == 1
    tx = txs[0]
    assert tx["channel_id"] == "tg-11-54241" and tx["system"] == "11" and tx["talkgroup"] == "54241"
    assert tx["trigger"] == "upload" and tx["unit_label"] == "4424000" and tx["unit_id"] == unit["id"]
    assert tx["start_utc"] == "2024-05-01T12:00:00.000Z"
    assert "not breathing" in tx["text"].lower() and tx["meta"]["talkgroup_label"] == "PD Dispatch 1"
    channel = await (await client.get("/api/radio/channels/tg-11-54241", headers=disp)).json()
    assert channel["auto_created"] is True and channel["name"] == "PD Dispatch 1"

    # The transmission describes an emergency: a suggested incident, scored, for a dispatcher to accept.
    sugs = (await (await client.get("/api/radio/suggestions?state=suggested", headers=disp)).json())["suggestions"]
    sugs = [s for s in sugs if s["channel_id"] == "tg-11-54241"]  # the PostgreSQL database is the session's
    assert len(sugs) == 1 and sugs[0]["transmission_id"] == tx_id
    sug = sugs[0]
    assert sug["category"] not in (None, "other") and 0 <= sug["priority"] <= 10 and sug["level"] in ("P1", "P2")
    assert sug["triage"]["reasons"]
    resp = await client.post(f"/api/radio/suggestions/{sug['id']}/accept", headers=disp)
    assert resp.status == 201, await resp.text()
    accepted = await resp.json()
    incident = accepted["incident"]
    assert accepted["suggestion"]["state"] == "accepted" and accepted["suggestion"]["incident_id"] == incident["id"]
    assert incident["source"] == "radio" and incident["text"] == tx["text"]
    resp = await client.post(f"/api/radio/suggestions/{sug['id']}/dismiss", headers=disp)
    assert resp.status == 409 and "already accepted" in (await resp.json())["error"]["message"]

    # The raw call is kept as Opus; its hash travels with it. Officers and services may not fetch it.
    resp = await client.get(f"/api/radio/transmissions/{tx_id}/audio", headers=disp)
    assert resp.status == 200 and resp.content_type == "audio/ogg"
    assert hashlib.sha256(await resp.read()).hexdigest() == resp.headers["X-Audio-SHA256"]
    for role, unit_id in ((Role.OFFICER, unit["id"]), (Role.SERVICE, None), (Role.KIOSK, None)):
        resp = await client.get(f"/api/radio/transmissions/{tx_id}/audio", headers=auth(app, role, unit_id))
        assert resp.status == 403, role


async def test_call_upload_rejects_bad_forms(make_client, asr_engine, shared_dir):
    client = await make_client(asr_engine=asr_engine)
    app = client.server.app
    svc = headers(app, Role.SERVICE)
    audio = (shared_dir / "audio/synthetic/en_radio_06.wav").read_bytes()
    for fields, field in [({"talkgroup": ""}, "talkgroup"), ({"system": "abc"}, "system"),
                          ({"dateTime": "yesterday"}, "dateTime"), ({"sources": "not json"}, "sources")]:
        resp = await client.post("/api/call-upload", data=call_form(audio, **fields), headers=svc)
        assert resp.status == 400, fields
        err = (await resp.json())["error"]
        assert err["details"]["field"] == field and field in err["message"], err
    resp = await client.post("/api/call-upload", data=call_form(b"not audio at all"), headers=svc)
    assert resp.status == 400 and "WAV" in (await resp.json())["error"]["message"]
    resp = await client.post("/api/call-upload", json={"talkgroup": 1}, headers=svc)
    assert resp.status == 400 and "multipart/form-data" in (await resp.json())["error"]["message"]
    # The route declares the service role: dispatchers and anonymous callers are refused.
    resp = await client.post("/api/call-upload", data=call_form(audio), headers=headers(app, Role.DISPATCHER))
    assert resp.status == 403
    resp = await client.post("/api/call-upload", data=call_form(audio))
    assert resp.status == 401
    txs = (await (await client.get("/api/radio/transmissions", headers=headers(app, Role.DISPATCHER))).json())
    assert txs["transmissions"] == []
