"""Interview records end to end on both stacks: create, lines, corrections, sign, lock, verify, export."""

from __future__ import annotations

import io
import json

import pytest
import sqlalchemy as sa

from tests.fixtures_radio import band_noise, headers, wav_bytes
from voice.interview.tables import lines
from web import appkeys
from web.auth import Role

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

BODY = {"case_number": "FT-2024-0117", "title": "Theft at Futian metro", "location": "Interview room 2",
        "language": "zh",
        "participants": [{"name": "王警官", "role": "interviewer"}, {"name": "李明", "role": "witness"}]}


async def _session(client, h):
    resp = await client.post("/api/interviews", json=BODY, headers=h)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def test_record_sign_lock_verify_export(make_client, stack):
    client = await make_client(env=stack)
    app = client.server.app
    h = headers(app, Role.INTERVIEWER, "officer-wang")
    rec = await _session(client, h)
    sid = rec["id"]
    assert rec["state"] == "open" and rec["participants"][1] == {"name": "李明", "role": "witness"}

    texts = [("interviewer", "请说明你看到的情况。"), ("witness", "我看到一个人拿走了手机，往北边跑了。"),
             ("interviewer", "What time was it?")]
    added = []
    for i, (role, text) in enumerate(texts):
        resp = await client.post(f"/api/interviews/{sid}/lines", headers=h,
                                 json={"speaker_role": role, "text": text, "start": i * 5.0, "end": i * 5.0 + 4,
                                       "language": "en" if text.isascii() else "zh"})
        assert resp.status == 201, await resp.text()
        added.append(await resp.json())
    assert [a["seq"] for a in added] == [1, 2, 3]

    # A correction is a version: who, when, before, after; a stale version is refused.
    line = added[1]
    resp = await client.patch(f"/api/interviews/{sid}/lines/{line['id']}", headers=h,
                              json={"text": "我看到一个人拿走了手机，往南边跑了。", "version": 1,
                                    "reason": "witness corrected the direction"})
    assert resp.status == 200, await resp.text()
    edited = await resp.json()
    assert edited["version"] == 2 and "南边" in edited["text"]
    resp = await client.patch(f"/api/interviews/{sid}/lines/{line['id']}", headers=h, json={"text": "x", "version": 1})
    assert resp.status == 409
    assert (await resp.json())["error"]["details"]["current_version"] == 2
    resp = await client.get(f"/api/interviews/{sid}/lines/{line['id']}/versions", headers=h)
    versions = (await resp.json())["versions"]
    assert [(v["version"], v["before"], v["after"]) for v in versions] == [
        (1, None, texts[1][1]), (2, texts[1][1], "我看到一个人拿走了手机，往南边跑了。")]
    assert versions[1]["by"] == "officer-wang" and versions[1]["reason"] == "witness corrected the direction"

    # Audio of the interview is kept as Opus with its hash.
    audio = wav_bytes(band_noise(2.0, 16000, 0.05), 16000)
    resp = await client.post(f"/api/interviews/{sid}/audio", data=audio, headers={**h, "Content-Type": "audio/wav"})
    assert resp.status == 201, await resp.text()
    recording = (await resp.json())["recording"]
    assert recording["codec"] == "opus/ogg" and 1.9 < recording["seconds"] < 2.1

    resp = await client.post(f"/api/interviews/{sid}/sign", headers=h)
    assert resp.status == 200, await resp.text()
    signed = await resp.json()
    sig = signed["signature"]
    assert signed["state"] == "signed" and signed["signed_by"] == "officer-wang" and signed["ended_at"]
    assert sig["audio"] == [{"id": recording["id"], "sha256": recording["sha256"]}]

    # Locked: nothing may change after sign-off.
    for method, path, kwargs in [
        ("POST", f"/api/interviews/{sid}/lines", {"json": {"speaker_role": "witness", "text": "added later"}}),
        ("PATCH", f"/api/interviews/{sid}/lines/{line['id']}", {"json": {"text": "changed", "version": 2}}),
        ("POST", f"/api/interviews/{sid}/audio", {"data": audio, "headers": {**h, "Content-Type": "audio/wav"}}),
        ("POST", f"/api/interviews/{sid}/sign", {}),
        ("POST", f"/api/interviews/{sid}/finish", {}),
    ]:
        resp = await client.request(method, path, headers=kwargs.pop("headers", h), **kwargs)
        assert resp.status == 409, (method, path, await resp.text())
        assert "signed" in (await resp.json())["error"]["message"]

    resp = await client.get(f"/api/interviews/{sid}/verify", headers=h)
    report = await resp.json()
    assert report["valid"] is True and report["complete"] is True
    assert report["text"]["match"] and report["record"]["actual_sha256"] == sig["record_sha256"]
    assert report["audio"][0]["status"] == "present" and report["audio"][0]["match"]

    # The kept audio is what was hashed.
    resp = await client.get(f"/api/interviews/{sid}/audio/{recording['id']}", headers=h)
    assert resp.status == 200 and resp.content_type == "audio/ogg"
    import hashlib
    assert hashlib.sha256(await resp.read()).hexdigest() == recording["sha256"]

    # Exports carry the hash.
    resp = await client.get(f"/api/interviews/{sid}/export?format=txt", headers=h)
    txt = await resp.text()
    assert sig["record_sha256"] in txt and "往南边跑了" in txt and "[corrected" in txt and "DRAFT" not in txt
    resp = await client.get(f"/api/interviews/{sid}/export?format=json", headers=h)
    doc = json.loads(await resp.text())
    assert doc["record"]["signature"]["record_sha256"] == sig["record_sha256"] and not doc["draft"]
    assert any(v["before"] == texts[1][1] for v in doc["versions"])
    resp = await client.get(f"/api/interviews/{sid}/export?format=docx", headers=h)
    assert resp.status == 200
    from docx import Document
    document = Document(io.BytesIO(await resp.read()))
    body = "\n".join(p.text for p in document.paragraphs)
    cells = "\n".join(c.text for row in document.tables[0].rows for c in row.cells)
    assert sig["record_sha256"] in body and "往南边跑了" in cells
    assert sig["record_sha256"] in document.sections[0].footer.paragraphs[0].text
    resp = await client.get(f"/api/interviews/{sid}/export?format=pdf", headers=h)
    assert resp.status == 400 and "txt, json, docx" in (await resp.json())["error"]["message"]

    # Altered behind the API's back (a direct SQL edit): verify says so.
    async with app[appkeys.DB].begin() as conn:
        await conn.execute(sa.update(lines).where(lines.c.id == added[0]["id"]).values(text="请说明情况。"))
    report = await (await client.get(f"/api/interviews/{sid}/verify", headers=h)).json()
    assert report["valid"] is False and report["text"]["match"] is False and report["audio"][0]["match"]


async def test_interview_input_errors_and_roles(make_client):
    client = await make_client()
    app = client.server.app
    h = headers(app, Role.INTERVIEWER)
    for body, field in [({**BODY, "case_number": ""}, "case_number"),
                        ({**BODY, "participants": []}, "participants"),
                        ({**BODY, "participants": [{"name": "李明", "role": "witness"}]}, "participants"),
                        ({**BODY, "participants": [{"name": "A", "role": "judge"}]}, "participants[0].role"),
                        ({**BODY, "started_at": "yesterday"}, "started_at")]:
        resp = await client.post("/api/interviews", json=body, headers=h)
        assert resp.status == 400, body
        err = (await resp.json())["error"]
        assert err["details"]["field"] == field, err
    rec = await _session(client, h)
    resp = await client.post(f"/api/interviews/{rec['id']}/lines", headers=h,
                             json={"speaker_role": "judge", "text": "x"})
    assert resp.status == 400 and "interviewer" in (await resp.json())["error"]["message"]
    resp = await client.post(f"/api/interviews/{rec['id']}/sign", headers=h)
    assert resp.status == 409 and "without any line" in (await resp.json())["error"]["message"]
    resp = await client.get(f"/api/interviews/{rec['id']}/verify", headers=h)
    assert resp.status == 409 and "sign" in (await resp.json())["error"]["message"]
    resp = await client.get("/api/interviews/nope", headers=h)
    assert resp.status == 404
    # Interview records are for interviewers and admins only.
    for role, unit in ((Role.DISPATCHER, None), (Role.OFFICER, "U1"), (Role.KIOSK, None)):
        from tests.conftest import auth
        resp = await client.get(f"/api/interviews/{rec['id']}", headers=auth(app, role, unit))
        assert resp.status == 403, role
    resp = await client.get(f"/api/interviews/{rec['id']}")
    assert resp.status == 401
