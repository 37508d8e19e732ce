"""/ws/transcribe end to end: real model, real Redis, SQLite and PostgreSQL, errors and limits."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from dispatch import keys
from tests.conftest import auth, token_for
from tests.fixtures_voice import load_wav, wer
from voice.engine import AsrEngine
from web import appkeys

pytestmark = [pytest.mark.model, pytest.mark.redis]

JFK_REF = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."


async def _open(client: Any, role: str = "dispatcher", path: str = "/ws/transcribe") -> aiohttp.ClientWebSocketResponse:
    token = token_for(client.server.app, role)
    ws: aiohttp.ClientWebSocketResponse = await client.ws_connect(f"{path}?token={token}")
    return ws


async def _send_wav(ws: aiohttp.ClientWebSocketResponse, path: Path, chunk_ms: int = 100,
                    pace: float = 0.02) -> None:
    samples, rate = load_wav(path)
    data = samples.tobytes()
    step = rate * 2 * chunk_ms // 1000
    for off in range(0, len(data), step):
        await ws.send_bytes(data[off:off + step])
        await asyncio.sleep(pace)


async def _collect(ws: aiohttp.ClientWebSocketResponse, limit_s: float = 60) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(limit_s):
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                out.append(json.loads(msg.data))
                if out[-1]["type"] == "closed":
                    break
    return out


async def _transcribe_file(client: Any, path: Path, config: dict[str, Any]) -> list[dict[str, Any]]:
    ws = await _open(client)
    await ws.send_json({"type": "config", **config})
    ready = await ws.receive_json(timeout=10)
    assert ready["type"] == "ready", ready
    reader = asyncio.ensure_future(_collect(ws))
    await _send_wav(ws, path)
    await ws.send_json({"type": "end"})
    events = [ready, *await reader]
    await ws.close()
    return events


async def test_stream_is_transcribed_stored_published_and_listed(make_client: Any, stack: dict[str, str],
                                                                 asr_engine: AsrEngine, shared_dir: Path) -> None:
    client = await make_client(env=stack, asr_engine=asr_engine)
    app = client.server.app
    pubsub = app[appkeys.REDIS].pubsub()
    await pubsub.subscribe(keys.console_channel(app[appkeys.SETTINGS].redis_prefix))
    events = await _transcribe_file(client, shared_dir / "audio" / "real" / "en_jfk.wav",
                                    {"sample_rate": 16000, "language": "en", "source": "radio-gw-1",
                                     "channel": "patrol-1"})
    kinds = [e["type"] for e in events]
    assert kinds[0] == "ready" and kinds[-1] == "closed", kinds
    assert events[0]["model"] == "tiny.en" and events[0]["language"] == "en"
    finals = [e for e in events if e["type"] == "final"]
    text = " ".join(f["text"] for f in finals)
    assert wer(JFK_REF, text) <= 0.05, text
    assert finals[0]["start_utc"].endswith("Z") and finals[0]["words"]
    assert events[-1]["segments"] == len(finals) and events[-1]["reason"] == "end of audio"

    published: list[dict[str, Any]] = []
    async with asyncio.timeout(10):
        while len([p for p in published if p.get("final")]) < len(finals):
            msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if msg:
                published.append(json.loads(msg["data"]))
    await pubsub.aclose()
    final_pub = [p for p in published if p["final"]]
    assert final_pub[0]["type"] == "transcript" and final_pub[0]["channel"] == "patrol-1"
    assert final_pub[0]["source"] == "radio-gw-1" and final_pub[0]["text"] == finals[0]["text"]
    assert {"stream_id", "language", "start", "end", "start_utc", "end_utc"} <= set(final_pub[0])

    resp = await client.get("/api/transcripts?channel=patrol-1", headers=auth(app, "interviewer"))
    body = await resp.json()
    assert resp.status == 200 and body["count"] == len(finals)
    assert body["transcripts"][0]["text"] == finals[0]["text"]
    assert body["transcripts"][0]["stream_id"] == events[0]["stream_id"]
    later = await client.get("/api/transcripts", params={"channel": "patrol-1", "since": "2999-01-01T00:00:00Z"},
                             headers=auth(app, "dispatcher"))
    assert (await later.json())["count"] == 0
    other = await client.get("/api/transcripts?channel=nobody", headers=auth(app, "admin"))
    assert (await other.json())["count"] == 0


async def test_transcripts_query_errors_and_roles(make_client: Any, asr_engine: AsrEngine) -> None:
    client = await make_client(asr_engine=asr_engine)
    app = client.server.app
    bad = await client.get("/api/transcripts?since=yesterday", headers=auth(app, "dispatcher"))
    assert bad.status == 400 and "ISO 8601" in (await bad.json())["error"]["message"]
    bad_limit = await client.get("/api/transcripts?limit=0", headers=auth(app, "dispatcher"))
    assert bad_limit.status == 400 and "1 to 1000" in (await bad_limit.json())["error"]["message"]
    officer = await client.get("/api/transcripts", headers=auth(app, "officer", "u1"))
    assert officer.status == 403
    anonymous = await client.get("/api/transcripts")
    assert anonymous.status == 401


async def test_two_concurrent_streams(make_client: Any, asr_engine: AsrEngine, shared_dir: Path) -> None:
    client = await make_client(asr_engine=asr_engine)
    a, b = await asyncio.gather(
        _transcribe_file(client, shared_dir / "audio" / "real" / "en_jfk.wav", {"language": "en", "channel": "a"}),
        _transcribe_file(client, shared_dir / "audio" / "synthetic" / "en_radio_06.wav",
                         {"language": "en", "channel": "b"}))
    text_a = " ".join(e["text"] for e in a if e["type"] == "final")
    text_b = " ".join(e["text"] for e in b if e["type"] == "final")
    assert wer(JFK_REF, text_a) <= 0.05, text_a
    assert "breathing" in text_b.lower(), text_b
    assert a[0]["stream_id"] != b[0]["stream_id"]


async def test_bad_frames_get_errors_and_neither_stream_is_hurt(make_client: Any, asr_engine: AsrEngine,
                                                                  shared_dir: Path) -> None:
    client = await make_client(env={"JINGYUN_MAX_FRAME_BYTES": "8000"}, asr_engine=asr_engine)
    healthy = asyncio.ensure_future(_transcribe_file(client, shared_dir / "audio" / "real" / "en_jfk.wav",
                                                     {"language": "en"}))
    ws = await _open(client)
    await ws.send_json({"type": "config", "sample_rate": 16000, "encoding": "pcm_s16le", "language": "en"})
    assert (await ws.receive_json(timeout=10))["type"] == "ready"
    await ws.send_bytes(b"\x00" * 321)
    err = await ws.receive_json(timeout=10)
    assert err["type"] == "error" and err["code"] == "bad_audio" and "2-byte samples" in err["message"]
    await ws.send_bytes(b"\x00" * 8002)
    err = await ws.receive_json(timeout=10)
    assert err["code"] == "frame_too_large" and "8000 bytes" in err["message"]
    await ws.send_str("hello, is this thing on?")
    err = await ws.receive_json(timeout=10)
    assert err["code"] == "unexpected_text" and '{"type": "end"}' in err["message"]
    # The same stream still transcribes after its bad frames.
    reader = asyncio.ensure_future(_collect(ws))
    await _send_wav(ws, shared_dir / "audio" / "synthetic" / "en_radio_06.wav")
    await ws.send_json({"type": "end"})
    events = await reader
    assert "breathing" in " ".join(e.get("text", "") for e in events if e["type"] == "final").lower()
    other = await healthy
    assert wer(JFK_REF, " ".join(e["text"] for e in other if e["type"] == "final")) <= 0.05
    assert not [e for e in other if e["type"] == "error"]


@pytest.mark.parametrize(("config", "code", "fragment"), [
    ({"type": "config", "sample_rate": 44100}, "unsupported_sample_rate", "accepted: 8000, 16000"),
    ({"type": "config", "encoding": "opus"}, "unsupported_encoding", "pcm_s16le, f32le"),
    ({"type": "cfg"}, "bad_config", '"type": "config"'),
    ({"type": "config", "languge": "en"}, "bad_config", "unknown config field(s) languge"),
])
async def test_bad_config_is_refused_with_the_reason(make_client: Any, asr_engine: AsrEngine, config: dict[str, Any],
                                                      code: str, fragment: str) -> None:
    client = await make_client(asr_engine=asr_engine)
    ws = await _open(client)
    await ws.send_json(config)
    err = await ws.receive_json(timeout=10)
    assert err["type"] == "error" and err["code"] == code and fragment in err["message"]
    msg = await ws.receive(timeout=10)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert ws.close_code == 1008


async def test_malformed_json_config(make_client: Any, asr_engine: AsrEngine) -> None:
    client = await make_client(asr_engine=asr_engine)
    ws = await _open(client)
    await ws.send_str("{not json")
    err = await ws.receive_json(timeout=10)
    assert err["code"] == "bad_config" and "JSON config message" in err["message"]


async def test_full_server_answers_busy(make_client: Any, asr_engine: AsrEngine) -> None:
    client = await make_client(env={"JINGYUN_MAX_STREAMS": "1"}, asr_engine=asr_engine)
    first = await _open(client)
    await first.send_json({"type": "config"})
    assert (await first.receive_json(timeout=10))["type"] == "ready"
    second = await _open(client)
    busy = await second.receive_json(timeout=10)
    assert busy["type"] == "busy" and "retry" in busy["message"] and busy["max_streams"] == 1
    await second.receive(timeout=10)
    assert second.close_code == 1013
    await first.send_json({"type": "end"})
    assert (await _collect(first))[-1]["type"] == "closed"
    third = await _open(client)  # the slot is free again
    await third.send_json({"type": "config"})
    assert (await third.receive_json(timeout=10))["type"] == "ready"
    await third.close()


async def test_a_stream_that_falls_behind_is_told_and_closed(make_client: Any, asr_engine: AsrEngine,
                                                             shared_dir: Path) -> None:
    client = await make_client(env={"JINGYUN_MAX_LAG_SECONDS": "1"}, asr_engine=asr_engine)
    ws = await _open(client)
    await ws.send_json({"type": "config", "language": "en"})
    assert (await ws.receive_json(timeout=10))["type"] == "ready"
    samples, _ = load_wav(shared_dir / "audio" / "real" / "en_jfk.wav")
    data = samples.tobytes() * 3
    for off in range(0, len(data), 32000):  # far faster than real time, no pause for decoding
        await ws.send_bytes(data[off:off + 32000])
    events = await _collect(ws, limit_s=30)
    lagging = [e for e in events if e.get("code") == "lagging"]
    assert lagging and "behind" in lagging[0]["message"]
    assert ws.close_code == 1013


async def test_cantonese_on_base_says_what_it_will_do(make_client: Any, asr_engine_base: AsrEngine) -> None:
    client = await make_client(asr_engine=asr_engine_base)
    ws = await _open(client)
    await ws.send_json({"type": "config", "language": "yue"})
    ready = await ws.receive_json(timeout=10)
    assert ready["type"] == "ready" and ready["language"] == "zh" and ready["language_requested"] == "yue"
    assert "Cantonese" in ready["language_note"]
    await ws.close()
    model = (await (await client.get("/readyz")).json())["components"]["model"]
    assert model["status"] == "ready" and "Cantonese" in model["language_notes"]["yue"]


async def test_voice_disabled_answers_503_and_readyz_says_disabled(client: Any) -> None:
    app = client.server.app
    resp = await client.get(f"/ws/transcribe?token={token_for(app, 'dispatcher')}")
    body = await resp.json()
    assert resp.status == 503 and "JINGYUN_LOAD_MODEL" in body["error"]["message"]
    ready = await (await client.get("/readyz")).json()
    assert ready["components"]["model"]["detail"] == "disabled"
    assert ready["components"]["model"]["status"] == "ready"


async def test_broken_model_is_reported_at_startup_without_blocking_health(make_client: Any, tmp_path: Path) -> None:
    client = await make_client(env={"JINGYUN_LOAD_MODEL": "1", "JINGYUN_MODEL": str(tmp_path / "no-such-model")})
    assert (await client.get("/healthz")).status == 200
    async with asyncio.timeout(20):
        while True:
            body = await (await client.get("/readyz")).json()
            model = body["components"]["model"]
            if "loading" not in model["detail"]:
                break
            await asyncio.sleep(0.1)
    assert model["status"] == "not_ready" and "does not exist" in model["detail"] and "fix:" in model["detail"]
    resp = await client.post("/v1/audio/transcriptions", data={"model": "whisper-1"},
                             headers=auth(client.server.app, "service"))
    assert resp.status == 503 and "failed to load" in (await resp.json())["error"]["message"]


async def test_stream_roles(make_client: Any, asr_engine: AsrEngine) -> None:
    client = await make_client(asr_engine=asr_engine)
    resp = await client.get("/ws/transcribe", headers={"Upgrade": "websocket", "Connection": "Upgrade"})
    assert resp.status in (400, 401)
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await _open(client, role="kiosk")
    assert err.value.status == 403


async def test_flush_finalises_at_push_to_talk_release(make_client: Any, asr_engine: AsrEngine,
                                                       shared_dir: Path) -> None:
    client = await make_client(asr_engine=asr_engine)
    ws = await _open(client)
    await ws.send_json({"type": "config", "language": "en", "partials": False})
    assert (await ws.receive_json(timeout=10))["type"] == "ready"
    samples, _ = load_wav(shared_dir / "audio" / "real" / "en_jfk.wav")
    data = samples[: 16000 * 3].tobytes()  # "And so my fellow Americans", then the key is released
    for off in range(0, len(data), 3200):
        await ws.send_bytes(data[off:off + 3200])
    await ws.send_json({"type": "flush"})
    final = await ws.receive_json(timeout=20)
    assert final["type"] == "final" and final["end"] == pytest.approx(3.0, abs=0.05)
    assert "fellow" in final["text"].lower()
    await ws.send_json({"type": "end"})
    closed = await _collect(ws)
    assert closed[-1]["type"] == "closed" and closed[-1]["segments"] == 1
