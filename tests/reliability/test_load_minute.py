"""The one-minute version of the soak: ``bench/load.py --duration 60`` against a real server process.

1,000 officer WebSockets receiving and acknowledging orders, 8 real-time audio streams on tiny.en and
20 consoles, as in the 10-minute soak (``python bench/load.py --duration 600``, figures in
docs/reliability.md). Asserted here: nothing lost and nothing failed. Latency and memory are the
bench's to report, not this test's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]

REPO = Path(__file__).resolve().parents[2]


def test_one_minute_of_load_loses_nothing_and_fails_nothing(shared_dir: Path) -> None:
    run = subprocess.run([sys.executable, "bench/load.py", "--duration", "60"], cwd=REPO, capture_output=True,
                         text=True, timeout=360, env={**os.environ, "JINGYUN_SHARED_DIR": str(shared_dir)})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["phones_connected"] == result["units"] == 1000, result
    assert result["orders_created"] >= 250, result  # 5 orders/s for 60 s
    assert result["orders_delivered"] == result["orders_acknowledged"] == result["orders_created"], result
    assert result["error_count"] == 0 and result["errors"] == {} and result["audio_errors"] == {}, result
    assert result["console_reconnects"] == 0 and result["audio_lag_events"] == 0, result
    assert result["audio_finals"] > 0 and result["console_events"] > 0, result

