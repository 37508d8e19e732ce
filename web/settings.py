"""All server settings in one typed place.

Every setting is read from an environment variable (see the configuration table in README.md,
generated from the declarations here by ``jingyun settings``); ``jingyun serve`` flags override
them. A bad value stops start-up with a :class:`SettingsError` that names the variable, the bad
value and what is accepted.

The core packages keep their own sections (``voice.settings``, ``dispatch.settings``,
``analytics.settings``, ``voice.radio.settings``, ``voice.interview.settings``, ``voice.calls.settings``):
plain dataclasses whose fields carry ``metadata={"env": ..., "doc": ..., "lo": ..., "hi": ..., "choices": ...}``
(declared with ``common.settings.setting``). They are composed
here so there is one object to pass around, and only ``web.envparse`` reads the environment.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analytics.settings import IntelSettings
from cases.settings import CaseSettings
from dispatch.settings import DispatchSettings
from inspections.settings import InspectionSettings
from voice.calls.settings import CallSettings
from voice.interview.settings import InterviewSettings
from voice.radio.settings import RadioSettings
from voice.settings import VoiceSettings
from web.envparse import SettingsError, describe_settings, load_settings, setting
from web.page_settings import PageSettings

__all__ = ["Settings", "SettingsError", "settings_table"]

# The sections composed from the core packages (attribute names of Settings).
SECTIONS = ("voice", "dispatch", "intel", "radio", "interview", "calls", "pages", "cases", "inspections")
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
_DB_SCHEMES = ("sqlite:///", "sqlite+aiosqlite:///", "postgresql://", "postgres://", "postgresql+asyncpg://")


@dataclass(frozen=True)
class Settings:
    host: str = setting("127.0.0.1", "JINGYUN_HOST", "address to listen on")
    port: int = setting(8080, "JINGYUN_PORT", "TCP port to listen on", lo=1, hi=65535)
    data_dir: Path = setting(Path("data"), "JINGYUN_DATA_DIR",
                             "SQLite file, embedded Valkey data, model cache, audio and the generated secret")
    redis_url: str | None = setting(None, "REDIS_URL",
                                    "external Redis 7.x (redis://, rediss://, unix://); unset: embedded Valkey")
    redis_prefix: str = setting("jy:", "JINGYUN_REDIS_PREFIX", "prefix of every Redis key and channel")
    database_url: str | None = setting(None, "DATABASE_URL",
                                       "sqlite:///PATH or postgresql://USER@HOST/DB; unset: SQLite in data dir")
    secret: str = setting("", "JINGYUN_SECRET",
                          "HMAC secret for tokens (>= 32 chars); unset: generated once into DATA_DIR/secret.key",
                          secret=True)
    token_ttl: int = setting(12 * 3600, "JINGYUN_TOKEN_TTL", "default token lifetime, seconds",
                             lo=60, hi=366 * 86400)
    allowed_origins: tuple[str, ...] = setting(
        (), "JINGYUN_ALLOWED_ORIGINS",
        "Origins allowed on WebSocket upgrade, comma-separated; unset: same host as the request only")
    log_level: str = setting("INFO", "JINGYUN_LOG_LEVEL", "log level",
                             choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    log_json: bool = setting(True, "JINGYUN_LOG_JSON", "log one JSON object per line (false: plain text)")
    max_request_bytes: int = setting(25 * 1024 * 1024, "JINGYUN_MAX_REQUEST_BYTES",
                                     "largest HTTP request body accepted, bytes", lo=1024)
    max_ws_message_bytes: int = setting(1024 * 1024, "JINGYUN_MAX_WS_MESSAGE_BYTES",
                                        "largest WebSocket message accepted, bytes", lo=1024)
    ws_send_queue: int = setting(256, "JINGYUN_WS_SEND_QUEUE",
                                 "outbound messages buffered per WebSocket before it is closed as too slow",
                                 lo=8, hi=100_000)
    ws_heartbeat: float = setting(20.0, "JINGYUN_WS_HEARTBEAT", "WebSocket ping interval, seconds",
                                  lo=1.0, hi=600.0)
    ws_auth_timeout: float = setting(10.0, "JINGYUN_WS_HANDSHAKE_TIMEOUT",
                                     "seconds a WebSocket client has to send its first message", lo=0.5, hi=300)
    rate_limit_per_min: int = setting(60, "JINGYUN_RATE_LIMIT_PER_MIN",
                                      "requests per minute per client address on kiosk endpoints", lo=1)
    executor_threads: int = setting(2, "JINGYUN_EXECUTOR_THREADS",
                                    "threads for blocking work other than ASR", lo=1, hi=64)
    malloc_arenas: int = setting(2, "JINGYUN_MALLOC_ARENAS",
                                 "glibc malloc arenas for jingyun serve (0: glibc's default, 8 per core): fewer "
                                 "arenas keep the decoder threads' freed memory reusable", lo=0, hi=512)
    memory_trim_seconds: float = setting(60.0, "JINGYUN_MEMORY_TRIM_SECONDS",
                                         "seconds between returns of freed heap memory to the system "
                                         "(glibc malloc_trim; 0 disables)", lo=0.0, hi=86400.0)
    embedded_redis_start_timeout: float = setting(15.0, "JINGYUN_EMBEDDED_REDIS_TIMEOUT",
                                                  "seconds to wait for embedded Valkey to answer", lo=1, hi=300)
    voice: VoiceSettings = field(default_factory=VoiceSettings)
    dispatch: DispatchSettings = field(default_factory=DispatchSettings)
    intel: IntelSettings = field(default_factory=IntelSettings)
    radio: RadioSettings = field(default_factory=RadioSettings)
    interview: InterviewSettings = field(default_factory=InterviewSettings)
    calls: CallSettings = field(default_factory=CallSettings)
    pages: PageSettings = field(default_factory=PageSettings)
    cases: CaseSettings = field(default_factory=CaseSettings)
    inspections: InspectionSettings = field(default_factory=InspectionSettings)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read settings from ``env`` (default ``os.environ``); non-None keyword overrides win.

        Raises :class:`SettingsError` on the first bad value.
        """
        env = os.environ if env is None else env
        sections = {name: overrides.pop(name) for name in SECTIONS if name in overrides}
        base = load_settings(cls, env, overrides)
        values: dict[str, Any] = {
            "voice": sections.get("voice") or load_settings(VoiceSettings, env),
            "dispatch": sections.get("dispatch") or load_settings(DispatchSettings, env),
            "intel": sections.get("intel") or load_settings(IntelSettings, env),
            "radio": sections.get("radio") or load_settings(RadioSettings, env),
            "interview": sections.get("interview") or load_settings(InterviewSettings, env),
            "calls": sections.get("calls") or load_settings(CallSettings, env),
            "pages": sections.get("pages") or load_settings(PageSettings, env),
            "cases": sections.get("cases") or load_settings(CaseSettings, env),
            "inspections": sections.get("inspections") or load_settings(InspectionSettings, env),
            "data_dir": Path(base.data_dir).expanduser().resolve(),
        }
        settings = dataclasses.replace(base, **values)
        settings.check()
        return settings

    def check(self) -> None:
        """Cross-field checks that a single field's range cannot express."""
        if self.secret and len(self.secret) < 32:
            raise SettingsError("JINGYUN_SECRET", "(hidden)", "a secret of at least 32 characters")
        if self.redis_url and not self.redis_url.startswith(_REDIS_SCHEMES):
            raise SettingsError("REDIS_URL", self.redis_url, "a redis://, rediss:// or unix:// URL")
        if self.database_url and not self.database_url.startswith(_DB_SCHEMES):
            raise SettingsError("DATABASE_URL", self.database_url,
                                "a sqlite:///PATH or postgresql://USER@HOST/DB URL")
        for origin in self.allowed_origins:
            if not origin.startswith(("http://", "https://")):
                raise SettingsError("JINGYUN_ALLOWED_ORIGINS", origin,
                                    "origins such as https://console.example.org")

    # ---- derived values -------------------------------------------------------------------
    @property
    def sqlalchemy_url(self) -> str:
        """The async SQLAlchemy URL for the configured database."""
        if not self.database_url:
            return f"sqlite+aiosqlite:///{self.data_dir / 'jingyun.sqlite3'}"
        url = self.database_url
        for plain, async_ in (("postgresql://", "postgresql+asyncpg://"), ("postgres://", "postgresql+asyncpg://"),
                              ("sqlite:///", "sqlite+aiosqlite:///")):
            if url.startswith(plain):
                return async_ + url[len(plain):]
        return url

    @property
    def database_kind(self) -> str:
        return "postgresql" if self.sqlalchemy_url.startswith("postgresql") else "sqlite"

    def resolved_secret(self) -> str:
        """The token secret: the configured one, else one generated once into the data dir."""
        if self.secret:
            return self.secret
        path = self.data_dir / "secret.key"
        if path.exists():
            return path.read_text(encoding="ascii").strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        # O_EXCL: two processes starting together must not each write a different secret.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text(encoding="ascii").strip()
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(value)
        return value


def settings_table() -> list[tuple[str, str, str]]:
    """Every setting as (variable, default, meaning), for ``jingyun settings`` and the README."""
    rows = describe_settings(Settings)
    for section in (VoiceSettings, DispatchSettings, IntelSettings, RadioSettings, InterviewSettings, CallSettings,
                    PageSettings):
        rows.extend(describe_settings(section))
    rows.extend(describe_settings(CaseSettings))
    rows.extend(describe_settings(InspectionSettings))
    return rows
