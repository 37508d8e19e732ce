"""`jingyun radio-bridge` against a real server: a directory of calls, PTT per call, units from file names."""

from __future__ import annotations

import argparse
import json
import shutil

import pytest

from tests.fixtures_radio import headers, token
from web.auth import Role
from web.cli import build_parser
from web.commands.radio import bridge, ws_url

pytestmark = [pytest.mark.redis, pytest.mark.model]


async def test_bridge_streams_calls_with_ptt(make_client, asr_engine, shared_dir, tmp_path, capsys, dispatch_api):
    client = await make_client(asr_engine=asr_engine)
    app = client.server.app
    api = dispatch_api(client)
    u7 = await api.unit("U7")
    resp = await client.post("/api/radio/channels", json={"id": "demo", "language": "en", "priority": 9},
                             headers=headers(app, Role.ADMIN))
    assert resp.status == 201
    calls = tmp_path / "calls"
    calls.mkdir()
    shutil.copy(shared_dir / "audio/synthetic/en_radio_05.wav", calls / "U7@0001.wav")
    shutil.copy(shared_dir / "audio/synthetic/en_radio_02.wav", calls / "U7@0002.wav")
    shutil.copy(shared_dir / "audio/synthetic/en_radio_03.wav", calls / "0003.wav")  # a dispatcher: --unit

    args = build_parser().parse_args(["radio-bridge", str(calls), "--channel", "demo", "--server",
                                      f"http://127.0.0.1:{client.server.port}", "--token",
                                      token(app, Role.SERVICE), "--speed", "20", "--gap", "0.5",
                                      "--unit", "dispatch"])
    assert isinstance(args, argparse.Namespace)
    assert await bridge(args) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    summary = out[-1]
    assert summary["calls"] == 3 and summary["transmissions"] == 3 and summary["transcribed"] == 3
    txs = [m["transmission"] for m in out[:-1]]
    assert [t["unit_label"] for t in txs] == ["U7", "U7", "dispatch"]
    assert [t["unit_id"] for t in txs] == [u7["id"], u7["id"], None]
    assert "suspect vehicle" in txs[2]["text"].lower()
    assert (await api.call("GET", f"/api/units/{u7['id']}"))["status"] == "on_scene"


def test_ws_url_and_bad_server():
    assert ws_url("https://jy.example.org/base/", "tg 1", "a+b") == "wss://jy.example.org/base/ws/radio/tg%201?token=a%2Bb"
    assert ws_url("127.0.0.1:8080", "c", "t") == "ws://127.0.0.1:8080/ws/radio/c?token=t"
    with pytest.raises(ValueError, match="http"):
        ws_url("ftp://x", "c", "t")
