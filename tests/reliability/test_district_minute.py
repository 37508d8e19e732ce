"""The one-minute version of the district benchmark: ``bench/district.py --duration 60``.

One real server process on embedded defaults (its own Valkey, SQLite) with the base model; 20 radio
channels at 15 % duty, 2 interview rooms, 200 phones, 5 consoles, 1 dispatch per second, as in the
300 s run (figures in docs/voice.md). Asserted here: nothing failed and nothing lost — every
transmission filed and transcribed (live or, once shed, later), every interview utterance ended in
a final or a reasoned ``dropped``, every order delivered and acknowledged. Latency, shedding and
memory are the bench's to report against the goals, not this test's: on a shared 2-core CI machine
they measure the neighbours as much as the server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.model, pytest.mark.timeout(660)]

REPO = Path(__file__).resolve().parents[2]


def test_one_district_minute_fails_nothing_and_loses_nothing(shared_dir: Path) -> None:
    # 60 s of traffic, plus start-up (model join and load, 200 units), at most 120 s to drain the
    # sockets and 120 s of grace for shed transmissions: under 600 s.
    run = subprocess.run([sys.executable, "bench/district.py", "--duration", "60"], cwd=REPO, capture_output=True,
                         text=True, timeout=600, env={**os.environ, "JINGYUN_SHARED_DIR": str(shared_dir)})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    r = json.loads(run.stdout.strip().splitlines()[-1])
    summary = run.stdout[-4000:]

    assert r["radio_transmissions"] > 0 and r["radio_never_filed"] == 0, summary
    assert r["radio_failed"] == 0 and r["radio_missing"] == 0, summary
    # Every transmission is speech: it ends transcribed, live or late; none is left waiting. A drop
    # (the server heard no speech) is reported by the bench; with failed and missing at zero, the
    # rest must all be finals.
    assert r["radio_finals"] == r["radio_transmissions"] - r["radio_dropped"], summary
    assert r["radio_finals"] > 0, summary
    assert r["radio_live_finals"] + r["radio_late"] + r["radio_unmeasured"] == r["radio_finals"], summary

    assert r["interview_utterances"] > 0 and r["interview_missing"] == 0, summary
    assert r["interview_finals"] + r["interview_dropped"] == r["interview_utterances"], summary
    assert r["interview_finals"] > 0, summary

    assert r["phones_connected"] == r["units"] == 200, summary
    assert r["orders_created"] >= 50, summary  # 1 dispatch/s for 60 s
    assert r["orders_acked"] == r["orders_delivered"] == r["orders_created"], summary
    assert r["console_reconnects"] == 0 and r["console_events"] > 0, summary
    assert r["errors"] == {}, summary
