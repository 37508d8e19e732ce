"""Call audio → incident (issue 12, item 5), end to end: a real Mandarin clip streamed to /ws/transcribe
as a call through the multilingual base model, real Redis, SQLite and PostgreSQL.

The call record gets the transcript (with the stored transcript row of each final) and a triage
result; consoles get call events; the call becomes an incident (text, transcripts, audio link) or is
attached to an open one found by the duplicate scorer; the caller's audio is kept as Opus.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from dispatch import keys
from tests.conftest import auth, token_for
from tests.fixtures_dispatch import DispatchApi
from tests.fixtures_voice import load_wav
from web import appkeys
from web.auth import Role

pytestmark = [pytest.mark.model, pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

# 我父亲晕倒了，没有呼吸，请快派人来。 (Of the synthetic Mandarin clips this is the one the base model
# transcribes well enough, streamed, for the scorer to find the incident.)
COLLAPSE = "audio/synthetic/zh_radio_06.wav"


async def _call(client: Any, config: dict[str, Any], wav: Path | None, role: Role = Role.DISPATCHER,
                silence_s: float = 0.0) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Stream ``wav`` as a call (faster than real time); returns (ready, events up to "closed")."""
    ws = await client.ws_connect(f"/ws/transcribe?token={token_for(client.server.app, role)}")
    await ws.send_json({"type": "config", "kind": "call", **config})
    ready = await ws.receive_json(timeout=10)
    assert ready["type"] == "ready", ready
    samples, rate = load_wav(wav) if wav else (None, config.get("sample_rate", 16000))
    data = samples.tobytes() if samples is not None else b"\0\0" * int(rate * silence_s)
    step = rate * 2 // 10
    for off in range(0, len(data), step):
        await ws.send_bytes(data[off:off + step])
        await asyncio.sleep(0.01)
    await ws.send_json({"type": "end"})
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(120):
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                events.append(json.loads(msg.data))
                if events[-1]["type"] == "closed":
                    break
    await ws.close()
    return ready, events


async def _ended(api: DispatchApi, call_id: str) -> dict[str, Any]:
    """The call once its stream has closed and its audio is stored (that happens after "closed")."""
    for _ in range(200):
        call: dict[str, Any] = await api.call("GET", f"/api/calls/{call_id}")
        if not call["live"]:
            return call
        await asyncio.sleep(0.1)
    raise AssertionError(f"call {call_id} still live: {call}")


class ConsoleEvents:
    """What every console receives: the real pub/sub channel of the app."""

    def __init__(self, app: Any) -> None:
        self.pubsub = app[appkeys.REDIS].pubsub()
        self.channel = keys.console_channel(app[appkeys.SETTINGS].redis_prefix)
        self.events: list[dict[str, Any]] = []

    async def __aenter__(self) -> ConsoleEvents:
        await self.pubsub.subscribe(self.channel)
        self.task = asyncio.ensure_future(self._read())
        return self

    async def _read(self) -> None:
        async for msg in self.pubsub.listen():
            if msg["type"] == "message":
                self.events.append(json.loads(msg["data"]))

    def calls(self, action: str) -> list[dict[str, Any]]:
        return [e["call"] for e in self.events if e.get("type") == "call" and e.get("action") == action]

    async def __aexit__(self, *exc: object) -> None:
        self.task.cancel()
        await self.pubsub.aclose()


async def test_call_becomes_an_incident(make_client: Any, asr_engine_base: Any, shared_dir: Path,
                                        stack: dict[str, str]) -> None:
    client = await make_client(env=stack, asr_engine=asr_engine_base)
    app = client.server.app
    api = DispatchApi(client)
    caller = {"number": "13800138000", "location": "建设街42号", "lat": 22.545, "lon": 114.06}
    async with ConsoleEvents(app) as console:
        ready, events = await _call(client, {"language": "zh", "caller": caller}, shared_dir / COLLAPSE)
        call = await _ended(api, ready["call_id"])
        await asyncio.sleep(0.3)
    assert ready["kind"] == "call"
    finals = [e for e in events if e["type"] == "final"]
    assert finals and events[-1]["type"] == "closed"

    # The record: caller, ordered finals with their stored transcript rows, the whole transcript scored.
    assert call["caller"] == caller and call["state"] == "ended" and call["stream_id"] == ready["stream_id"]
    assert [f["text"] for f in call["finals"]] == [f["text"] for f in finals]
    assert all(f["transcript_id"] for f in call["finals"])
    stored = await api.call("GET", f"/api/transcripts?stream_id={ready['stream_id']}")
    assert [str(t["id"]) for t in stored["transcripts"]] == [f["transcript_id"] for f in call["finals"]]
    assert "没有呼吸" in call["transcript"]
    assert call["category"] == "medical" and call["level"] == "P1" and call["priority"] >= 8
    assert call["reasons"] and call["facts"]
    assert call["audio"]["recording_id"] and call["audio"]["note"] is None
    assert call["audio"]["kept_seconds"] == call["audio"]["received_seconds"] > 4

    # Consoles saw the call start, grow and end.
    assert console.calls("started")[0]["id"] == call["id"]
    updated = console.calls("updated")
    assert updated and updated[-1]["category"] == "medical" and updated[-1]["transcript"] == call["transcript"]
    assert console.calls("ended")[-1]["id"] == call["id"]

    # The caller's audio, as kept: Opus in OGG with its hash.
    resp = await client.get(f"/api/calls/{call['id']}/audio", headers=auth(app, Role.DISPATCHER))
    body = await resp.read()
    assert resp.status == 200 and resp.content_type == "audio/ogg" and body[:4] == b"OggS"
    assert resp.headers["X-Audio-SHA256"] == hashlib.sha256(body).hexdigest()

    # One click: the incident, with the transcript as text, every transcript linked, the audio linked.
    made = await api.call("POST", f"/api/calls/{call['id']}/incident", 201)
    incident = made["incident"]
    assert made["call"]["state"] == "incident" and made["call"]["incident_id"] == incident["id"]
    assert incident["text"] == call["transcript"] and incident["source"] == "call"
    assert incident["category"] == "medical" and incident["level"] == "P1"
    assert incident["transcripts"] == [f["transcript_id"] for f in call["finals"]]
    assert incident["report"]["call"]["audio_url"] == f"/api/calls/{call['id']}/audio"
    assert incident["location"]["text"] == "建设街42号" and incident["location"]["lat"] == 22.545
    again = await api.call("POST", f"/api/calls/{call['id']}/incident", 409)
    assert again["error"]["details"]["incident_id"] == incident["id"]
    listed = await api.call("GET", "/api/calls")
    assert listed["calls"][0]["id"] == call["id"] and listed["calls"][0]["state"] == "incident"


async def test_call_attached_to_an_open_incident(make_client: Any, asr_engine_base: Any, shared_dir: Path,
                                                 stack: dict[str, str]) -> None:
    client = await make_client(env={**stack, "JINGYUN_CALL_MAX_AUDIO_SECONDS": "3"}, asr_engine=asr_engine_base)
    api = DispatchApi(client)
    first = await api.call("POST", "/api/incidents", 201, json={
        "text": "有位老人在家晕倒了，没有呼吸", "source": "phone"})
    other = await api.call("POST", "/api/incidents", 201, json={"text": "梅林一村有人家里漏水", "source": "phone"})
    ready, _events = await _call(client, {"language": "zh"}, shared_dir / COLLAPSE)
    call = await _ended(api, ready["call_id"])
    assert "没有呼吸" in call["transcript"] and call["category"] == "medical"
    # Only the first 3 s of audio are kept, and the record says so.
    assert call["audio"]["kept_seconds"] == 3.0 and call["audio"]["received_seconds"] > 4
    assert "only the first 3 s" in call["audio"]["note"]

    dups = (await api.call("GET", f"/api/calls/{call['id']}/duplicates"))["duplicates"]
    # (On PostgreSQL the session's database also holds the other test's open medical incident.)
    match = next(d for d in dups if d["incident_id"] == first["id"])
    assert match["number"] == first["number"] and any("same category" in e for e in match["evidence"])
    assert other["id"] not in {d["incident_id"] for d in dups}

    done = await api.call("POST", f"/api/calls/{call['id']}/attach", 200, json={"incident_id": first["id"]})
    assert done["call"]["state"] == "attached" and done["call"]["incident_id"] == first["id"]
    incident = await api.call("GET", f"/api/incidents/{first['id']}")
    assert incident["texts"][-1]["text"] == call["transcript"] and incident["texts"][-1]["source"] == "call"
    assert incident["transcripts"] == [f["transcript_id"] for f in call["finals"]]
    await api.call("POST", f"/api/calls/{call['id']}/attach", 409, json={"incident_id": other["id"]})
    of_incident = (await api.call("GET", f"/api/calls?incident_id={first['id']}"))["calls"]
    assert [c["id"] for c in of_incident] == [call["id"]]

    # A call with nothing said: attaching to an unknown incident is 404, making an incident 409.
    ready, events = await _call(client, {}, None, silence_s=1.0)
    assert not [e for e in events if e["type"] == "final"]
    await _ended(api, ready["call_id"])
    err = await api.call("POST", f"/api/calls/{ready['call_id']}/attach", 404, json={"incident_id": "nope"})
    assert "nope" in err["error"]["message"]
    err = await api.call("POST", f"/api/calls/{ready['call_id']}/incident", 409)
    assert err["error"]["code"] == "empty"
    await api.call("POST", f"/api/calls/{ready['call_id']}/attach", 400, json={"incident": first["id"]})
    await api.call("GET", "/api/calls/unknown", 404)
    await api.call("GET", "/api/calls/a%00b", 404)
    await api.call("POST", f"/api/calls/{ready['call_id']}/attach", 404, json={"incident_id": "a\u0000b"})
    await api.call("GET", "/api/calls?incident_id=a%00b", 400)


async def test_speech_after_the_incident_joins_it(make_client: Any, asr_engine_base: Any, shared_dir: Path) -> None:
    """The dispatcher clicks while the caller is still talking: what is said next goes to the incident."""
    client = await make_client(asr_engine=asr_engine_base)
    api = DispatchApi(client)
    ws = await client.ws_connect(f"/ws/transcribe?token={token_for(client.server.app, Role.SERVICE)}")
    await ws.send_json({"type": "config", "kind": "call", "language": "zh", "partials": False})
    ready = await ws.receive_json(timeout=10)
    samples, _rate = load_wav(shared_dir / COLLAPSE)

    async def say() -> dict[str, Any]:
        data = samples.tobytes() + b"\0\0" * 16000  # the utterance, then a second of silence ends it
        for off in range(0, len(data), 3200):
            await ws.send_bytes(data[off:off + 3200])
            await asyncio.sleep(0.01)
        while True:
            msg = await ws.receive_json(timeout=60)
            if msg["type"] == "final":
                return msg

    await say()
    for _ in range(100):  # the final is stored, then added to the call
        call = await api.call("GET", f"/api/calls/{ready['call_id']}")
        if call["finals"]:
            break
        await asyncio.sleep(0.1)
    made = await api.call("POST", f"/api/calls/{ready['call_id']}/incident", 201)
    assert made["call"]["live"] and made["call"]["state"] == "incident"
    first_text = made["incident"]["text"]
    second = await say()
    await ws.send_json({"type": "end"})
    await ws.close()
    call = await _ended(api, ready["call_id"])
    assert call["state"] == "incident" and len(call["finals"]) == 2
    incident = await api.call("GET", f"/api/incidents/{made['incident']['id']}")
    assert incident["transcripts"] == [f["transcript_id"] for f in call["finals"]]
    assert incident["text"] == f"{first_text}\n{second['text']}"


async def test_call_refusals(make_client: Any, asr_engine_base: Any) -> None:
    client = await make_client(asr_engine=asr_engine_base)
    app = client.server.app
    # Interview speech never becomes a console call card.
    ws = await client.ws_connect(f"/ws/transcribe?token={token_for(app, Role.INTERVIEWER)}")
    await ws.send_json({"type": "config", "kind": "call"})
    err = await ws.receive_json(timeout=10)
    assert err["type"] == "error" and err["code"] == "bad_config" and "interviewer" in err["message"]
    assert (await ws.receive(timeout=10)).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    # Nor does a stream that says it is interview speech.
    ws = await client.ws_connect(f"/ws/transcribe?token={token_for(app, Role.DISPATCHER)}")
    await ws.send_json({"type": "config", "kind": "call", "source": "interview"})
    err = await ws.receive_json(timeout=10)
    assert err["code"] == "bad_config" and "interview" in err["message"]
    # A bad caller is named, field and what is accepted.
    ws = await client.ws_connect(f"/ws/transcribe?token={token_for(app, Role.SERVICE)}")
    await ws.send_json({"type": "config", "kind": "call", "caller": {"number": "unknown"}})
    err = await ws.receive_json(timeout=10)
    assert err["code"] == "bad_config" and "caller.number" in err["message"]
    # Reading and acting on calls is for dispatchers and admins.
    for role in (Role.SERVICE, Role.OFFICER, Role.INTERVIEWER, Role.KIOSK):
        resp = await client.get("/api/calls", headers=auth(app, role, "u1" if role is Role.OFFICER else None))
        assert resp.status == 403, role
    assert (await client.get("/api/calls")).status == 401
    resp = await client.get("/api/calls", headers=auth(app, Role.ADMIN))
    assert resp.status == 200 and (await resp.json())["calls"] == []  # no record of a refused call
    assert (await client.get("/api/calls?state=open", headers=auth(app, Role.ADMIN))).status == 400


async def test_call_routes_documented_with_roles(client: Any) -> None:
    from web.auth import route_roles

    app = client.server.app
    doc = await (await client.get("/api/openapi.json", headers=auth(app, Role.DISPATCHER))).json()
    mine = [r for r in app.router.routes() if r.method != "HEAD" and r.resource is not None
            and r.resource.canonical.startswith("/api/calls")]
    assert len(mine) == 6
    for route in mine:
        path = route.resource.canonical
        assert set(route_roles(route)) == {Role.DISPATCHER, Role.ADMIN}, path
        assert route.method.lower() in doc["paths"].get(path, {}), f"{route.method} {path} not in the OpenAPI document"
    assert "Call" in doc["components"]["schemas"]


async def test_a_call_whose_server_process_died_is_ended(client: Any) -> None:
    """A process killed mid-call leaves its call "live"; the sweep (any process) ends it, saying why."""
    import datetime as dt

    from voice.calls.tables import calls as calls_table
    from web.api.calls import CALLS

    app = client.server.app
    api = DispatchApi(client)
    svc = app[CALLS]
    dead = await svc.start(stream_id="s-dead", caller=None, language="zh", opened_by="gw", sample_rate=16000)
    alive = await svc.start(stream_id="s-alive", caller=None, language="zh", opened_by="gw", sample_rate=16000)
    dead.task.cancel()  # the process holding it is gone: no end(), no heartbeat
    dead.beat.cancel()
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    async with app[appkeys.DB].begin() as conn:
        await conn.execute(calls_table.update().where(calls_table.c.id == dead.id).values(updated_at=long_ago))
    assert await svc.end_lost() == [dead.id]
    assert await svc.end_lost() == []  # once
    call = await api.call("GET", f"/api/calls/{dead.id}")
    assert (call["live"], call["state"]) == (False, "ended") and call["end_reason"].startswith("lost:")
    assert "lost" in call["audio"]["note"]
    assert (await api.call("GET", f"/api/calls/{alive.id}"))["live"] is True
    await alive.end("end of audio")
    assert (await api.call("GET", f"/api/calls/{alive.id}"))["state"] == "ended"
