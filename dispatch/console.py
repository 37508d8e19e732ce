"""Live events to every dispatcher console of every process (Redis pub/sub: losable, so a lost or
dropped event is never an error; consoles resync from the snapshot).

Events about an incident, unit or order that follow a change are queued by :meth:`Console.emit`
and built from the database when :meth:`Console.run_emitter` (started by the web layer) sends them,
``EMIT_DELAY_S`` later.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from dispatch.bus import Bus
from dispatch.model import iso, utcnow
from dispatch.store import Store

log = logging.getLogger("jingyun.dispatch")

# Console events are built (from the database) this long after the change that queued them, so the
# change's latency-critical work, the order push to a phone, is not queued behind them on the event
# loop; events for one object within the window coalesce. Consoles are not latency-critical.
EMIT_DELAY_S = 0.01


class Console:
    """Publishes console events for this process (``origin`` names it)."""

    def __init__(self, bus: Bus, store: Store, instance: str) -> None:
        self.bus = bus
        self.store = store
        self.instance = instance
        self._emits: asyncio.Queue[tuple[str, str, str]] = asyncio.Queue(maxsize=10_000)
        self._emitter_running = False
        self._pending_emits: set[tuple[str, str, str]] = set()
        self._spare_tasks: set[asyncio.Task[Any]] = set()

    async def publish(self, event: dict[str, Any]) -> None:
        """Send a live event to every dispatcher console of every process (losable pub/sub)."""
        event = {**event, "origin": self.instance}
        event.setdefault("at", iso(utcnow()))
        try:
            await self.bus.publish_console(event)
        except Exception:
            # Consoles resync from the snapshot; a lost live event must not fail the change itself.
            log.exception("could not publish console event %s", event.get("type"))

    def emit(self, kind: str, obj_id: str, action: str = "updated") -> None:
        """Queue a console event about an incident, unit or order, built from its state when sent.

        The change is already committed; the console event is losable (consoles resync from the
        snapshot), so a full queue drops it with a log line rather than slowing dispatch down.
        """
        if not self._emitter_running:
            task = asyncio.get_running_loop().create_task(self._send(kind, obj_id, action))
            self._spare_tasks.add(task)
            task.add_done_callback(self._spare_tasks.discard)
            return
        if (kind, obj_id, action) in self._pending_emits:
            return  # one event, built when sent, shows the latest state anyway
        try:
            self._emits.put_nowait((kind, obj_id, action))
            self._pending_emits.add((kind, obj_id, action))
        except asyncio.QueueFull:
            log.warning("console event queue full; dropped %s %s event", kind, action)

    async def _send(self, kind: str, obj_id: str, action: str) -> None:
        try:
            if kind == "incident":
                await self.publish({"type": "incident", "action": action,
                                    "incident": await self.store.get_incident(obj_id)})
            elif kind == "unit":
                await self.publish({"type": "unit", "action": action, "unit": await self.store.get_unit(obj_id)})
            elif kind == "order":
                await self.publish({"type": "order", "action": action, "order": await self.store.get_order(obj_id)})
        except Exception:
            log.exception("could not build the console event for %s %s", kind, obj_id)

    async def close(self) -> None:
        """Stop console events still in flight (shutdown); the changes themselves are committed."""
        tasks = list(self._spare_tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)

    async def run_emitter(self) -> None:
        """Publish queued console events in order (started by the web layer)."""
        self._emitter_running = True
        try:
            while True:
                first = await self._emits.get()
                await asyncio.sleep(EMIT_DELAY_S)  # see EMIT_DELAY_S
                batch = [first]
                while not self._emits.empty():
                    batch.append(self._emits.get_nowait())
                for kind, obj_id, action in batch:
                    self._pending_emits.discard((kind, obj_id, action))
                    await self._send(kind, obj_id, action)
        finally:
            self._emitter_running = False
