"""Settings: defaults, environment parsing, and errors that name the setting, value and what is accepted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from web.settings import Settings, SettingsError, settings_table


def test_defaults_need_no_environment(tmp_path: Path) -> None:
    s = Settings.from_env({"JINGYUN_DATA_DIR": str(tmp_path)})
    assert s.port == 8080 and s.host == "127.0.0.1"
    assert s.redis_url is None and s.database_url is None
    assert s.sqlalchemy_url == f"sqlite+aiosqlite:///{tmp_path / 'jingyun.sqlite3'}"
    assert s.voice.model == "base"


def test_environment_and_overrides(tmp_path: Path) -> None:
    env = {"JINGYUN_PORT": "9000", "REDIS_URL": "redis://127.0.0.1:6379/2",
           "DATABASE_URL": "postgresql://u@h/db", "JINGYUN_ALLOWED_ORIGINS": "https://a.example, https://b.example",
           "JINGYUN_LOG_JSON": "no", "JINGYUN_DATA_DIR": str(tmp_path)}
    s = Settings.from_env(env, port=9100)
    assert s.port == 9100  # a flag wins over the environment
    assert s.sqlalchemy_url == "postgresql+asyncpg://u@h/db" and s.database_kind == "postgresql"
    assert s.allowed_origins == ("https://a.example", "https://b.example")
    assert s.log_json is False


@pytest.mark.parametrize(("name", "value", "accepted"), [
    ("JINGYUN_PORT", "eighty", "an integer from 1 to 65535"),
    ("JINGYUN_PORT", "70000", "an integer from 1 to 65535"),
    ("JINGYUN_LOG_LEVEL", "LOUD", "one of DEBUG, INFO, WARNING, ERROR"),
    ("JINGYUN_LOG_JSON", "maybe", "a boolean"),
    ("JINGYUN_WS_HEARTBEAT", "nan", "a number from 1 to 600"),
    ("REDIS_URL", "http://localhost:6379", "a redis://, rediss:// or unix:// URL"),
    ("DATABASE_URL", "mysql://root@localhost/x", "a sqlite:///PATH or postgresql://USER@HOST/DB URL"),
    ("JINGYUN_ALLOWED_ORIGINS", "console.example.org", "origins such as https://console.example.org"),
    ("JINGYUN_ACK_TIMEOUT", "0", "a number from 1 to 3600"),
])
def test_bad_setting_names_variable_value_and_accepted(name: str, value: str, accepted: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({name: value})
    err = info.value
    assert err.name == name
    assert err.value == value
    assert accepted in err.accepted
    assert name in str(err) and repr(value) in str(err)


def test_short_secret_is_refused_without_echoing_it() -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"JINGYUN_SECRET": "hunter2"})
    assert "hunter2" not in str(info.value)
    assert "at least 32" in str(info.value)


def test_generated_secret_is_stable_and_private(tmp_path: Path) -> None:
    s = Settings.from_env({"JINGYUN_DATA_DIR": str(tmp_path)})
    first = s.resolved_secret()
    assert len(first) >= 32 and first == s.resolved_secret()
    assert (tmp_path / "secret.key").stat().st_mode & 0o077 == 0


def test_every_setting_is_documented() -> None:
    rows = settings_table()
    names = [r[0] for r in rows]
    assert len(names) == len(set(names)), "a variable is declared twice"
    assert {"JINGYUN_DATA_DIR", "REDIS_URL", "DATABASE_URL", "JINGYUN_MODEL", "JINGYUN_SECRET"} <= set(names)
    assert all(doc for _, _, doc in rows)


def test_serve_refuses_to_start_on_a_bad_setting(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "web.cli", "serve"], capture_output=True, text=True, timeout=60,
                          env={"JINGYUN_PORT": "0", "JINGYUN_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2
    assert "JINGYUN_PORT" in proc.stderr and "'0'" in proc.stderr and "1 to 65535" in proc.stderr
