"""Score a JSONL file of labelled cases with the triage scorer and print how well it did.

Usage: python bench/triage_eval.py [FILE ...] [--errors] [--dev]
FILE defaults to ../shared/incidents/public.jsonl (fields: id, text, lang, source, priority, category,
location_text, optional fields/template); several files are scored as one set. ``--dev`` scores the
dev split of the training corpus (analytics/corpus/, the records train_model.py never trained on).
Prints the confusion matrix, per-level precision and recall, then for the whole set and per language:
P1 recall, macro-F1, over-triage to P1 (share of P3/P4 cases scored P1), accuracy, category accuracy,
location rate and the share of results marked uncertain; then texts scored per CPU-second on one core.
The last line is one JSON object (aggregates only). Per-case lines appear only with ``--errors``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.evaluate import evaluate, format_report
from analytics.triage import triage

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared" / "incidents" / "public.jsonl"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="JSONL files of labelled cases (default: the public set)")
    parser.add_argument("--dev", action="store_true", help="score the training corpus's dev split")
    parser.add_argument("--errors", action="store_true", help="list every case scored at the wrong level")
    args = parser.parse_args()
    cases = []
    if args.dev:
        from analytics.train_model import load_corpus, split

        cases.extend(split(load_corpus())[1])
    paths = [Path(f) for f in args.files] or ([] if args.dev else [DEFAULT])
    for path in paths:
        try:
            cases.extend(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
        except OSError as exc:
            print(f"triage_eval: cannot read {path}: {exc.strerror}", file=sys.stderr)
            return 2
        except json.JSONDecodeError as exc:
            print(f"triage_eval: {path} is not JSON Lines: {exc}", file=sys.stderr)
            return 2
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core: the speed is per core
    triage("warm-up: 有人受伤 someone is hurt")  # jieba's dictionary and the model load once, not timed
    result = evaluate(cases)
    print(format_report(result, show_errors=args.errors))
    print(json.dumps(result["summary"], ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
