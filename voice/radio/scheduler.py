"""Decode order under load: a priority queue in front of the shared ASR engine, and what to shed.

The engine batches whatever is waiting when its worker is free, first come first served. Radio
needs more: when the engine is behind, an emergency talkgroup's transmission must not wait
behind routine chatter. So at most ``concurrency`` radio transmissions are handed to the engine
at a time, and the rest wait here ordered by channel priority (10 first), then arrival. With
the engine idle nothing waits; the queue only matters when there is a backlog.

Back-pressure: a waiting transmission is *shed* when it has waited ``max_wait_s`` for the engine
or when the queue holds ``max_waiting`` and it is the least important one waiting (lowest
priority, then the newest). Lower priorities wait longer, so they are shed first. Shedding
raises :class:`Shed` in its waiter, which keeps the audio and has it transcribed later, when the
engine is idle: a shed transmission is late, never lost. A transmission whose audio could not
be kept is not sheddable and waits however long it takes.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


class Shed(Exception):
    """The engine is too far behind for this transmission now; ``waited`` seconds in the queue."""

    def __init__(self, reason: str, waited: float) -> None:
        super().__init__(reason)
        self.reason, self.waited = reason, waited


class _Waiter:
    __slots__ = ("fut", "priority", "queued_at", "seq", "sheddable")

    def __init__(self, priority: int, seq: int, sheddable: bool, fut: asyncio.Future[None]) -> None:
        self.priority, self.seq, self.sheddable, self.fut = priority, seq, sheddable, fut
        self.queued_at = time.monotonic()

    def __lt__(self, other: _Waiter) -> bool:  # heap order: highest priority, then oldest
        return (-self.priority, self.seq) < (-other.priority, other.seq)


class PriorityGate:
    """``await gate.run(priority, coro_fn)``: runs when a slot is free, highest priority first."""

    def __init__(self, concurrency: int, *, max_waiting: int = 0, max_wait_s: float = 0.0) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.concurrency = concurrency
        self.max_waiting = max_waiting  # 0: unbounded
        self.max_wait_s = max_wait_s  # 0: no time limit
        self._running = 0
        self._waiting: list[_Waiter] = []
        self._order = itertools.count()
        self.started: list[Any] = []  # labels in start order (for metrics and tests)
        self.shed = 0
        self.last_wait = 0.0  # seconds the last started transmission waited for its slot

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @property
    def running(self) -> int:
        return self._running

    @property
    def idle(self) -> bool:
        return self._running == 0 and not self._waiting

    async def run(self, priority: int, fn: Callable[[], Awaitable[T]], label: Any = None, *,
                  sheddable: bool = False) -> T:
        """Run ``fn`` in priority order; raises :class:`Shed` (only when ``sheddable``) under overload."""
        if self._running >= self.concurrency or self._waiting:
            waiter = _Waiter(priority, next(self._order), sheddable, asyncio.get_running_loop().create_future())
            heapq.heappush(self._waiting, waiter)
            self._shed_overflow()
            try:
                if sheddable and self.max_wait_s > 0:
                    await asyncio.wait_for(asyncio.shield(waiter.fut), self.max_wait_s)
                else:
                    await waiter.fut
            except TimeoutError:
                if waiter.fut.done() and not waiter.fut.cancelled() and waiter.fut.exception() is None:
                    pass  # handed a slot at the very moment the wait ran out: use it
                else:
                    self._remove(waiter)
                    self.shed += 1
                    raise Shed(f"waited {self.max_wait_s:g} s for the speech engine, which is behind",
                               self.max_wait_s) from None
            except asyncio.CancelledError:
                if waiter.fut.done() and not waiter.fut.cancelled() and waiter.fut.exception() is None:
                    self._release()  # we were handed a slot but will not use it
                else:
                    self._remove(waiter)
                raise
            except Shed:
                raise
            self.last_wait = time.monotonic() - waiter.queued_at
        else:
            self._running += 1
            self.last_wait = 0.0
        self.started.append(label)
        if len(self.started) > 1000:
            del self.started[:500]
        try:
            return await fn()
        finally:
            self._release()

    def _shed_overflow(self) -> None:
        # The queue is full: the least important sheddable waiter (lowest priority, newest) goes.
        while self.max_waiting and len(self._waiting) > self.max_waiting:
            victims = [w for w in self._waiting if w.sheddable and not w.fut.done()]
            if not victims:
                return
            victim = max(victims)  # the heap's last in order
            self._remove(victim)
            self.shed += 1
            victim.fut.set_exception(Shed(f"{self.max_waiting} transmissions were already waiting for the speech "
                                          "engine, all more urgent or older", time.monotonic() - victim.queued_at))

    def _remove(self, waiter: _Waiter) -> None:
        if waiter in self._waiting:
            self._waiting.remove(waiter)
            heapq.heapify(self._waiting)

    def _release(self) -> None:
        while self._waiting:
            waiter = heapq.heappop(self._waiting)
            if not waiter.fut.done():
                waiter.fut.set_result(None)  # the slot passes straight to the waiter: _running unchanged
                return
        self._running -= 1
