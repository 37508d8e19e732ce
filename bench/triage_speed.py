"""Texts scored per second by the triage scorer on one core.

Usage: python bench/triage_speed.py [FILE] [--seconds S]
Scores the texts of FILE (default ../shared/incidents/public.jsonl) round-robin for S seconds
(default 5) in this one process and thread, pinned to one core, after a warm-up. ``texts_per_second``
divides by the CPU time this process used, so other work on a shared machine does not count against
the scorer; ``wall_texts_per_second`` divides by elapsed time (the same on an idle machine).
Last line: one JSON object with ``texts_per_second``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.triage import triage

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared" / "incidents" / "public.jsonl"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", default=str(DEFAULT))
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, as the goal says
    cases = [json.loads(line) for line in Path(args.file).read_text(encoding="utf-8").splitlines() if line.strip()]
    items = [(c["text"], c.get("lang"), c.get("source", "call"), c.get("fields")) for c in cases]
    for text, lang, source, fields in items:  # warm-up: jieba dictionary, regex caches
        triage(text, lang=lang, source=source, fields=fields)
    n = 0
    chars = 0
    latencies = []
    start = time.perf_counter()
    cpu_start = time.process_time()
    deadline = start + args.seconds
    while time.perf_counter() < deadline:
        for text, lang, source, fields in items:
            t0 = time.perf_counter()
            triage(text, lang=lang, source=source, fields=fields)
            latencies.append(time.perf_counter() - t0)
            n += 1
            chars += len(text)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    latencies.sort()
    rate = n / cpu
    wall_rate = n / elapsed
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    print(f"{n} texts ({chars / n:.0f} chars on average) in {elapsed:.2f} s wall, {cpu:.2f} s CPU, one core")
    print(f"{rate:,.0f} texts per CPU-second ({wall_rate:,.0f} per wall second)   p50 {p50:.3f} ms   "
          f"p99 {p99:.3f} ms   goal >= 2,000 texts/s")
    print(json.dumps({"texts_per_second": round(rate, 1), "wall_texts_per_second": round(wall_rate, 1),
                      "p50_ms": round(p50, 3), "p99_ms": round(p99, 3), "texts": n, "goal": 2000}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
