"""Decode order under load: a priority queue in front of the shared ASR engine.

The engine batches whatever is waiting when its worker is free, first come first served. Radio
needs more: when the engine is behind, an emergency talkgroup's transmission must not wait
behind routine chatter. So at most ``concurrency`` radio transmissions are handed to the engine
at a time, and the rest wait here ordered by channel priority (10 first), then arrival. With
the engine idle nothing waits; the queue only matters when there is a backlog.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


class PriorityGate:
    """``await gate.run(priority, coro_fn)``: runs when a slot is free, highest priority first."""

    def __init__(self, concurrency: int) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.concurrency = concurrency
        self._running = 0
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self.started: list[Any] = []  # labels in start order (for metrics and tests)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @property
    def running(self) -> int:
        return self._running

    async def run(self, priority: int, fn: Callable[[], Awaitable[T]], label: Any = None) -> T:
        if self._running >= self.concurrency or self._waiting:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            heapq.heappush(self._waiting, (-priority, next(self._order), fut))
            try:
                await fut
            except asyncio.CancelledError:
                if fut.done() and not fut.cancelled():
                    self._release()  # we were handed a slot but will not use it
                else:
                    self._waiting = [w for w in self._waiting if w[2] is not fut]
                    heapq.heapify(self._waiting)
                raise
        else:
            self._running += 1
        self.started.append(label)
        if len(self.started) > 1000:
            del self.started[:500]
        try:
            return await fn()
        finally:
            self._release()

    def _release(self) -> None:
        while self._waiting:
            _, _, fut = heapq.heappop(self._waiting)
            if not fut.done():
                fut.set_result(None)  # the slot passes straight to the waiter: _running unchanged
                return
        self._running -= 1
