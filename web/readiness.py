"""What ``/readyz`` reports: one status per component, set by the component's lifecycle."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ComponentStatus:
    ready: bool
    detail: str = ""
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Readiness:
    """Components register as not ready at start and flip when they are; probes read the snapshot."""

    components: dict[str, ComponentStatus] = field(default_factory=dict)

    def set(self, name: str, ready: bool, detail: str = "", **info: Any) -> None:
        self.components[name] = ComponentStatus(ready, detail, info)

    @property
    def ready(self) -> bool:
        return bool(self.components) and all(c.ready for c in self.components.values())

    def snapshot(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "components": {
                name: {"status": "ready" if c.ready else "not_ready", "detail": c.detail, **c.info}
                for name, c in sorted(self.components.items())
            },
        }
