"""`jingyun doctor` reports each dependency with its version, and a fix for what is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REDIS_URL

pytestmark = pytest.mark.redis


def _doctor(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "JINGYUN_DATA_DIR": str(tmp_path), "JINGYUN_MODEL": "tiny.en", **env}
    return subprocess.run([sys.executable, "-m", "web.cli", "doctor"], capture_output=True, text=True,
                          timeout=120, env=full)


def test_doctor_all_good(tmp_path: Path) -> None:
    proc = _doctor(tmp_path, REDIS_URL=REDIS_URL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "external Redis 7." in out or "external Redis 8." in out
    assert "sqlite 3." in out
    assert "asr-model" in out and "tiny.en" in out
    assert "[ok  ] vad" in out and out.strip().endswith("all good")


def test_doctor_names_the_fix_for_what_is_missing(tmp_path: Path) -> None:
    proc = _doctor(tmp_path, REDIS_URL="redis://127.0.0.1:1/0", JINGYUN_MODEL=str(tmp_path / "no-model"))
    assert proc.returncode == 1
    out = proc.stdout
    assert "[MISSING] redis" in out and "fix:" in out
    assert "[MISSING] asr-model" in out
    assert "missing: redis, asr-model" in out
