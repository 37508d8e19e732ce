"""Interview speech is for interviewers and admins only: not on the consoles, not in /api/transcripts.

An interview room streams to ``/ws/transcribe`` like a radio gateway does; what is said there must
not reach the dispatcher consoles' live feed nor be listed to dispatchers, services, officers or
kiosks. A radio stream on the same server stays visible to dispatchers (so the filter is not a
blanket refusal).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import auth, token_for
from tests.fixtures_voice import load_wav
from voice.engine import AsrEngine

pytestmark = [pytest.mark.model, pytest.mark.redis]


async def _stream(client: Any, role: str, config: dict[str, Any], wav: Path) -> str:
    ws = await client.ws_connect(f"/ws/transcribe?token={token_for(client.server.app, role)}")
    await ws.send_json({"type": "config", "sample_rate": 16000, "language": "en", **config})
    ready = await ws.receive_json(timeout=10)
    assert ready["type"] == "ready", ready
    samples, rate = load_wav(wav)
    data = samples.tobytes()
    step = rate * 2 // 10
    for off in range(0, len(data), step):
        await ws.send_bytes(data[off:off + step])
        await asyncio.sleep(0.01)
    await ws.send_json({"type": "end"})
    finals = 0
    async with asyncio.timeout(90):
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                event = json.loads(msg.data)
                finals += event["type"] == "final"
                if event["type"] == "closed":
                    break
    await ws.close()
    assert finals >= 1
    return str(ready["stream_id"])


async def _watch(ws: aiohttp.ClientWebSocketResponse, out: list[dict[str, Any]]) -> None:
    """Collect the console's transcript events until cancelled."""
    async for msg in ws:
        if msg.type is not aiohttp.WSMsgType.TEXT:
            return
        event = json.loads(msg.data)
        if event.get("type") == "transcript":
            out.append(event)


async def _listed(client: Any, role: str, stream_id: str) -> int:
    unit = "U-1" if role == "officer" else None
    resp = await client.get("/api/transcripts", params={"stream_id": stream_id},
                            headers=auth(client.server.app, role, unit))
    if resp.status in (401, 403):
        return -resp.status
    assert resp.status == 200, await resp.text()
    return int((await resp.json())["count"])


async def test_interview_speech_stays_with_interviewers(make_client: Any, asr_engine: AsrEngine,
                                                        shared_dir: Path) -> None:
    client = await make_client(asr_engine=asr_engine)
    app = client.server.app
    console = await client.ws_connect(f"/ws/console?token={token_for(app, 'dispatcher')}")
    first = await console.receive_json(timeout=10)
    assert first["type"] == "snapshot"
    wav = shared_dir / "audio" / "real" / "en_jfk.wav"
    seen: list[dict[str, Any]] = []
    watcher = asyncio.ensure_future(_watch(console, seen))
    radio = await _stream(client, "service", {"source": "radio-gw-1", "channel": "patrol-1"}, wav)
    labelled = await _stream(client, "admin", {"source": "interview", "channel": "interview:FT-1"}, wav)
    # An interviewer's stream is interview speech whatever it calls itself.
    unlabelled = await _stream(client, "interviewer", {"source": "room-2", "channel": "x"}, wav)
    await asyncio.sleep(1.0)
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher
    await console.close()
    streams = {e.get("stream_id") for e in seen}
    assert radio in streams, "the console saw no radio transcript at all: the check below would prove nothing"
    assert labelled not in streams and unlabelled not in streams, "interview speech reached a dispatcher console"
    for role, expect_private in (("dispatcher", 0), ("service", 0), ("officer", -403), ("kiosk", -403)):
        assert await _listed(client, role, labelled) == expect_private, role
        assert await _listed(client, role, unlabelled) == expect_private, role
    assert await _listed(client, "dispatcher", radio) >= 1
    for role in ("interviewer", "admin"):
        assert await _listed(client, role, labelled) >= 1
        assert await _listed(client, role, unlabelled) >= 1
