"""Score a JSONL file of labelled cases with the triage rules and print how well it did.

Usage: python bench/triage_eval.py [FILE] [--errors]
FILE defaults to ../shared/incidents/public.jsonl (fields: id, text, lang, source, priority, category,
optional fields/template). Prints the confusion matrix, per-level precision and recall, macro-F1,
P1 recall, the share of P3/P4 cases raised to P1 and category accuracy; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.evaluate import evaluate, format_report

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared" / "incidents" / "public.jsonl"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", default=str(DEFAULT), help="JSONL file of labelled cases")
    parser.add_argument("--errors", action="store_true", help="list every case scored at the wrong level")
    args = parser.parse_args()
    path = Path(args.file)
    try:
        cases = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except OSError as exc:
        print(f"triage_eval: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    except json.JSONDecodeError as exc:
        print(f"triage_eval: {path} is not JSON Lines: {exc}", file=sys.stderr)
        return 2
    result = evaluate(cases)
    print(format_report(result, show_errors=args.errors))
    print(json.dumps(result["summary"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
