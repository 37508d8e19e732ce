"""Interview-room settings, read by ``web.envparse`` like every other section."""

from __future__ import annotations

from dataclasses import dataclass

from common.settings import setting


@dataclass(frozen=True)
class InterviewSettings:
    audio_retention_days: float = setting(3650.0, "JINGYUN_INTERVIEW_AUDIO_RETENTION_DAYS",
                                          "days interview audio is kept before it is deleted (the signed hash "
                                          "stays)", lo=0.0, hi=36500.0)
    max_audio_seconds: float = setting(4 * 3600.0, "JINGYUN_INTERVIEW_MAX_AUDIO_SECONDS",
                                       "longest interview recording accepted, seconds", lo=1.0, hi=24 * 3600.0)
