"""Stock clients, unmodified: WhisperLive's TranscriptionClient and the official OpenAI SDK."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import av
import pytest

from tests.conftest import token_for
from tests.fixtures_voice import cer, wer
from voice.engine import AsrEngine

pytestmark = [pytest.mark.model, pytest.mark.redis]

JFK_REF = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."


async def test_whisperlive_client_streams_a_wav_and_writes_srt(make_client: Any, asr_engine: AsrEngine,
                                                              shared_dir: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    client_mod = pytest.importorskip("whisper_live.client",
                                     reason="install with: pip install --no-deps whisper-live")
    client = await make_client(asr_engine=asr_engine)
    token = token_for(client.server.app, "service")
    monkeypatch.chdir(tmp_path)  # the client writes its resampled copy into the working directory
    _close_for_real(monkeypatch)
    srt = tmp_path / "out.srt"

    def run() -> Any:
        tc = client_mod.TranscriptionClient("127.0.0.1", f"{client.server.port}/ws/whisperlive?token={token}",
                                            lang="en", model="tiny.en", use_vad=True, mute_audio_playback=True,
                                            log_transcription=False, output_transcription_path=str(srt))
        # Its default is to wait 15 s of silence from the server before hanging up; 8 s is plenty here.
        tc.client.disconnect_if_no_response_for = 8
        tc(str(shared_dir / "audio" / "real" / "en_jfk.wav"))
        return tc

    tc = await asyncio.to_thread(run)
    assert tc.client.server_backend == "faster_whisper"
    text = srt.read_text(encoding="utf-8")
    assert "-->" in text
    spoken = " ".join(line for line in text.splitlines() if line and "-->" not in line and not line.isdigit())
    assert wer(JFK_REF, spoken) <= 0.05, repr(text)
    assert any(seg.get("completed") for seg in tc.client.transcript)


def _close_for_real(monkeypatch: pytest.MonkeyPatch) -> None:
    """websocket-client 1.9 (under whisper_live) never closes the socket when the server closes
    first: answering the server's close frame marks the connection closed (``send_close``), and
    ``WebSocket.close`` then returns at once. Whether our server's close or the client's comes first
    at the end of the stream is a race; when the server won, the socket was left to the garbage
    collector and a CI run failed on its ResourceWarning several tests later (tests/leaks.py named
    this test). Here every close also releases the socket."""
    import websocket

    close = websocket.WebSocket.close

    def close_and_release(self: Any, *args: Any, **kwargs: Any) -> None:
        try:
            close(self, *args, **kwargs)
        finally:
            self.shutdown()

    monkeypatch.setattr(websocket.WebSocket, "close", close_and_release)


def _mp3(path: Path) -> bytes:
    buf = io.BytesIO()
    with av.open(str(path)) as src, av.open(buf, mode="w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=16000, layout="mono")
        for frame in src.decode(audio=0):
            frame.pts = None
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def _sdk_calls(sdk: Any, openai: Any, jfk: Path) -> dict[str, Any]:
    """The OpenAI SDK's transcription calls in every response format, and one refused upload."""
    out: dict[str, Any] = {}
    with jfk.open("rb") as fh:
        out["json"] = sdk.audio.transcriptions.create(model="whisper-1", file=fh, language="en")
    out["verbose"] = sdk.audio.transcriptions.create(model="whisper-1", file=("jfk.mp3", _mp3(jfk)),
                                                     response_format="verbose_json",
                                                     timestamp_granularities=["word", "segment"])
    for fmt in ("text", "srt", "vtt"):
        with jfk.open("rb") as fh:
            out[fmt] = sdk.audio.transcriptions.create(model="whisper-1", file=fh, response_format=fmt,
                                                       prompt="Inaugural address.")
    try:
        sdk.audio.transcriptions.create(model="whisper-1", file=("notes.txt", b"not audio at all" * 20))
    except openai.BadRequestError as exc:
        out["error"] = exc
    return out


async def test_openai_sdk_transcribes_in_every_format(make_client: Any, asr_engine: AsrEngine,
                                                      shared_dir: Path) -> None:
    openai = pytest.importorskip("openai")
    client = await make_client(asr_engine=asr_engine)
    token = token_for(client.server.app, "service")
    jfk = shared_dir / "audio" / "real" / "en_jfk.wav"

    def run() -> dict[str, Any]:
        # Closed on the way out: its connection pool would otherwise hold a socket to the test server
        # until garbage collection, which then warns during whichever test happens to be running.
        with openai.OpenAI(api_key=token, base_url=f"http://127.0.0.1:{client.server.port}/v1",
                           max_retries=0) as sdk:
            return _sdk_calls(sdk, openai, jfk)

    out = await asyncio.to_thread(run)
    assert wer(JFK_REF, out["json"].text) <= 0.05, out["json"].text
    verbose = out["verbose"]
    assert wer(JFK_REF, verbose.text) <= 0.05 and verbose.language == "en" and verbose.duration > 10
    assert verbose.segments and verbose.words and verbose.words[0].start >= 0
    assert wer(JFK_REF, str(out["text"])) <= 0.05
    assert "00:00:00,000 -->" in str(out["srt"]) or " --> " in str(out["srt"])
    assert str(out["vtt"]).startswith("WEBVTT")
    err = out["error"]
    assert err.status_code == 400 and "WAV, FLAC, MP3" in str(err)


async def test_openai_endpoint_mandarin_upload_is_simplified(make_client: Any, asr_engine_base: AsrEngine,
                                                             shared_dir: Path,
                                                             voice_manifest: dict[str, Any]) -> None:
    from aiohttp import FormData

    from tests.conftest import auth

    client = await make_client(asr_engine=asr_engine_base)
    rel = "real/zh_aishell2_IT0011W0001.wav"
    form = FormData()
    form.add_field("file", (shared_dir / "audio" / rel).read_bytes(), filename="clip.wav")
    form.add_field("model", "whisper-1")
    form.add_field("response_format", "json")
    resp = await client.post("/v1/audio/transcriptions", data=form, headers=auth(client.server.app, "interviewer"))
    body = await resp.json()
    assert resp.status == 200, body
    assert body["language"] == "zh" and cer(voice_manifest[rel]["reference"], body["text"]) == 0.0, body

    bad = FormData()
    bad.add_field("file", b"RIFF", filename="x.wav")
    bad.add_field("response_format", "docx")
    resp = await client.post("/v1/audio/transcriptions", data=bad, headers=auth(client.server.app, "service"))
    assert resp.status == 400 and "json, text, srt, verbose_json, vtt" in (await resp.json())["error"]["message"]
