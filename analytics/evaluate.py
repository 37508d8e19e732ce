"""Evaluation of the triage scorer on labelled cases: confusion matrix, per-level P/R, macro-F1."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from analytics.triage import triage

LEVELS = ("P1", "P2", "P3", "P4")


def evaluate(cases: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Score every case; returns the matrix, per-level figures, errors and a summary dict.

    Each case needs ``text`` and ``priority`` (P1..P4); ``lang``, ``source``, ``fields``, ``template``
    and ``category`` are used when present.
    """
    matrix = {t: dict.fromkeys(LEVELS, 0) for t in LEVELS}
    errors: list[dict[str, Any]] = []
    cat_right = cat_total = 0
    loc_total = loc_found = 0
    n = 0
    for case in cases:
        truth = case.get("priority")
        if truth not in LEVELS:
            raise ValueError(f"case {case.get('id', '?')}: priority must be one of {', '.join(LEVELS)}, "
                             f"got {truth!r}")
        fields = dict(case.get("fields") or {})
        if case.get("template"):
            fields["template"] = case["template"]
        result = triage(str(case.get("text", "")), lang=case.get("lang"), source=case.get("source", "call"),
                        fields=fields or None)
        matrix[truth][result.level] += 1
        n += 1
        if case.get("location_text"):
            loc_total += 1
            loc = result.facts.get("location") or {}
            got, want = str(loc.get("text") or ""), str(case["location_text"])
            loc_found += bool(got) and (got in want or want in got)
        if case.get("category"):
            cat_total += 1
            cat_right += result.category == case["category"]
        if result.level != truth or (case.get("category") and result.category != case["category"]):
            errors.append({"id": case.get("id"), "truth": truth, "got": result.level,
                           "category": case.get("category"), "got_category": result.category,
                           "rule": result.rule, "text": case.get("text")})
    per_level = {}
    f1s = []
    for lv in LEVELS:
        tp = matrix[lv][lv]
        predicted = sum(matrix[t][lv] for t in LEVELS)
        actual = sum(matrix[lv].values())
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_level[lv] = {"precision": precision, "recall": recall, "f1": f1, "support": actual}
        if actual:
            f1s.append(f1)
    low = sum(matrix["P3"].values()) + sum(matrix["P4"].values())
    over = matrix["P3"]["P1"] + matrix["P4"]["P1"]
    summary = {
        "cases": n,
        "p1_recall": round(per_level["P1"]["recall"], 4),
        "macro_f1": round(sum(f1s) / len(f1s), 4) if f1s else 0.0,
        "over_triage_p1": round(over / low, 4) if low else 0.0,
        "accuracy": round(sum(matrix[lv][lv] for lv in LEVELS) / n, 4) if n else 0.0,
        "category_accuracy": round(cat_right / cat_total, 4) if cat_total else None,
        # the place found overlaps the labelled location_text (one contains the other)
        "location_found": round(loc_found / loc_total, 4) if loc_total else None,
    }
    return {"matrix": matrix, "per_level": per_level, "errors": errors, "summary": summary}


def format_report(result: dict[str, Any], *, show_errors: bool = False) -> str:
    """Human-readable report of :func:`evaluate`'s result."""
    lines = ["confusion matrix (rows: truth, columns: predicted)", "       " + "".join(f"{lv:>6}" for lv in LEVELS)]
    for t in LEVELS:
        lines.append(f"  {t:4} " + "".join(f"{result['matrix'][t][p]:>6}" for p in LEVELS))
    lines.append("")
    lines.append("level  precision  recall     f1  support")
    for lv, m in result["per_level"].items():
        lines.append(f"{lv:5} {m['precision']:10.3f} {m['recall']:7.3f} {m['f1']:6.3f} {m['support']:8}")
    s = result["summary"]
    lines.append("")
    lines.append(f"macro-F1 {s['macro_f1']:.3f}   P1 recall {s['p1_recall']:.3f}   "
                 f"over-triage to P1 {s['over_triage_p1']:.1%}   accuracy {s['accuracy']:.3f}   "
                 f"category accuracy {s['category_accuracy']}   location found {s['location_found']}")
    if show_errors:
        lines.append("")
        for e in result["errors"]:
            lines.append(f"{e['id']}: truth {e['truth']}/{e['category']} got {e['got']}/{e['got_category']} "
                         f"({e['rule']}): {e['text']}")
    return "\n".join(lines)
