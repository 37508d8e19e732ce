"""bench/district.py counts what the voice sockets say the way its docstring defines, including the
events the server is about to send (radio ``busy`` / late transcriptions, per-utterance ``dropped``
and ``utterance_failed``), so the figures stay right when those land. No server, no sockets."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("district_bench", REPO / "bench" / "district.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("district_bench", module)
    spec.loader.exec_module(module)
    return module


d = _bench()


def _summary(stats: Any) -> dict[str, Any]:
    args = argparse.Namespace(model="base", duration=60.0, channels=1, duty=0.15, rooms=1, rate=1.0, seed=1,
                              consoles=1)
    facts = {"plans": [None], "units": ["u"], "phones_up": 1, "run_s": 60.0, "grace_used": 0.0, "mem": {},
             "cpu_server": 0.0, "self_cpu": 0.0, "others_cpu": 0.0, "wall": 60.0, "load_start": (0, 0, 0),
             "load_end": (0, 0, 0),
             "log_errors": {}}
    return d.summarize(stats, args, facts)  # type: ignore[no-any-return]


def _tx(label: str, state: str, late: bool = False) -> dict[str, Any]:
    return {"type": "transmission", "seq": 1, "transmission": {"id": f"id-{label}", "unit_label": label,
                                                               "state": state, "meta": {}, "late": late}}


def test_radio_live_late_shed_failed_dropped_and_missing() -> None:
    stats = d.Stats()
    for label in ("live", "shed", "failed", "dropped", "pending", "silent"):
        stats.radio[label] = d.RadioTx("ch", label, "clip", 5.0, up_sent=100.0)
    d.on_radio_message(_tx("live", "transcribed"), stats, now=101.5)
    d.on_radio_message(_tx("shed", "busy"), stats, now=100.2)
    d.on_radio_message({"type": "busy", "channel": "ch"}, stats, now=100.2)
    d.on_radio_message({"type": "lag", "backlog_seconds": 12}, stats, now=100.3)
    d.on_radio_message(_tx("shed", "transcribed", late=True), stats, now=130.0)
    d.on_radio_message(_tx("failed", "failed"), stats, now=101.0)
    d.on_radio_message(_tx("dropped", "dropped"), stats, now=101.0)
    d.on_radio_message(_tx("pending", "pending"), stats, now=101.0)
    # Found transcribed over REST after its gateway stopped listening at 190.0: no latency, >= 90 s.
    stats.radio["after"] = d.RadioTx("ch", "after", "clip", 5.0, up_sent=100.0, state="transcribed",
                                     listened_until=190.0)
    r = _summary(stats)
    assert (r["radio_transmissions"], r["radio_finals"], r["radio_late"], r["radio_shed"]) == (7, 3, 1, 1)
    assert (r["radio_unmeasured"], r["radio_unmeasured_min_s"]) == (1, 90.0)
    assert (r["radio_failed"], r["radio_dropped"], r["radio_missing"], r["radio_never_filed"]) == (1, 1, 2, 1)
    assert r["radio_finals"] == r["radio_live_finals"] + r["radio_late"] + r["radio_unmeasured"]
    assert r["radio_transmissions"] == r["radio_finals"] + r["radio_dropped"] + r["radio_failed"] + r["radio_missing"]
    # Only the live one has a latency: ptt_up sent at 100.0, transcribed at 101.5.
    assert r["radio_live_finals"] == 1 and r["radio_final_p50_s"] == r["radio_final_p95_s"] == 1.5
    assert (r["busy_events"], r["lag_events"]) == (1, 1)


def test_interview_final_dropped_error_and_unreported_utterances() -> None:
    stats = d.Stats()
    stream = d.InterviewStream(room=0)
    stats.streams.append(stream)
    for i in range(1, 101):  # 10 s of 100 ms frames, the i-th sent at 1000 + i / 10
        stream.sent.append((i / 10, 1000 + i / 10))
    events: list[tuple[float, dict[str, Any]]] = [
        (1001.2, {"type": "partial", "utterance": 1, "text": "a", "start": 0.0, "end": 1.0}),
        (1003.0, {"type": "final", "utterance": 1, "text": "a b", "start": 0.0, "end": 2.0}),
        (1004.0, {"type": "dropped", "utterance": 2, "start": 3.0, "end": 3.2, "reason": "no speech"}),
        (1006.0, {"type": "error", "code": "utterance_failed", "utterance": 3, "start": 4.0, "end": 5.0,
                  "reason": "decoding failed"}),
        # utterance 4: never reported at all
        (1008.5, {"type": "partial", "utterance": 5, "text": "c", "start": 7.0, "end": 8.0}),  # no terminal
        (1010.0, {"type": "final", "utterance": 6, "text": "d", "start": 8.5, "end": 9.25}),
    ]
    for now, ev in events:
        assert not d.on_interview_message(ev, stream, stats, now=now)
    assert d.on_interview_message({"type": "closed", "reason": "end of audio"}, stream, stats, now=1011.0)
    r = _summary(stats)
    assert (r["interview_utterances"], r["interview_finals"], r["interview_dropped"]) == (6, 2, 1)
    assert r["interview_missing"] == 3 and r["interview_errors"] == 1
    assert set(r["interview_not_final"]) == {"room 0.1 #2", "room 0.1 #3", "room 0.1 #4", "room 0.1 #5"}
    # #1 ends at 2.0 s, whose frame went out at 1002.0; #6 ends at 9.25 s, inside the frame (9.2, 9.3]
    # sent at 1009.3: the frame holding the end counts, not the one before it.
    assert stream.utterances[1].latency_s == 1.0
    assert round(stream.utterances[6].latency_s, 3) == 0.7
    assert r["interview_final_p50_s"] == 0.85
