"""How many streams the speech engine takes at once: JINGYUN_MAX_STREAMS over every kind of stream.

A continuous stream (``/ws/transcribe``, WhisperLive) weighs 1; a radio channel less
(JINGYUN_RADIO_CHANNEL_WEIGHT: it talks part of the time). Pure bookkeeping, one registry per
process.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


@dataclass
class StreamRegistry:
    """The open streams and the share of the engine each may use."""

    streams: dict[str, float] = field(default_factory=dict)

    @property
    def load(self) -> float:
        return sum(self.streams.values())


class Admission:
    """Counts a stream (``weight``) against ``limit`` for as long as it is open (a context manager).

    ``admitted`` says whether it fits. A stream that does not fit is refused busy, except with
    ``always`` (radio: a gateway's audio is kept whatever happens; it is decoded after admitted
    streams and shed first), where it still counts so that others see the load."""

    def __init__(self, registry: StreamRegistry, limit: int, weight: float = 1.0, *, always: bool = False) -> None:
        self.registry, self.limit, self.weight, self.always = registry, limit, weight, always
        self.id = uuid.uuid4().hex[:16]
        self.admitted = False

    def __enter__(self) -> Admission:
        self.admitted = self.registry.load + self.weight <= self.limit + 1e-9
        if self.admitted or self.always:
            self.registry.streams[self.id] = self.weight
        return self

    def release(self) -> None:
        """Free the slot (before the final "closed" message, so a client may reconnect at once)."""
        self.registry.streams.pop(self.id, None)

    def __exit__(self, *exc: object) -> None:
        self.release()
