"""Intelligence settings: read from the environment by ``web.envparse`` (field metadata names the variable)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IntelSettings:
    pass
