"""No silent loss (issue 12): a stream closed for overload reports every utterance it still held, keeps
their audio as gaps, and an interviewer turns a gap line back into words. Real model, Redis, database."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import auth, token_for
from tests.fixtures_voice import load_wav
from voice.engine import AsrEngine

pytestmark = [pytest.mark.model, pytest.mark.redis]


async def _overloaded_interview_stream(client: Any, shared_dir: Path) -> list[dict[str, Any]]:
    """An interview stream sent far faster than real time to a server allowing 1 s of lag."""
    app = client.server.app
    ws = await client.ws_connect(f"/ws/transcribe?token={token_for(app, 'interviewer')}")
    await ws.send_json({"type": "config", "language": "en", "source": "interview"})
    assert (await ws.receive_json(timeout=10))["type"] == "ready"
    samples, _ = load_wav(shared_dir / "audio" / "real" / "en_jfk.wav")
    silence = b"\x00\x00" * 16000
    data = (samples.tobytes() + silence) * 4
    for off in range(0, len(data), 32000):
        await ws.send_bytes(data[off:off + 32000])
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(60):
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                events.append(json.loads(msg.data))
    assert ws.close_code == 1013
    return events


async def test_an_overloaded_stream_reports_every_utterance_and_keeps_the_audio(
        make_client: Any, stack: dict[str, str], asr_engine: AsrEngine, shared_dir: Path) -> None:
    client = await make_client(env={**stack, "JINGYUN_MAX_LAG_SECONDS": "1"}, asr_engine=asr_engine)
    app = client.server.app
    events = await _overloaded_interview_stream(client, shared_dir)
    assert any(e.get("code") == "lagging" for e in events)
    # Every utterance the client heard of ends in exactly one final, dropped or utterance error.
    seen = {e["utterance"] for e in events if "utterance" in e}
    terminal: dict[int, list[str]] = {}
    for e in events:
        if e["type"] in ("final", "dropped") or e.get("code") == "utterance_failed":
            terminal.setdefault(e["utterance"], []).append(e["type"])
    assert seen and set(terminal) == seen and all(len(v) == 1 for v in terminal.values()), (seen, terminal)
    failed = [e for e in events if e.get("code") == "utterance_failed"]
    assert failed, [e["type"] for e in events]
    for e in failed:
        assert e["gap_id"] and e["end"] > e["start"] and "fell" in e["reason"] and "behind" in e["reason"]
    stream_id = failed[0]["stream_id"]

    # The gaps are stored with their audio; interview gaps are the interviewers' only.
    resp = await client.get(f"/api/transcripts/gaps?stream_id={stream_id}", headers=auth(app, "interviewer"))
    gaps = (await resp.json())["gaps"]
    assert {g["id"] for g in gaps} == {e["gap_id"] for e in failed}
    assert all(g["state"] == "open" and g["recording_id"] and g["source"] == "interview" for g in gaps)
    hidden = await (await client.get(f"/api/transcripts/gaps?stream_id={stream_id}",
                                     headers=auth(app, "dispatcher"))).json()
    assert hidden["gaps"] == []

    # The record shows the gap as a line; a re-run turns it into words, keeping the gap as a version.
    session = await (await client.post("/api/interviews", headers=auth(app, "interviewer"), json={
        "case_number": "GAP-1", "participants": [{"role": "interviewer", "name": "王警官"},
                                                 {"role": "interviewee", "name": "张三"}]})).json()
    longest = max(failed, key=lambda e: e["end"] - e["start"])
    resp = await client.post(f"/api/interviews/{session['id']}/lines", headers=auth(app, "interviewer"),
                             json={"gap_id": longest["gap_id"], "speaker_role": "interviewee"})
    assert resp.status == 201, await resp.text()
    line = await resp.json()
    assert line["source"] == "gap" and "not transcribed" in line["text"]
    resp = await client.post(f"/api/interviews/{session['id']}/lines/{line['id']}/rerun",
                             headers=auth(app, "interviewer"))
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["gap"]["state"] == "resolved" and body["line"]["source"] == "asr"
    assert any(w in body["line"]["text"].lower() for w in ("country", "americans", "fellow", "ask")), body
    versions = (await (await client.get(f"/api/interviews/{session['id']}/lines/{line['id']}/versions",
                                        headers=auth(app, "interviewer"))).json())["versions"]
    assert [v["before"] for v in versions if v["version"] == 2] == [line["text"]]
    again = await client.post(f"/api/interviews/{session['id']}/lines/{line['id']}/rerun",
                              headers=auth(app, "interviewer"))
    assert again.status == 404  # no longer a gap line

    # The transcript segment now exists as if it had come live; the outcome counter saw the errors.
    listed = await (await client.get(f"/api/transcripts?stream_id={stream_id}",
                                     headers=auth(app, "interviewer"))).json()
    assert longest["utterance"] in {t["utterance"] for t in listed["transcripts"]}
    metrics = await (await client.get("/metrics", headers=auth(app, "service"))).text()
    assert 'jingyun_utterances_total{outcome="error",source="interview"}' in metrics


async def test_a_gap_retry_is_refused_clearly(make_client: Any, asr_engine: AsrEngine) -> None:
    client = await make_client(asr_engine=asr_engine)
    app = client.server.app
    resp = await client.post("/api/transcripts/gaps/nope/retry", headers=auth(app, "dispatcher"))
    assert resp.status == 404 and "nope" in (await resp.json())["error"]["message"]
    resp = await client.get("/api/transcripts/gaps?state=lost", headers=auth(app, "dispatcher"))
    assert resp.status == 400 and "open" in (await resp.json())["error"]["message"]
    resp = await client.get("/api/transcripts/gaps", headers=auth(app, "kiosk"))
    assert resp.status == 403
