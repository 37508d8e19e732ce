"""Degraded modes: what still works, and what /readyz says, when a dependency is gone.

* The ASR model failed to load: /readyz says why (503), every voice endpoint answers 503 with the
  reason and the fix, and dispatch works end to end.
* Redis unreachable (a private redis-server killed under a real server process): /readyz names
  Redis as not ready; orders given meanwhile are kept in the database and reach the officer's phone
  when Redis is back; nothing is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import auth, token_for
from tests.fixtures_dispatch import DispatchApi
from tests.reliability.helpers import RedisProcess, ServerProcess
from web.auth import issue_token

pytestmark = pytest.mark.redis


async def test_model_failed_to_load_voice_says_503_dispatch_works(make_client: Any, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    client = await make_client(env={"JINGYUN_LOAD_MODEL": "1", "JINGYUN_MODEL": str(missing)})
    app = client.server.app
    ready: dict[str, Any] = {}
    async with asyncio.timeout(30):
        while True:
            resp = await client.get("/readyz")
            ready = await resp.json()
            model = ready["components"]["model"]
            if model["status"] == "not_ready" and "loading" not in model["detail"]:
                break
            await asyncio.sleep(0.2)
    assert resp.status == 503 and not ready["ready"]
    assert "fix" in model["detail"], model
    assert ready["components"]["redis"]["status"] == "ready" and ready["components"]["database"]["status"] == "ready"
    # Voice endpoints: 503 with the reason.
    try:
        ws = await client.ws_connect(f"/ws/transcribe?token={token_for(app, 'dispatcher')}")
    except aiohttp.WSServerHandshakeError as exc:
        assert exc.status == 503
    else:
        first = await ws.receive(timeout=10)
        await ws.close()
        raise AssertionError(f"/ws/transcribe opened without a model: {first}")
    form = aiohttp.FormData()
    form.add_field("file", b"RIFF....WAVE", filename="a.wav", content_type="audio/wav")
    form.add_field("model", "whisper-1")
    resp = await client.post("/v1/audio/transcriptions", data=form, headers=auth(app, "service"))
    assert resp.status == 503
    body = await resp.json()
    assert "failed to load" in body["error"]["message"], body
    # Dispatch is untouched.
    api = DispatchApi(client)
    unit = (await api.unit("Degraded 1"))["id"]
    sock = await api.unit_ws(unit)
    incident = (await api.incident())["id"]
    order = await api.dispatch(incident, unit)
    got = await sock.orders(1)
    assert got[0]["id"] == order["id"]
    await sock.send({"type": "ack", "order_id": order["id"]})
    assert (await sock.next("acked"))["order_id"] == order["id"]
    await sock.close()


SECRET = "degraded-secret-" + "d" * 30


async def _readyz(http: aiohttp.ClientSession, base: str) -> tuple[int, dict[str, Any]]:
    async with http.get(base + "/readyz") as resp:
        return resp.status, await resp.json()


@pytest.mark.slow
async def test_redis_unreachable_orders_wait_in_the_database(tmp_path: Path) -> None:
    redis = RedisProcess(tmp_path / "redis")
    redis.start()
    server = ServerProcess({"REDIS_URL": redis.url, "JINGYUN_SECRET": SECRET, "JINGYUN_REDIS_PREFIX": "jydeg:",
                            "JINGYUN_DATA_DIR": str(tmp_path / "data"), "JINGYUN_ORDER_REDELIVERY": "1",
                            "JINGYUN_ACK_TIMEOUT": "600", "JINGYUN_DISPATCH_SWEEP_INTERVAL": "0.2"},
                           tmp_path / "server.log")
    server.start()
    dispatcher = {"Authorization": f"Bearer {issue_token(SECRET, 'dispatcher')}"}
    received: list[str] = []
    try:
        await server.wait_ready()
        async with aiohttp.ClientSession(server.base) as http:
            async def post(path: str, body: dict[str, Any], expect: int = 201) -> dict[str, Any]:
                async with http.post(path, json=body, headers=dispatcher) as resp:
                    text = await resp.text()
                    assert resp.status == expect, f"{path}: {resp.status} {text}"
                    data: dict[str, Any] = json.loads(text)
                    return data

            units = [(await post("/api/units", {"callsign": f"Deg {i}", "unit_type": "patrol_car",
                                                "capabilities": ["patrol"], "lat": 22.5, "lon": 114.0}))["id"]
                     for i in range(3)]
            stop = asyncio.Event()

            async def phone(unit: str) -> None:
                tok = issue_token(SECRET, "officer", unit_id=unit)
                while not stop.is_set():
                    with contextlib.suppress(aiohttp.ClientError, OSError):
                        async with http.ws_connect(f"/ws/unit?token={tok}", heartbeat=2) as ws:
                            async for msg in ws:
                                if msg.type is not aiohttp.WSMsgType.TEXT:
                                    break
                                data = json.loads(msg.data)
                                if data["type"] == "order" and data["order"]["id"] not in received:
                                    received.append(data["order"]["id"])
                    await asyncio.sleep(0.2)

            phones = [asyncio.ensure_future(phone(u)) for u in units]
            redis.stop(signal.SIGKILL)
            status, ready = await _readyz(http, server.base)
            assert status == 503 and ready["components"]["redis"]["status"] == "not_ready", ready
            # The live-event subscription is gone too, and /readyz (so the console) says so.
            async with asyncio.timeout(15):
                while ready["components"]["dispatch"]["status"] != "not_ready":
                    await asyncio.sleep(0.2)
                    status, ready = await _readyz(http, server.base)
            assert "consoles may miss updates" in ready["components"]["dispatch"]["detail"]
            created = []
            for unit in units:
                inc = await post("/api/incidents", {"text": "Robbery at the bank on Shennan Road", "source": "call"})
                order = await post(f"/api/incidents/{inc['id']}/dispatch", {"unit_id": unit})
                assert order.get("queued") is True, order  # kept in the database, said so
                created.append(order["id"])
            redis.start()
            async with asyncio.timeout(30):
                while not set(created) <= set(received):  # noqa: ASYNC110 (filled by other tasks)
                    await asyncio.sleep(0.2)
            stop.set()
            for p in phones:
                p.cancel()
            status, ready = await _readyz(http, server.base)
            assert ready["components"]["redis"]["status"] == "ready"
            async with asyncio.timeout(15):
                while ready["components"]["dispatch"]["status"] != "ready":
                    await asyncio.sleep(0.2)
                    status, ready = await _readyz(http, server.base)
    finally:
        server.kill(signal.SIGTERM)
        redis.stop()
    assert set(created) <= set(received)


def _wav(seconds: float = 1.0) -> bytes:
    import io
    import wave

    import numpy as np

    t = np.arange(int(16000 * seconds)) / 16000
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes())
    return buf.getvalue()


INTERVIEW = {"case_number": "FT-DISK-1", "title": "disk test", "language": "zh",
             "participants": [{"name": "王警官", "role": "interviewer"}, {"name": "李明", "role": "witness"}]}


async def _interview_audio(client: Any) -> tuple[dict[str, str], dict[str, Any], Any]:
    """Open an interview and upload a second of audio to it: (headers, session, the upload's response)."""
    headers = auth(client.server.app, "interviewer")
    session = await (await client.post("/api/interviews", json=INTERVIEW, headers=headers)).json()
    resp = await client.post(f"/api/interviews/{session['id']}/audio", data=_wav(),
                             headers={**headers, "Content-Type": "audio/wav"})
    return headers, session, resp


async def test_disk_nearly_full_refuses_audio_not_dispatch(make_client: Any) -> None:
    """A reserve larger than the disk stands in for a full disk: the real free-space check decides."""
    client = await make_client(env={"JINGYUN_AUDIO_MIN_FREE_MB": str(10**9)})
    headers, session, resp = await _interview_audio(client)
    assert resp.status == 507, await resp.text()
    body = await resp.json()
    assert body["error"]["code"] == "insufficient_storage" and "disk is nearly full" in body["error"]["message"]
    ready = await (await client.get("/readyz")).json()
    assert ready["components"]["disk"]["status"] == "not_ready", ready
    # Typed lines (small rows) and dispatch still work.
    line = await client.post(f"/api/interviews/{session['id']}/lines", headers=headers,
                             json={"speaker_role": "interviewer", "text": "请说明情况。"})
    assert line.status == 201, await line.text()
    api = DispatchApi(client)
    unit = (await api.unit("Disk 1"))["id"]
    await api.dispatch((await api.incident())["id"], unit)


async def test_disk_with_room_keeps_audio(make_client: Any) -> None:
    client = await make_client(env={"JINGYUN_AUDIO_MIN_FREE_MB": "1"})
    _headers, _session, resp = await _interview_audio(client)
    assert resp.status == 201, await resp.text()
    ready = await (await client.get("/readyz")).json()
    assert ready["components"].get("disk", {"status": "ready"})["status"] == "ready"


@pytest.mark.model
async def test_disk_nearly_full_radio_text_still_dispatched_audio_not_kept(make_client: Any, asr_engine: Any,
                                                                           shared_dir: Path) -> None:
    """A radio call is evidence and work: with the disk nearly full its text is still filed; only its audio
    is not kept (the recorder is not told to retry, or it would pile up)."""
    client = await make_client(env={"JINGYUN_AUDIO_MIN_FREE_MB": str(10**9)}, asr_engine=asr_engine)
    app = client.server.app
    audio = (shared_dir / "audio/synthetic/en_radio_06.wav").read_bytes()
    form = aiohttp.FormData()
    form.add_field("audio", audio, filename="9-1714564800_774031250.wav", content_type="audio/x-wav")
    for k, v in {"dateTime": "1714564800", "frequency": "774031250", "source": "4424000", "system": "11",
                 "talkgroup": "54241", "talkgroupLabel": "PD Dispatch 1"}.items():
        form.add_field(k, v)
    resp = await client.post("/api/call-upload", data=form, headers=auth(app, "service"))
    assert resp.status == 200, await resp.text()
    tx_id = resp.headers["X-Transmission-Id"]
    tx = await (await client.get(f"/api/radio/transmissions/{tx_id}", headers=auth(app, "dispatcher"))).json()
    assert "not breathing" in tx["text"].lower(), tx
    resp = await client.get(f"/api/radio/transmissions/{tx_id}/audio", headers=auth(app, "dispatcher"))
    assert resp.status in (404, 410), resp.status
    ready = await (await client.get("/readyz")).json()
    assert ready["components"]["disk"]["status"] == "not_ready"
