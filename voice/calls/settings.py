"""Call settings, read by ``web.envparse`` like every other section (field metadata names the variable)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def _s(default: Any, env: str, doc: str, **meta: Any) -> Any:
    return field(default=default, metadata={"env": env, "doc": doc, **meta})


@dataclass(frozen=True)
class CallSettings:
    max_audio_seconds: float = _s(1800.0, "JINGYUN_CALL_MAX_AUDIO_SECONDS",
                                  "seconds of a call's audio kept (Opus, at the end of the call); beyond it the "
                                  "rest is still transcribed and scored but not kept, and the call record says so "
                                  "(0: no call audio kept)", lo=0.0, hi=4 * 3600.0)
    audio_retention_days: float = _s(90.0, "JINGYUN_CALL_AUDIO_RETENTION_DAYS",
                                     "days call audio is kept before it is deleted (the transcript and the "
                                     "recording's hash stay; 0: forever)", lo=0.0, hi=36500.0)
