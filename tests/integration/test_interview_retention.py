"""Audio retention on both stacks: expired audio is deleted with an audit entry; a signed record still verifies."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from dispatch.tables import audit_log
from tests.fixtures_radio import band_noise, headers, wav_bytes
from web import appkeys
from web.auth import Role

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


async def test_expired_audio_deleted_audited_and_signature_still_checks(make_client, stack):
    # ~0.35 s of retention, and no background sweep during the test: the sweep is triggered by hand.
    client = await make_client(env={**stack, "JINGYUN_INTERVIEW_AUDIO_RETENTION_DAYS": "0.000004",
                                    "JINGYUN_RETENTION_SWEEP_SECONDS": "86400"})
    app = client.server.app
    h = headers(app, Role.INTERVIEWER)
    body = {"case_number": "LH-77", "participants": [{"name": "Chen", "role": "interviewer"},
                                                    {"name": "Zhao", "role": "victim"}]}
    rec = await (await client.post("/api/interviews", json=body, headers=h)).json()
    sid = rec["id"]
    await client.post(f"/api/interviews/{sid}/lines", json={"speaker_role": "victim", "text": "He took my bag."},
                      headers=h)
    resp = await client.post(f"/api/interviews/{sid}/audio", data=wav_bytes(band_noise(1.0, 16000, 0.05), 16000),
                             headers={**h, "Content-Type": "audio/wav"})
    recording = (await resp.json())["recording"]
    assert resp.status == 201
    assert (await client.post(f"/api/interviews/{sid}/sign", headers=h)).status == 200

    # Before expiry nothing is deleted; only admins run the sweep by hand.
    resp = await client.post("/api/radio/retention/sweep", headers=headers(app, Role.DISPATCHER))
    assert resp.status == 403
    await asyncio.sleep(0.6)
    resp = await client.post("/api/radio/retention/sweep", headers=headers(app, Role.ADMIN))
    assert resp.status == 200
    assert (await resp.json())["deleted"] == [recording["id"]]
    resp = await client.post("/api/radio/retention/sweep", headers=headers(app, Role.ADMIN))
    assert (await resp.json())["deleted"] == []

    resp = await client.get(f"/api/interviews/{sid}/audio/{recording['id']}", headers=h)
    assert resp.status == 410
    err = (await resp.json())["error"]
    assert err["details"]["sha256"] == recording["sha256"] and "retention" in err["message"]
    listed = (await (await client.get(f"/api/interviews/{sid}/audio", headers=h)).json())["audio"]
    assert listed[0]["deleted_at"] and listed[0]["sha256"] == recording["sha256"]

    report = await (await client.get(f"/api/interviews/{sid}/verify", headers=h)).json()
    assert report["valid"] is True and report["complete"] is False
    assert report["audio"][0]["status"] == "deleted" and report["audio"][0]["match"] is True

    async with app[appkeys.DB].connect() as conn:
        rows = (await conn.execute(sa.select(audit_log).where(audit_log.c.action == "audio.delete"))).all()
    assert len(rows) == 1 and rows[0].target == f"recording:{recording['id']}" and rows[0].actor == "retention"
    chain = await (await client.get("/api/audit/verify", headers=headers(app, Role.ADMIN))).json()
    assert chain["ok"] is True, chain
