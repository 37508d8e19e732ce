"""Interview lines from real speech: bound to /ws/transcribe segments, or transcribed from the uploaded recording."""

from __future__ import annotations

import pytest

from tests.fixtures_radio import headers, read_wav, to_pcm
from web.auth import Role

pytestmark = [pytest.mark.redis, pytest.mark.model]


async def test_asr_lines_are_the_models_words_and_corrections_are_versions(make_client, asr_engine, shared_dir):
    client = await make_client(asr_engine=asr_engine)
    app = client.server.app
    h = headers(app, Role.INTERVIEWER, "interviewer-li")
    body = {"case_number": "NS-2024-33", "language": "en",
            "participants": [{"name": "Li", "role": "interviewer"}, {"name": "J. Kennedy", "role": "witness"}]}
    sid = (await (await client.post("/api/interviews", json=body, headers=h)).json())["id"]

    # The room's microphone streams to /ws/transcribe; the page binds the finals to the record.
    samples, rate = read_wav(shared_dir / "audio/real/en_jfk.wav")
    token = h["Authorization"][7:]
    ws = await client.ws_connect(f"/ws/transcribe?token={token}")
    await ws.send_json({"type": "config", "sample_rate": rate, "encoding": "pcm_s16le", "language": "en",
                        "partials": False})
    ready = await ws.receive_json(timeout=10)
    stream_id = ready["stream_id"]
    step = rate // 5
    for off in range(0, samples.size, step):
        await ws.send_bytes(to_pcm(samples[off:off + step]))
    await ws.send_json({"type": "end"})
    finals = []
    while True:
        msg = await ws.receive_json(timeout=60)
        if msg["type"] == "final":
            finals.append(msg)
        if msg["type"] == "closed":
            break
    await ws.close()
    assert finals, "the stream produced no final segment"

    first = finals[0]
    resp = await client.post(f"/api/interviews/{sid}/lines", headers=h,
                             json={"stream_id": stream_id, "utterance": first["utterance"], "speaker_role": "witness"})
    assert resp.status == 201, await resp.text()
    line = await resp.json()
    assert line["text"] == first["text"] and line["source"] == "asr" and line["version"] == 1
    assert line["origin"] == f"stream:{stream_id}:{first['utterance']}"
    # The client cannot put other words in the model's mouth.
    resp = await client.post(f"/api/interviews/{sid}/lines", headers=h,
                             json={"stream_id": stream_id, "utterance": first["utterance"], "speaker_role": "witness",
                                   "text": "I confess."})
    assert resp.status == 400 and "PATCH" in (await resp.json())["error"]["message"]
    # Binding the whole stream adds the rest once.
    resp = await client.post(f"/api/interviews/{sid}/streams", headers=h,
                             json={"stream_id": stream_id, "speaker_role": "witness"})
    assert resp.status == 201, await resp.text()
    record = await (await client.get(f"/api/interviews/{sid}", headers=h)).json()
    assert [ln["text"] for ln in record["lines"]] == [f["text"] for f in finals]
    spoken = " ".join(ln["text"] for ln in record["lines"]).lower()
    assert "ask not what your country can do for you" in spoken

    # The recording itself, uploaded and transcribed into the record.
    resp = await client.post(f"/api/interviews/{sid}/audio?transcribe=true&speaker_role=witness&offset=30", headers=h,
                             data=(shared_dir / "audio/real/en_jfk.wav").read_bytes())
    assert resp.status == 201, await resp.text()
    uploaded = await resp.json()
    assert uploaded["lines"] and all(ln["start"] >= 30 for ln in uploaded["lines"])
    assert "what you can do for your country" in " ".join(ln["text"] for ln in uploaded["lines"]).lower()

    # A correction keeps what the model said as version 1.
    target = uploaded["lines"][0]
    resp = await client.patch(f"/api/interviews/{sid}/lines/{target['id']}", headers=h,
                              json={"text": target["text"] + " (applause)", "version": 1, "reason": "noted"})
    assert resp.status == 200
    versions = (await (await client.get(f"/api/interviews/{sid}/lines/{target['id']}/versions",
                                        headers=h)).json())["versions"]
    assert versions[0]["after"] == target["text"] and versions[0]["reason"] == "recorded (asr)"
    assert versions[1]["before"] == target["text"] and versions[1]["by"] == "interviewer-li"
    resp = await client.post(f"/api/interviews/{sid}/sign", headers=h)
    assert resp.status == 200
    assert (await (await client.get(f"/api/interviews/{sid}/verify", headers=h)).json())["valid"] is True
