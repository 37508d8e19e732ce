"""Under load, the channel with the higher priority is decoded first (real engine, real database)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from tests.fixtures_radio import headers, read_wav
from voice.radio.ptt import SegmenterConfig, make_transmission
from web.appkeys import RADIO
from web.auth import Role

pytestmark = [pytest.mark.redis, pytest.mark.model]


async def _wait(cond, within: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not cond():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


async def test_emergency_channel_jumps_the_queue(make_client, asr_engine, shared_dir):
    client = await make_client(env={"JINGYUN_RADIO_DECODE_CONCURRENCY": "1"}, asr_engine=asr_engine)
    app = client.server.app
    for cid, prio in (("routine", 2), ("emergency", 10)):
        resp = await client.post("/api/radio/channels", json={"id": cid, "language": "en", "priority": prio},
                                 headers=headers(app, Role.ADMIN))
        assert resp.status == 201
    svc = app[RADIO]
    routine, emergency = await svc.channels.get("routine"), await svc.channels.get("emergency")
    speech, rate = read_wav(shared_dir / "audio/synthetic/en_radio_03.wav")
    urgent, _ = read_wav(shared_dir / "audio/synthetic/en_radio_06.wav")
    cfg = SegmenterConfig(sample_rate=rate)
    now = dt.datetime.now(dt.UTC)

    def tx(seq, audio):
        return make_transmission(seq, None, audio, rate, 0.0, now, "ptt", cfg)

    # The engine is busy (a decode slot held), and routine traffic queues up behind it ...
    busy = asyncio.Event()
    holder = asyncio.create_task(svc.gate.run(5, busy.wait, ("load", "")))
    await _wait(lambda: svc.gate.running == 1)
    low = [asyncio.create_task(svc.process(routine, tx(i, speech))) for i in range(3)]
    await _wait(lambda: svc.gate.waiting == 3)
    # ... when an emergency transmission arrives last.
    high = asyncio.create_task(svc.process(emergency, tx(9, urgent)))
    await _wait(lambda: svc.gate.waiting == 4)
    busy.set()
    await holder
    results = await asyncio.gather(*low, high)
    order = [label[0] for label in svc.gate.started]
    assert order == ["load", "emergency", "routine", "routine", "routine"], order
    assert all(r.transmission["state"] == "transcribed" for r in results)
    assert "not breathing" in results[-1].transmission["text"].lower()
