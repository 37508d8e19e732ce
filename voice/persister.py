"""A stream's writer: finals and gaps stored, events published, in order, off the reading path.

The durable work (SQL, Opus encoding, Redis) is the server's, behind :class:`StreamStore`; this
module orders it and bounds it. Finals and gaps are never dropped: when more than ``limit`` wait,
the connection stops reading audio until the writer catches up (:meth:`Persister.room`), which
pushes back on the client through TCP instead of growing memory. Partials are losable previews:
past the limit they are skipped.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any, Protocol

from voice.store import StreamMeta, encode, final_message, partial_message
from voice.stream import Failed, Final, Partial

log = logging.getLogger("jingyun.voice.persist")

STORE_ATTEMPTS = 4
DEFAULT_LIMIT = 64


class StreamStore(Protocol):
    """The server's side of a stream's durable work."""

    async def save_final(self, meta: StreamMeta, final: Final) -> int:
        """Insert a final segment (idempotent per stream and utterance); returns its row id."""
        ...

    async def save_gap(self, meta: StreamMeta, gap_id: str, failed: Failed, started_at: dt.datetime | None) -> None:
        """Keep an utterance that could not be decoded: its audio and the gap row (idempotent)."""
        ...

    async def publish(self, event: dict[str, Any]) -> None:
        """Send a live event to the consoles (losable)."""
        ...


class Persister:
    """One per stream. ``private`` streams (interviews) are stored but never published."""

    def __init__(self, store: StreamStore, meta: StreamMeta, *, private: bool, limit: int = DEFAULT_LIMIT,
                 on_stored: Callable[[Final, int | None], None] | None = None) -> None:
        self.store, self.meta, self.private, self.limit = store, meta, private, limit
        self.on_stored = on_stored  # told of each stored final (a call follows its transcript)
        self._items: collections.deque[tuple[str, Any]] = collections.deque()
        self._wakeup = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._closing = False
        self.stored = 0
        self.partials_skipped = 0
        self.task = asyncio.get_running_loop().create_task(self._run(), name=f"voice-persist-{meta.stream_id}")

    @property
    def waiting(self) -> int:
        return len(self._items)

    def put_final(self, final: Final) -> None:
        self._put("final", final)

    def put_gap(self, gap_id: str, failed: Failed, started_at: dt.datetime | None) -> None:
        self._put("gap", (gap_id, failed, started_at))

    def put_partial(self, partial: Partial) -> None:
        if self.private:
            return  # never published, nothing to store
        if len(self._items) >= self.limit:
            self.partials_skipped += 1
            return
        self._put("partial", partial)

    def _put(self, kind: str, item: Any) -> None:
        self._items.append((kind, item))
        if len(self._items) >= self.limit:
            self._room.clear()
        self._wakeup.set()

    async def room(self) -> None:
        """Return when fewer than ``limit`` items wait (at once, nearly always)."""
        await self._room.wait()

    async def _run(self) -> None:
        while True:
            while not self._items:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
            kind, item = self._items.popleft()
            if len(self._items) < self.limit:
                self._room.set()
            try:
                if kind == "final":
                    await self._final(item)
                elif kind == "gap":
                    await self._gap(*item)
                else:
                    await self._publish(partial_message(self.meta, item), losable=True)
            except Exception:  # one bad item must not stop the stream's writer
                log.exception("stream %s: could not handle a %s", self.meta.stream_id, kind)

    async def _final(self, final: Final) -> None:
        row_id = await self._retry(lambda: self.store.save_final(self.meta, final), "final")
        if row_id is None:
            # Still the client has it; log it whole so an operator can recover the text.
            log.error("final of stream %s not stored: %s", self.meta.stream_id,
                      encode(final_message(self.meta, final)))
        else:
            self.stored += 1
        if self.on_stored is not None:
            self.on_stored(final, row_id)
        if not self.private:
            await self._publish(final_message(self.meta, final, row_id), losable=False)

    async def _gap(self, gap_id: str, failed: Failed, started_at: dt.datetime | None) -> None:
        done = await self._retry(lambda: self._save_gap(gap_id, failed, started_at), "gap")
        if done is None:
            log.error("gap %s of stream %s not stored (utterance %d, %.2f-%.2f s: %s)", gap_id, self.meta.stream_id,
                      failed.utterance, failed.start, failed.end, failed.reason)

    async def _save_gap(self, gap_id: str, failed: Failed, started_at: dt.datetime | None) -> bool:
        await self.store.save_gap(self.meta, gap_id, failed, started_at)
        return True

    async def _retry(self, op: Callable[[], Any], what: str) -> Any:
        # A brief database hiccup must not lose a final: the writes are idempotent, so retry.
        for attempt in range(STORE_ATTEMPTS):
            try:
                return await op()
            except Exception:
                if attempt == STORE_ATTEMPTS - 1:
                    log.exception("could not store a %s of stream %s", what, self.meta.stream_id)
                    return None
                await asyncio.sleep(0.2 * 2 ** attempt)
        return None

    async def _publish(self, event: dict[str, Any], *, losable: bool) -> None:
        try:
            await self.store.publish(event)
        except Exception:
            if losable:
                log.warning("could not publish a partial of stream %s", self.meta.stream_id)
            else:
                log.exception("could not publish a final of stream %s", self.meta.stream_id)

    async def close(self) -> None:
        """Write everything queued, then stop."""
        self._closing = True
        self._wakeup.set()
        with contextlib.suppress(Exception):
            await self.task
