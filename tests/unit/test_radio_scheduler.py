"""The priority gate in front of the ASR engine: under load, higher channel priority decodes first."""

from __future__ import annotations

import asyncio

import pytest

from voice.radio.scheduler import PriorityGate


async def test_backlog_is_served_by_priority_then_arrival():
    gate = PriorityGate(1)
    release = asyncio.Event()
    order: list[str] = []

    async def job(name: str, wait: bool = False) -> str:
        if wait:
            await release.wait()
        order.append(name)
        return name

    first = asyncio.create_task(gate.run(5, lambda: job("busy", wait=True), "busy"))
    await asyncio.sleep(0)
    queued = [("routine-a", 3), ("emergency", 10), ("routine-b", 3), ("tactical", 7)]
    tasks = [asyncio.create_task(gate.run(p, lambda n=n: job(n), n)) for n, p in queued]
    await asyncio.sleep(0.01)
    assert gate.running == 1 and gate.waiting == 4
    release.set()
    assert await asyncio.gather(first, *tasks) == ["busy", "routine-a", "emergency", "routine-b", "tactical"]
    assert order == ["busy", "emergency", "tactical", "routine-a", "routine-b"]
    assert gate.running == 0 and gate.waiting == 0


async def test_concurrency_limit_and_cancelled_waiter():
    gate = PriorityGate(2)
    live = 0
    peak = 0

    async def job() -> None:
        nonlocal live, peak
        live += 1
        peak = max(peak, live)
        await asyncio.sleep(0.01)
        live -= 1

    blocker = asyncio.Event()

    async def blocked() -> None:
        await blocker.wait()

    a = asyncio.create_task(gate.run(1, blocked))
    b = asyncio.create_task(gate.run(1, blocked))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(gate.run(9, job))
    await asyncio.sleep(0)
    waiter.cancel()  # a stream that went away: its slot is not lost
    with pytest.raises(asyncio.CancelledError):
        await waiter
    blocker.set()
    await asyncio.gather(a, b, *(gate.run(i % 3, job) for i in range(8)))
    assert peak <= 2 and gate.running == 0 and gate.waiting == 0
    with pytest.raises(ValueError):
        PriorityGate(0)
