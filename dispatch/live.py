"""The per-process live side: which consoles and units this process holds, and how they get news.

One pub/sub subscription per process listens to the console channel (forwarded to every local
console) and to the unit channel. An order notice carries the Stream entry (already in the unit's
pending list) and the message ready to send, which goes straight to the unit's local sockets; other
notices (withdrawals) are handled likewise, and a notice without a message makes the process read
the unit's Stream. A poll every ``redelivery_s`` re-reads each held unit's pending list, so a lost
notice or a connection that dropped an order only delays delivery. Senders are anything with
``send(dict) -> bool`` and ``closed`` (``web.ws.Connection``); this module never imports ``web``.

The dependency goes one way: the Hub reads Redis through the :class:`~dispatch.bus.Bus` and asks
an :class:`OrderLedger` (the dispatch service) what the database says; the service knows nothing
of the Hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from redis.exceptions import RedisError

from dispatch.bus import Bus
from dispatch.settings import DispatchSettings

log = logging.getLogger("jingyun.dispatch.live")

# How often the lease holder looks for orders that are in the database but on no Stream.
REPAIR_INTERVAL_S = 2.0


class Sender(Protocol):
    @property
    def closed(self) -> bool: ...

    def send(self, message: dict[str, Any] | str) -> bool: ...


class OrderLedger(Protocol):
    """What the Hub asks of the database side (``dispatch.service.DispatchService`` is one)."""

    async def open_order_ids(self, order_ids: Sequence[str]) -> set[str]: ...

    async def mark_delivered(self, order_ids: Sequence[str]) -> None: ...

    async def push_unpushed(self) -> int: ...

    async def expire_due(self) -> list[str]: ...


class Hub:
    """Local consoles and unit connections of this process, fed from Redis.

    ``instance`` names this process as the holder of the timer lease.
    """

    def __init__(self, bus: Bus, settings: DispatchSettings, instance: str, ledger: OrderLedger, *,
                 on_ready_change: Callable[[bool, str], None] | None = None) -> None:
        self.bus = bus
        self.settings = settings
        self.instance = instance
        self.ledger = ledger
        self.consoles: set[Any] = set()
        self.units: dict[str, set[Any]] = defaultdict(set)
        self._unit_locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.ready = asyncio.Event()
        # Told whenever the subscription comes or goes, so readiness follows it (the composition
        # root wires it to /readyz; the console shows the "dispatch" line from there).
        self.on_ready_change = on_ready_change
        self._delivered: set[str] = set()
        # Set by stop() before the loops are cancelled. A loop that outlives its cancellation (a cancel
        # a library turns into an error the loop logs and retries, or a turn still running when shutdown
        # stops waiting) must not start another turn: it would run against the closed Redis pool and the
        # disposed database, and open connections that nobody closes.
        self._stopping = False
        self._tasks: set[asyncio.Task[None]] = set()  # deliveries started by pub/sub notices

    # ---- registration ------------------------------------------------------------------------------
    def add_console(self, conn: Sender) -> None:
        self.consoles.add(conn)

    def remove_console(self, conn: Sender) -> None:
        self.consoles.discard(conn)

    async def add_unit(self, unit_id: str, conn: Sender) -> None:
        """Register an officer connection and send it every order it has not acknowledged."""
        self.units[unit_id].add(conn)
        await self.bus.ensure_group(unit_id)
        await self.deliver(unit_id, pending=True, replay=True)

    def remove_unit(self, unit_id: str, conn: Sender) -> None:
        conns = self.units.get(unit_id)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                self.units.pop(unit_id, None)
                self._unit_locks.pop(unit_id, None)

    # ---- delivery ------------------------------------------------------------------------------------
    async def deliver(self, unit_id: str, *, pending: bool = False, replay: bool = False) -> int:
        """Read the unit's Stream and send what is open to its local connections; returns orders sent.

        ``pending`` also re-sends entries delivered before but not acknowledged (reconnect, redelivery);
        those are checked against the database so an expired or withdrawn order is not shown again.
        ``replay`` marks the orders as sent on (re)connection: they arrived while the phone was away.
        """
        conns = [c for c in self.units.get(unit_id, ()) if not c.closed]
        if not conns:
            return 0
        async with self._unit_locks[unit_id]:
            bus = self.bus
            read = await bus.read_orders(unit_id, pending=True) if pending else []
            read.extend(await bus.read_orders(unit_id, pending=False))
            if pending:
                # An order settled while the phone was away is not shown again: the database decides.
                # (On the live path the order was just committed; a later withdrawal sends its own notice.)
                still_open = await self.ledger.open_order_ids([o["id"] for _e, o in read])
                entries = [(e, o) for e, o in read if o["id"] in still_open]
                for entry_id, order in read:
                    if order["id"] not in still_open:
                        await bus.ack_order(unit_id, order["id"], entry_id)
            else:
                entries = read
            for _entry_id, order in entries:
                msg: dict[str, Any] = {"type": "order", "order": order}
                if replay:
                    msg["replay"] = True
                for conn in conns:
                    conn.send(msg)
        self._delivered.update(o["id"] for _e, o in entries)
        return len(entries)

    async def flush_delivered(self) -> None:
        """Record first-delivery times in one write, off the delivery path."""
        if not self._delivered:
            return
        batch, self._delivered = list(self._delivered), set()
        try:
            await self.ledger.mark_delivered(batch)
        except Exception:
            log.exception("could not record delivery of %d orders", len(batch))

    def _withdraw(self, unit_id: str, msg: dict[str, Any]) -> None:
        for conn in list(self.units.get(unit_id, ())):
            conn.send({"type": "order_withdrawn", "order_id": msg.get("order_id"),
                       "reason": msg.get("reason", "the order was withdrawn")})

    # ---- loops ---------------------------------------------------------------------------------------
    def stop(self) -> None:
        """The loops end at their next turn, even where a cancellation is lost (call before cancelling
        them); deliveries started by notices are cancelled."""
        self._stopping = True
        for task in list(self._tasks):
            task.cancel()

    async def listen(self) -> None:
        """One subscription for the process; reconnects with backoff, never spins."""
        backoff = 0.1
        while not self._stopping:
            pubsub, console, unit_ch = self.bus.subscribe_live()
            try:
                await pubsub.subscribe(console, unit_ch)
                self._set_ready(True, "subscribed to live events")
                backoff = 0.1
                async for msg in pubsub.listen():
                    if msg.get("type") != "message":
                        continue
                    channel = msg["channel"].decode() if isinstance(msg["channel"], bytes) else msg["channel"]
                    data = msg["data"]
                    text = data.decode() if isinstance(data, bytes) else str(data)
                    if channel == console:
                        for conn in list(self.consoles):
                            conn.send(text)  # already JSON: forwarded as is
                    else:
                        self._on_unit_notice(text)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._set_ready(False, f"live events not subscribed: {exc.__class__.__name__}: {exc}; "
                                       "consoles may miss updates until Redis is back")
                log.warning("pub/sub connection lost (%s); reconnecting in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(pubsub.aclose()), 2.0)

    def _set_ready(self, ready: bool, detail: str) -> None:
        if ready and self.ready.is_set():
            return  # still subscribed; a lost subscription is reported on every retry, with its reason
        if ready:
            self.ready.set()
        else:
            self.ready.clear()
        if self.on_ready_change is not None:
            self.on_ready_change(ready, detail)

    def _on_unit_notice(self, text: str) -> None:
        try:
            msg = json.loads(text)
            unit_id = str(msg["unit_id"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignored malformed unit notice %r", text[:200])
            return
        if unit_id not in self.units:
            return
        if msg.get("kind") == "withdrawn":
            self._withdraw(unit_id, msg)
            return
        if msg.get("kind") == "incident":
            # The caller added to the job: the phone shows the new text (dispatch.incidents.tell_units).
            update = {"type": "order_incident", "order_id": msg.get("order_id"), "incident": msg.get("incident")}
            for conn in list(self.units.get(unit_id, ())):
                conn.send(update)
            return
        text = msg.get("text")
        if msg.get("kind") == "order" and isinstance(text, str):
            # The push script already put the entry in the unit's pending list and sent the message
            # ready to go: no Redis round trip, no re-encoding. (A reconnect racing with this may send
            # it twice; phones de-duplicate by order id.)
            conns = [c for c in self.units[unit_id] if not c.closed]
            for conn in conns:
                conn.send(text)
            if conns:
                self._delivered.add(str(msg.get("order_id")))
            return
        task = asyncio.get_running_loop().create_task(self._deliver_logged(unit_id, False))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver_logged(self, unit_id: str, pending: bool) -> None:
        if self._stopping:
            return
        try:
            await self.deliver(unit_id, pending=pending)
        except Exception:
            log.exception("delivery to unit %s failed; the next poll retries", unit_id)

    async def poll(self) -> None:
        """Re-read every held unit's Stream now and then: covers lost wake-ups and dropped sends."""
        interval = self.settings.redelivery_s
        next_poll = asyncio.get_running_loop().time() + interval
        while not self._stopping:
            await asyncio.sleep(min(1.0, interval))
            await self.flush_delivered()
            if asyncio.get_running_loop().time() < next_poll:
                continue
            next_poll = asyncio.get_running_loop().time() + interval
            for unit_id in list(self.units):
                await self._deliver_logged(unit_id, True)

    async def timers(self) -> None:
        """Acknowledgement deadlines: every process tries; only the lease holder acts."""
        bus, ledger = self.bus, self.ledger
        interval = self.settings.sweep_interval_s
        holding = False
        loop = asyncio.get_running_loop()
        next_repair = 0.0
        failing = 0
        try:
            while not self._stopping:
                try:
                    holding = await bus.hold_lease(self.instance, self.settings.lease_ttl_s)
                    if holding and loop.time() >= next_repair:
                        # Before expiry: an order that was never pushed has no deadline in Redis yet.
                        next_repair = loop.time() + REPAIR_INTERVAL_S
                        await ledger.push_unpushed()
                    if holding:
                        await ledger.expire_due()
                    if failing:
                        log.warning("timer sweep recovered after %d failed attempts", failing)
                        failing = 0
                except asyncio.CancelledError:
                    raise
                except RedisError as exc:
                    # One line per outage, not a traceback every sweep: orders wait in the database meanwhile.
                    if not failing:
                        log.warning("timer sweep paused: Redis unreachable (%s); orders wait in the database", exc)
                    failing += 1
                except Exception:
                    failing += 1
                    log.exception("timer sweep failed; retrying")
                await asyncio.sleep(interval)
        finally:
            if holding:
                # Bounded and not shielded: the release must not outlive this task (and the Redis pool
                # closed after it). Should it not finish, the lease lapses by its TTL.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(bus.release_lease(self.instance), 2.0)


