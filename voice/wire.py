"""What a streaming connection needs from its socket: send, receive, close.

``web.ws.Connection`` (one per WebSocket: a reader and a writer task on a bounded queue) is the
implementation the server passes in; the connection classes in :mod:`voice.connections` and
:mod:`voice.radio.gateway` only speak to this protocol, so they never import ``web``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

# RFC 6455 close codes the streaming protocols use.
CLOSE_NORMAL = 1000
CLOSE_POLICY = 1008  # a config or message the protocol does not accept
CLOSE_TRY_AGAIN = 1013  # busy or overloaded: retry later


class Wire(Protocol):
    def send(self, message: dict[str, Any]) -> bool:
        """Queue a JSON message; never blocks (a client too far behind is disconnected)."""
        ...

    def messages(self) -> AsyncIterator[str | bytes]:
        """Text and binary messages until the client closes."""
        ...

    async def receive_json(self, within: float) -> Any:
        """The next message as JSON, or None when none came within ``within`` seconds or it was not JSON."""
        ...

    async def close(self, code: int = CLOSE_NORMAL, reason: str = "") -> None: ...
