"""Radio and interview test helpers: clips as PCM, a gateway client over the real WebSocket route.

Imported by the radio and interview test modules. Everything goes through the routes of an app
built by the production factory; nothing here stands in for the server.
"""

from __future__ import annotations

import asyncio
import io
import json
import wave
from pathlib import Path
from typing import Any

import numpy as np
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient

from web import appkeys
from web.auth import Role, issue_token

SYNTHETIC = Path("audio") / "synthetic"


def token(app: web.Application, role: Role | str, subject: str | None = None) -> str:
    return issue_token(app[appkeys.SECRET], role, ttl=600, subject=subject or f"test-{Role(role).value}")


def headers(app: web.Application, role: Role | str, subject: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(app, role, subject)}"}


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """(float32 mono samples, rate) of a 16-bit PCM WAV."""
    with wave.open(str(path), "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2, f"{path}: expected 16-bit mono"
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return data.astype(np.float32) / 32768.0, w.getframerate()


def to_pcm(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(to_pcm(samples))
    return buf.getvalue()


def band_noise(seconds: float, rate: int, rms: float, seed: int = 7) -> np.ndarray:
    """Band-limited (300-3400 Hz) white noise: what an open squelch or a quiet channel sounds like."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    spec = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / rate)
    spec[(freqs < 300) | (freqs > 3400)] = 0
    noise = np.fft.irfft(spec, n).astype(np.float32)
    return noise * (rms / (np.sqrt((noise ** 2).mean()) + 1e-12))


class Gateway:
    """A radio gateway on ``/ws/radio/{channel}``: config, PTT events, PCM, then ``end``."""

    def __init__(self, ws: Any, rate: int) -> None:
        self.ws = ws
        self.rate = rate
        self.messages: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, client: TestClient[web.Request, web.Application], channel: str, rate: int,
                   role: Role = Role.SERVICE, mode: str = "auto") -> Gateway:
        assert client.server.app is not None
        ws = await client.ws_connect(f"/ws/radio/{channel}?token={token(client.server.app, role)}")
        gw = cls(ws, rate)
        await ws.send_json({"type": "config", "sample_rate": rate, "encoding": "pcm_s16le", "mode": mode})
        ready = await gw.next("ready")
        assert ready["channel"]["id"] == channel
        return gw

    async def audio(self, samples: np.ndarray, chunk_seconds: float = 0.1) -> None:
        step = int(self.rate * chunk_seconds)
        for off in range(0, samples.size, step):
            await self.ws.send_bytes(to_pcm(samples[off:off + step]))

    async def transmit(self, unit: str | None, samples: np.ndarray) -> None:
        await self.ws.send_json({"type": "ptt_down", "unit": unit})
        await self.audio(samples)
        await self.ws.send_json({"type": "ptt_up"})

    async def next(self, kind: str, within: float = 60.0) -> dict[str, Any]:
        for i, msg in enumerate(self.messages):
            if msg.get("type") == kind:
                return self.messages.pop(i)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"no {kind!r} within {within}s; got {self.messages}")
            msg = await self.ws.receive(timeout=left)
            if msg.type is not WSMsgType.TEXT:
                raise AssertionError(f"socket closed waiting for {kind!r}: {msg.type} {msg.extra}; got {self.messages}")
            data = json.loads(msg.data)
            if data.get("type") == kind:
                return data
            self.messages.append(data)

    async def end(self) -> dict[str, Any]:
        await self.ws.send_json({"type": "end"})
        done = await self.next("done")
        await self.ws.close()
        return done

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("type") == kind]
