"""Voice settings: read from the environment by ``web.envparse`` (field metadata names the variable)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class VoiceSettings:
    model: str = field(default="base", metadata={
        "env": "JINGYUN_MODEL",
        "doc": "ASR model: base, tiny.en, or a directory holding a CTranslate2 Whisper model"})
    load_model: bool = field(default=True, metadata={
        "env": "JINGYUN_LOAD_MODEL", "doc": "load the ASR model at start-up (false: voice endpoints answer 503)"})
