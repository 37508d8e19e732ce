"""One class per WebSocket connection: a reader loop plus a writer task on a bounded queue.

A client that stops reading cannot make the server grow memory: when its outbound queue is
full it is closed with code 4008 and a reason, and counted in ``jingyun_websocket_dropped_total``.
Every connection is registered for graceful shutdown (closed with GOING_AWAY) and logs with
its own connection id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from web import appkeys
from web.logs import request_id

log = logging.getLogger("jingyun.ws")

CLOSE_TOO_SLOW = 4008  # application-defined: the client fell too far behind
CLOSE_POLICY = int(WSCloseCode.POLICY_VIOLATION)
CLOSE_TOO_BIG = int(WSCloseCode.MESSAGE_TOO_BIG)
CLOSE_TRY_AGAIN = int(WSCloseCode.TRY_AGAIN_LATER)


class Connection:
    """Server side of one WebSocket. Create, ``await prepare()``, iterate :meth:`messages`, ``close``."""

    def __init__(self, request: web.Request, kind: str, *, queue_size: int | None = None) -> None:
        settings = request.app[appkeys.SETTINGS]
        self.request = request
        self.kind = kind
        self.id = uuid.uuid4().hex[:12]
        self.ws = web.WebSocketResponse(heartbeat=settings.ws_heartbeat,
                                        max_msg_size=settings.max_ws_message_bytes)
        self._queue: asyncio.Queue[str | bytes | None] = asyncio.Queue(queue_size or settings.ws_send_queue)
        self._writer: asyncio.Task[None] | None = None
        self.close_reason = ""
        self.log = logging.LoggerAdapter(log, {"conn": self.id, "kind": kind})

    async def prepare(self) -> web.WebSocketResponse:
        request_id.set(self.id)
        await self.ws.prepare(self.request)
        self.request.app[appkeys.WEBSOCKETS].add(self.ws)
        metrics = self.request.app.get(appkeys.METRICS)
        if metrics:
            metrics.ws_connections.labels(self.kind).inc()
        self._writer = asyncio.create_task(self._write_loop(), name=f"ws-writer-{self.kind}-{self.id}")
        self.log.info("websocket open", extra={"peer": self.request.remote})
        return self.ws

    @property
    def closed(self) -> bool:
        return self.ws.closed or bool(self.close_reason)

    def send(self, message: dict[str, Any] | str | bytes) -> bool:
        """Queue a message without waiting. A full queue closes the connection as too slow."""
        if self.closed:
            return False
        data = message if isinstance(message, str | bytes) else json.dumps(message, ensure_ascii=False)
        try:
            self._queue.put_nowait(data)
        except asyncio.QueueFull:
            metrics = self.request.app.get(appkeys.METRICS)
            if metrics:
                metrics.ws_dropped.labels(self.kind).inc()
            self.log.warning("client too slow, closing", extra={"queued": self._queue.qsize()})
            self._abort(CLOSE_TOO_SLOW, f"too slow: more than {self._queue.maxsize} messages waiting")
            return False
        return True

    def queued(self) -> int:
        return self._queue.qsize()

    def _abort(self, code: int, reason: str) -> None:
        if self.close_reason:
            return
        self.close_reason = reason
        asyncio.get_running_loop().create_task(self.ws.close(code=code, message=reason.encode()[:120]))

    async def _write_loop(self) -> None:
        try:
            while True:
                data = await self._queue.get()
                try:
                    if data is None:
                        return
                    if isinstance(data, bytes):
                        await self.ws.send_bytes(data)
                    else:
                        await self.ws.send_str(data)
                finally:
                    self._queue.task_done()
        except (ConnectionResetError, RuntimeError, asyncio.CancelledError):
            return

    async def messages(self) -> AsyncIterator[str | bytes]:
        """Text and binary messages until the peer closes; oversize messages close with 1009."""
        async for msg in self.ws:
            if msg.type is WSMsgType.TEXT:
                yield msg.data
            elif msg.type is WSMsgType.BINARY:
                yield msg.data
            elif msg.type is WSMsgType.ERROR:
                self.log.info("websocket error: %s", self.ws.exception())
                return

    async def receive_json(self, within: float) -> Any:
        """First-message helper: a JSON text message within ``within`` seconds, else ``None``."""
        try:
            msg = await self.ws.receive(timeout=within)
        except TimeoutError:
            return None
        if msg.type is not WSMsgType.TEXT:
            return None
        try:
            return json.loads(msg.data)
        except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
            return None

    async def flush(self, within: float = 5.0) -> None:
        """Wait until queued messages are written (e.g. a final error before closing)."""
        if self._writer is None or self._writer.done():
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await self._queue.join()

    async def close(self, code: int = int(WSCloseCode.OK), reason: str = "") -> None:
        """Flush what is queued, then close. Always safe to call; used in ``finally:``."""
        if not self.ws.closed and not self.close_reason:
            await self.flush()
        self.close_reason = self.close_reason or reason or "closed"
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)
        if self._writer:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writer
        if not self.ws.closed:
            with contextlib.suppress(Exception):
                await self.ws.close(code=code, message=reason.encode()[:120])
        if self.ws in self.request.app[appkeys.WEBSOCKETS]:
            self.request.app[appkeys.WEBSOCKETS].discard(self.ws)
            metrics = self.request.app.get(appkeys.METRICS)
            if metrics:
                metrics.ws_connections.labels(self.kind).dec()
        self.log.info("websocket closed", extra={"reason": self.close_reason})
