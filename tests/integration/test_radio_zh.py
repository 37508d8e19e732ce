"""Mandarin radio with the multilingual base model: a spoken status ("已到现场") and a suggested incident."""

from __future__ import annotations

import pytest

from tests.fixtures_radio import Gateway, headers, read_wav
from web.auth import Role

pytestmark = [pytest.mark.redis, pytest.mark.model, pytest.mark.slow]


async def test_mandarin_status_and_suggestion(make_client, asr_engine_base, shared_dir, dispatch_api):
    client = await make_client(asr_engine=asr_engine_base)
    app = client.server.app
    api = dispatch_api(client)
    unit = await api.unit("七号")
    resp = await client.post("/api/radio/channels", json={"id": "futian-1", "name": "福田一组", "language": "zh",
                                                          "priority": 6}, headers=headers(app, Role.DISPATCHER))
    assert resp.status == 201
    gw = await Gateway.open(client, "futian-1", 16000, mode="ptt")
    on_scene, _ = read_wav(shared_dir / "audio/synthetic/zh_radio_02.wav")  # 指挥中心，七号单位已到现场，…
    caller, _ = read_wav(shared_dir / "audio/synthetic/zh_radio_06.wav")  # 我父亲晕倒了，没有呼吸，请快派人来。
    await gw.transmit("七号", on_scene)
    await gw.transmit(None, caller)
    first, second = await gw.next("transmission", within=120), await gw.next("transmission", within=120)
    await gw.end()
    assert first["transmission"]["language"] == "zh" and "已到现场" in first["transmission"]["text"]
    assert first["status_update"]["to"] == "on_scene" and first["status_update"]["evidence"] == "已到现场"
    assert (await api.call("GET", f"/api/units/{unit['id']}"))["status"] == "on_scene"
    assert "没有呼吸" in second["transmission"]["text"] and second["status_update"] is None
    sug = second["suggestion"]
    assert sug["category"] == "medical" and sug["level"] == "P1" and sug["state"] == "suggested"


async def test_a_long_transmission_split_at_its_pause_is_one_transcript(make_client, asr_engine_base, shared_dir):
    """JINGYUN_RADIO_SPLIT_SECONDS=8: the 12.4 s meeting clip is decoded as two pieces side by side; the
    gateway still gets one transcribed transmission whose words run in order across the cut."""
    client = await make_client(asr_engine=asr_engine_base, env={"JINGYUN_RADIO_SPLIT_SECONDS": "8"})
    app = client.server.app
    resp = await client.post("/api/radio/channels", json={"id": "meeting", "name": "会议", "language": "zh"},
                             headers=headers(app, Role.DISPATCHER))
    assert resp.status == 201
    before = asr_engine_base.batches
    gw = await Gateway.open(client, "meeting", 16000, mode="ptt")
    speech, _ = read_wav(shared_dir / "audio/real/zh_wenetspeech_TEST_MEETING_T0000000001_S00000.wav")
    await gw.transmit(None, speech)
    tx = (await gw.next("transmission", within=120))["transmission"]
    await gw.end()
    assert tx["state"] == "transcribed" and asr_engine_base.batches - before == 2
    assert "首先" in tx["text"] and "问题" in tx["text"], tx["text"]
    starts = [w["start"] for w in tx["words"]]
    assert starts == sorted(starts) and starts[-1] > 6.0  # the second piece's words, at their place in the audio
