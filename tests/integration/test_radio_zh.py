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
