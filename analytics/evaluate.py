"""Evaluation of the triage scorer on labelled cases: confusion matrix, per-level P/R, macro-F1, and more.

Figures: P1 recall, macro-F1 over the levels present, over-triage to P1 (share of P3/P4 cases scored
P1), category accuracy, location rate (cases naming a place whose place was found), uncertain share
(results marked ``uncertain``), per language, and texts scored per CPU-second.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from analytics.triage import triage
from common.levels import LEVELS


@dataclass(frozen=True)
class _Row:
    truth: str
    got: str
    lang: str
    category: str | None
    got_category: str
    location: bool | None  # None: the case names no place
    uncertain: bool


def _matrix(rows: list[_Row]) -> dict[str, dict[str, int]]:
    matrix = {t: dict.fromkeys(LEVELS, 0) for t in LEVELS}
    for r in rows:
        matrix[r.truth][r.got] += 1
    return matrix


def _per_level(matrix: dict[str, dict[str, int]]) -> dict[str, dict[str, float]]:
    out = {}
    for lv in LEVELS:
        tp = matrix[lv][lv]
        predicted = sum(matrix[t][lv] for t in LEVELS)
        actual = sum(matrix[lv].values())
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[lv] = {"precision": precision, "recall": recall, "f1": f1, "support": actual}
    return out


def _figures(rows: list[_Row]) -> dict[str, Any]:
    matrix = _matrix(rows)
    per_level = _per_level(matrix)
    f1s = [m["f1"] for m in per_level.values() if m["support"]]
    low = sum(matrix["P3"].values()) + sum(matrix["P4"].values())
    over = matrix["P3"]["P1"] + matrix["P4"]["P1"]
    n = len(rows)
    cats = [r for r in rows if r.category]
    locs = [r for r in rows if r.location is not None]
    return {
        "cases": n,
        "p1_recall": round(per_level["P1"]["recall"], 4) if per_level["P1"]["support"] else None,
        "macro_f1": round(sum(f1s) / len(f1s), 4) if f1s else 0.0,
        "over_triage_p1": round(over / low, 4) if low else 0.0,
        "accuracy": round(sum(matrix[lv][lv] for lv in LEVELS) / n, 4) if n else 0.0,
        "category_accuracy": round(sum(r.category == r.got_category for r in cats) / len(cats), 4) if cats else None,
        # the place found overlaps the labelled location_text (one contains the other)
        "location_found": round(sum(bool(r.location) for r in locs) / len(locs), 4) if locs else None,
        "uncertain_share": round(sum(r.uncertain for r in rows) / n, 4) if n else 0.0,
    }


def evaluate(cases: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Score every case; returns the matrix, per-level figures, errors and a summary dict.

    Each case needs ``text`` and ``priority`` (P1..P4); ``lang``, ``source``, ``fields``, ``template``,
    ``category`` and ``location_text`` are used when present. ``summary["by_lang"]`` has the same
    figures per language, ``summary["texts_per_cpu_second"]`` the scoring speed of this run.
    """
    rows: list[_Row] = []
    errors: list[dict[str, Any]] = []
    cpu = 0.0
    for case in cases:
        truth = case.get("priority")
        if truth not in LEVELS:
            raise ValueError(f"case {case.get('id', '?')}: priority must be one of {', '.join(LEVELS)}, "
                             f"got {truth!r}")
        fields = dict(case.get("fields") or {})
        if case.get("template"):
            fields["template"] = case["template"]
        t0 = time.process_time()
        result = triage(str(case.get("text", "")), lang=case.get("lang"), source=case.get("source", "call"),
                        fields=fields or None)
        cpu += time.process_time() - t0
        location: bool | None = None
        if case.get("location_text"):
            loc = result.facts.get("location") or {}
            got, want = str(loc.get("text") or ""), str(case["location_text"])
            location = bool(got) and (got in want or want in got)
        rows.append(_Row(truth, result.level, str(case.get("lang") or result.lang), case.get("category") or None,
                         result.category, location, result.uncertain))
        if result.level != truth or (case.get("category") and result.category != case["category"]):
            errors.append({"id": case.get("id"), "truth": truth, "got": result.level,
                           "category": case.get("category"), "got_category": result.category,
                           "rule": result.rule, "uncertain": result.uncertain, "text": case.get("text")})
    matrix = _matrix(rows)
    summary = _figures(rows)
    summary["by_lang"] = {lang: _figures([r for r in rows if r.lang == lang])
                          for lang in sorted({r.lang for r in rows})}
    summary["texts_per_cpu_second"] = round(len(rows) / cpu, 1) if cpu > 0 else None
    return {"matrix": matrix, "per_level": _per_level(matrix), "errors": errors, "summary": summary}


def format_report(result: dict[str, Any], *, show_errors: bool = False) -> str:
    """Human-readable report of :func:`evaluate`'s result (per-case lines only with ``show_errors``)."""
    lines = ["confusion matrix (rows: truth, columns: predicted)", "       " + "".join(f"{lv:>6}" for lv in LEVELS)]
    for t in LEVELS:
        lines.append(f"  {t:4} " + "".join(f"{result['matrix'][t][p]:>6}" for p in LEVELS))
    lines.append("")
    lines.append("level  precision  recall     f1  support")
    for lv, m in result["per_level"].items():
        lines.append(f"{lv:5} {m['precision']:10.3f} {m['recall']:7.3f} {m['f1']:6.3f} {m['support']:8}")
    s = result["summary"]
    lines.append("")
    lines.append(_line("all", s))
    for lang, f in s.get("by_lang", {}).items():
        lines.append(_line(lang, f))
    if s.get("texts_per_cpu_second"):
        lines.append(f"speed: {s['texts_per_cpu_second']:,.0f} texts per CPU-second (one core, this run)")
    if show_errors:
        lines.append("")
        for e in result["errors"]:
            lines.append(f"{e['id']}: truth {e['truth']}/{e['category']} got {e['got']}/{e['got_category']} "
                         f"({e['rule']}{', uncertain' if e.get('uncertain') else ''}): {e['text']}")
    return "\n".join(lines)


def _line(name: str, s: dict[str, Any]) -> str:
    def num(v: Any, fmt: str) -> str:
        return "-" if v is None else format(v, fmt)

    return (f"{name:4} cases {s['cases']:4}  P1 recall {num(s['p1_recall'], '.3f')}  macro-F1 {s['macro_f1']:.3f}  "
            f"over-triage to P1 {s['over_triage_p1']:.1%}  accuracy {s['accuracy']:.3f}  "
            f"category {num(s['category_accuracy'], '.3f')}  location {num(s['location_found'], '.3f')}  "
            f"uncertain {s['uncertain_share']:.1%}")
