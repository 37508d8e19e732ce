"""Radio under load (issue 12): channels made on first use, admission shared with other streams,
lag/busy told to the gateway, the least urgent shed first and transcribed later, never dropped."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.conftest import token_for
from tests.fixtures_radio import Gateway, headers, read_wav
from web.auth import Role

pytestmark = [pytest.mark.redis, pytest.mark.model]


async def _transmissions(client: Any, channel: str) -> list[dict[str, Any]]:
    resp = await client.get(f"/api/radio/transmissions?channel={channel}",
                            headers=headers(client.server.app, Role.DISPATCHER))
    assert resp.status == 200
    items: list[dict[str, Any]] = (await resp.json())["transmissions"]
    return items


async def test_overload_sheds_the_least_urgent_and_catches_up_later(make_client: Any, stack: dict[str, str],
                                                                     asr_engine: Any, shared_dir: Any) -> None:
    env = {**stack, "JINGYUN_RADIO_DECODE_CONCURRENCY": "1", "JINGYUN_RADIO_MAX_WAITING": "1",
           "JINGYUN_RADIO_MAX_WAIT_SECONDS": "60", "JINGYUN_RADIO_CATCH_UP_SECONDS": "0.3"}
    client = await make_client(env=env, asr_engine=asr_engine)
    app = client.server.app
    disp = headers(app, Role.DISPATCHER)
    clips = [read_wav(shared_dir / f"audio/synthetic/en_radio_0{n}.wav")[0] for n in (1, 2, 3, 5)]

    # Neither channel exists: the gateway's first use creates it, with default settings.
    low = await Gateway.open(client, "tac-low", 16000, mode="ptt")
    high = await Gateway.open(client, "tac-high", 16000, mode="ptt")
    for cid, priority in (("tac-low", 1), ("tac-high", 9)):
        resp = await client.put(f"/api/radio/channels/{cid}", json={"priority": priority, "language": "en"},
                                headers=disp)
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["auto_created"] is True
    for clip in clips[:3]:
        await low.transmit("Unit 3", clip)
    await asyncio.sleep(0.2)
    await high.transmit("Unit 9", clips[3])

    urgent = await high.next("transmission")
    assert urgent["transmission"]["state"] == "transcribed", urgent  # never shed for routine chatter
    replies = [await low.next("transmission") for _ in range(3)]
    shed = [r["transmission"] for r in replies if r["transmission"]["state"] == "busy"]
    assert shed, [r["transmission"]["state"] for r in replies]
    assert all(t["reason"].startswith("not transcribed (busy)") and t["recording_id"] for t in shed)
    busy = low.of("busy")
    assert {b["transmission_id"] for b in busy} == {t["id"] for t in shed}
    assert all("transcribed when the engine is idle" in b["message"] for b in busy)
    await low.end()
    await high.end()

    # Late, not lost: the catch-up loop transcribes every shed transmission once the engine is idle.
    async with asyncio.timeout(60):
        while True:
            listed = await _transmissions(client, "tac-low")
            if len(listed) == 3 and all(t["state"] == "transcribed" for t in listed):
                break
            await asyncio.sleep(0.3)
    late = {t["id"]: t for t in listed if t["late"]}
    assert set(late) == {t["id"] for t in shed}
    assert all(t["text"] and t["recording_id"] for t in late.values())
    metrics = await (await client.get("/metrics", headers=headers(app, Role.SERVICE))).text()
    assert 'jingyun_utterances_total{outcome="busy",source="radio"}' in metrics
    assert 'jingyun_utterances_total{outcome="late",source="radio"}' in metrics
    # The engine reports each batch's queue wait and decode time: every transmission was decoded.
    finals = [line for line in metrics.splitlines()
              if line.startswith('jingyun_asr_decode_seconds_count{kind="final"}')]
    assert finals and float(finals[0].split()[-1]) >= 3, finals
    assert 'jingyun_asr_queue_wait_seconds_bucket{kind="final",le="0.5"}' in metrics


async def test_radio_channels_count_towards_the_stream_limit(make_client: Any, asr_engine: Any) -> None:
    client = await make_client(env={"JINGYUN_MAX_STREAMS": "1", "JINGYUN_RADIO_CHANNEL_WEIGHT": "0.5"},
                               asr_engine=asr_engine)
    app = client.server.app
    a = await Gateway.open(client, "ch-a", 16000)
    b = await Gateway.open(client, "ch-b", 16000)
    ws = await client.ws_connect(f"/ws/radio/ch-c?token={token_for(app, 'service')}")
    await ws.send_json({"type": "config", "sample_rate": 16000})
    ready = await ws.receive_json(timeout=10)
    assert ready["type"] == "ready" and ready["admitted"] is False
    told = await ws.receive_json(timeout=10)
    assert told["type"] == "busy" and "audio is kept" in told["message"]
    # The radio load fills the engine: a continuous stream is refused busy, as with any full server.
    tr = await client.ws_connect(f"/ws/transcribe?token={token_for(app, 'dispatcher')}")
    await tr.send_json({"type": "config"})
    assert (await tr.receive_json(timeout=10))["type"] == "busy"
    await tr.close()
    await ws.send_json({"type": "end"})
    await ws.close()
    await a.end()
    await b.end()
    tr = await client.ws_connect(f"/ws/transcribe?token={token_for(app, 'dispatcher')}")
    await tr.send_json({"type": "config"})
    assert (await tr.receive_json(timeout=10))["type"] == "ready"
    await tr.close()
