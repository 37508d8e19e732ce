"""The priority gate in front of the ASR engine: under load, higher channel priority decodes first."""

from __future__ import annotations

import asyncio

import pytest

from voice.radio.scheduler import PriorityGate, Shed


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


# ---- shedding under load (issue 12) ----------------------------------------------------------------
async def test_a_full_queue_sheds_the_least_urgent_newest_waiter() -> None:
    gate = PriorityGate(1, max_waiting=2)
    release = asyncio.Event()

    async def job(name: str, wait: bool = False) -> str:
        if wait:
            await release.wait()
        return name

    busy = asyncio.create_task(gate.run(5, lambda: job("busy", wait=True), sheddable=True))
    await asyncio.sleep(0)
    low_old = asyncio.create_task(gate.run(2, lambda: job("low-old"), sheddable=True))
    high = asyncio.create_task(gate.run(9, lambda: job("high"), sheddable=True))
    await asyncio.sleep(0)
    low_new = asyncio.create_task(gate.run(2, lambda: job("low-new"), sheddable=True))
    await asyncio.sleep(0)
    with pytest.raises(Shed) as shed:
        await low_new  # the queue holds 2: of the three waiting, the lowest priority and newest goes
    assert "already waiting" in shed.value.reason
    release.set()
    assert await asyncio.gather(busy, high, low_old) == ["busy", "high", "low-old"]
    assert gate.shed == 1 and gate.idle


async def test_a_long_wait_sheds_lower_priorities_first_and_never_an_unsheddable_one() -> None:
    gate = PriorityGate(1, max_wait_s=0.2)
    release = asyncio.Event()

    async def job(name: str, wait: bool = False) -> str:
        if wait:
            await release.wait()
        return name

    busy = asyncio.create_task(gate.run(5, lambda: job("busy", wait=True)))
    await asyncio.sleep(0)
    low = asyncio.create_task(gate.run(1, lambda: job("low"), sheddable=True))
    kept = asyncio.create_task(gate.run(1, lambda: job("audio not kept"), sheddable=False))
    await asyncio.sleep(0.3)
    assert low.done() and isinstance(low.exception(), Shed) and low.exception().waited == 0.2  # type: ignore[union-attr]
    assert not kept.done()  # its audio is not kept: it waits however long it takes
    release.set()
    assert await asyncio.gather(busy, kept) == ["busy", "audio not kept"]
    assert gate.idle and gate.last_wait >= 0.3


async def test_a_waiter_served_in_time_is_not_shed() -> None:
    gate = PriorityGate(1, max_wait_s=1.0, max_waiting=4)

    async def job(name: str) -> str:
        await asyncio.sleep(0.05)
        return name

    results = await asyncio.gather(*(gate.run(5, lambda n=n: job(n), sheddable=True) for n in "abcd"))
    assert results == list("abcd") and gate.shed == 0
