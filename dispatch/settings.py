"""Dispatch settings: read from the environment by ``web.envparse`` (field metadata names the variable)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DispatchSettings:
    ack_timeout_s: float = field(default=30.0, metadata={
        "env": "JINGYUN_ACK_TIMEOUT", "doc": "seconds a unit has to acknowledge an order before escalation",
        "lo": 1, "hi": 3600})
