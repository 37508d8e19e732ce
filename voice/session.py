"""Drives a :class:`~voice.stream.StreamTranscriber` against an async ASR backend.

The thin asyncio layer around the sans-I/O core: every decode request becomes a task awaiting
the shared engine, and every event goes to ``on_event`` in order. Used by the WebSocket
endpoints and by any server code that streams audio (radio push-to-talk, interview rooms).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import numpy as np

from voice.stream import DecodeRequest, Event, StreamTranscriber
from voice.types import AsrBackend

log = logging.getLogger("jingyun.voice.session")


class StreamSession:
    """One live stream: feed audio, receive events through ``on_event``; ``finish()`` drains."""

    def __init__(self, core: StreamTranscriber, backend: AsrBackend, on_event: Callable[[Event], None]) -> None:
        self.core = core
        self.backend = backend
        self.on_event = on_event
        self._inflight: dict[int, asyncio.Task[None]] = {}  # request id -> its decode task

    def feed_pcm(self, data: bytes, encoding: str) -> None:
        """Raw PCM in; raises ``AudioError`` for a malformed frame (the stream continues)."""
        self.core.feed_pcm(data, encoding)
        self._pump()

    def feed_samples(self, samples: np.ndarray) -> None:
        self.core.feed_samples(samples)
        self._pump()

    def flush(self) -> None:
        """Push-to-talk released: the current utterance goes final."""
        self.core.flush()
        self._pump()

    @property
    def backlog_seconds(self) -> float:
        return self.core.backlog_seconds()

    def _pump(self) -> None:
        for ev in self.core.take_ready():
            self.on_event(ev)
        for request_id in self.core.take_abandoned():
            # A partial of an utterance that is over, or an early final whose pause was not the
            # end: waiting for the engine is wasted work (a decode already running just finishes).
            task = self._inflight.get(request_id)
            if task is not None:
                task.cancel()
        for req in self.core.take_requests():
            task = asyncio.get_running_loop().create_task(self._run(req), name=f"asr-request-{req.id}")
            self._inflight[req.id] = task
            task.add_done_callback(self._forget(req.id))

    def _forget(self, request_id: int) -> Callable[[asyncio.Task[None]], None]:
        def forget(_task: asyncio.Task[None]) -> None:
            self._inflight.pop(request_id, None)

        return forget

    async def _run(self, req: DecodeRequest) -> None:
        try:
            result = await self.backend.transcribe(req.audio, req.options)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("decoding failed")
            events = self.core.on_error(req, f"{exc.__class__.__name__}: {exc}")
        else:
            events = self.core.on_result(req, result)
        for ev in events:
            self.on_event(ev)

    async def finish(self) -> None:
        """End of audio: finalise the open utterance and wait for every final."""
        self.core.finish()
        self._pump()
        while self._inflight:
            await asyncio.gather(*list(self._inflight.values()), return_exceptions=True)
        for ev in self.core.take_ready():
            self.on_event(ev)

    async def abort(self, reason: str) -> None:
        """Stop decoding (overload, a broken stream): every utterance not yet final is reported as
        ``Failed`` with ``reason`` and its audio, through ``on_event``, before this returns."""
        await self.cancel()
        for ev in self.core.abort(reason):
            self.on_event(ev)

    async def cancel(self) -> None:
        """Abandon the stream (client gone): outstanding decodes are cancelled."""
        tasks = list(self._inflight.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


class IdleFlush:
    """Finalises the open utterance when audio stops arriving (the sender went quiet without "flush")."""

    def __init__(self, session: StreamSession, idle_s: float) -> None:
        self.session, self.idle_s = session, idle_s
        self.last_audio = time.monotonic()
        self.task = (asyncio.get_running_loop().create_task(self._run(), name="voice-idle-flush")
                     if idle_s > 0 else None)

    def touch(self) -> None:
        self.last_audio = time.monotonic()

    async def _run(self) -> None:
        flushed_at = 0.0
        while True:
            await asyncio.sleep(self.idle_s / 4)
            if time.monotonic() - self.last_audio >= self.idle_s and self.last_audio != flushed_at:
                flushed_at = self.last_audio
                self.session.flush()

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
