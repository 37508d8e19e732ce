"""A stream's writer (voice.persister): ordered, bounded, finals and gaps never dropped.

The store here is a recording stand-in for the database and Redis (not under test); the
Persister's ordering, bounding and retrying are."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import numpy as np

from voice.persister import Persister
from voice.store import StreamMeta
from voice.stream import Failed, Final, Partial


class RecordingStore:
    def __init__(self, *, fail_first: int = 0, gate: asyncio.Event | None = None) -> None:
        self.saved: list[int] = []
        self.gaps: list[str] = []
        self.published: list[dict[str, Any]] = []
        self.fail_first = fail_first
        self.gate = gate

    async def save_final(self, meta: StreamMeta, final: Final) -> int:
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_first:
            self.fail_first -= 1
            raise ConnectionError("database restarting")
        self.saved.append(final.utterance)
        return 100 + final.utterance

    async def save_gap(self, meta: StreamMeta, gap_id: str, failed: Failed, started_at: dt.datetime | None) -> None:
        self.gaps.append(gap_id)

    async def publish(self, event: dict[str, Any]) -> None:
        self.published.append(event)


def _final(n: int) -> Final:
    return Final(n, f"text {n}", float(n), n + 0.5, None, None, "en", 0.9, 0.9)


def _partial(n: int) -> Partial:
    return Partial(n, "te", "t", "e", float(n), n + 0.2)


META = StreamMeta(stream_id="s1", source="radio-gw", channel="patrol-1", model="tiny.en")


async def test_everything_is_written_in_order_and_published_with_row_ids() -> None:
    store = RecordingStore()
    p = Persister(store, META, private=False)
    p.put_partial(_partial(1))
    p.put_final(_final(1))
    p.put_gap("g2", Failed(2, 1.0, 2.0, "boom", np.zeros(10, np.float32)), None)
    p.put_final(_final(3))
    await p.close()
    assert store.saved == [1, 3] and store.gaps == ["g2"]
    assert [(e["final"], e.get("id")) for e in store.published] == [(False, None), (True, "101"), (True, "103")]


async def test_a_private_stream_is_stored_but_never_published() -> None:
    store = RecordingStore()
    p = Persister(store, META, private=True)
    p.put_partial(_partial(1))
    p.put_final(_final(1))
    await p.close()
    assert store.saved == [1] and store.published == []


async def test_past_the_limit_partials_are_skipped_finals_kept_and_the_reader_waits() -> None:
    gate = asyncio.Event()
    store = RecordingStore(gate=gate)
    p = Persister(store, META, private=False, limit=3)
    for n in range(1, 6):
        p.put_final(_final(n))  # the database is stuck: they pile up past the limit
    p.put_partial(_partial(6))
    assert p.partials_skipped == 1 and p.waiting >= 3
    room = asyncio.create_task(p.room())
    await asyncio.sleep(0.05)
    assert not room.done()  # the reading loop would pause here: the client is slowed, nothing dropped
    gate.set()
    await asyncio.wait_for(room, 2)
    await p.close()
    assert store.saved == [1, 2, 3, 4, 5]


async def test_a_brief_database_failure_is_retried() -> None:
    store = RecordingStore(fail_first=2)
    p = Persister(store, META, private=False)
    p.put_final(_final(1))
    await p.close()
    assert store.saved == [1] and p.stored == 1
