"""A small learned scorer beside the rules: character n-gram features and two linear (softmax) models.

The rules explain; this model catches phrasings no rule has met. It reads the same normalised text
(full width to half width, traditional to simplified) and looks at:

* Chinese: character 1-, 2- and 3-grams, so 流血 / 流雪, 昏迷 / 婚迷 or 揸刀 share most features;
* English and other Latin text: words, word pairs and character 3-grams inside words (typos such as
  "bleading" still share "ble", "lea").

It predicts a level (P1-P4) and a category. The weights come from ``analytics/train_model.py`` (run at
build time, from analytics/corpus/) and live in ``data/triage_model.npz``; nothing is fetched at run
time. Weights are stored as int8 with one scale per head, which keeps the file small; they are
dequantised once when the model is loaded.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import operator
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from analytics import textnorm
from common.levels import LEVELS

DEFAULT_MODEL = Path(__file__).with_name("data") / "triage_model.npz"

# Words too common to quote as a reason (they can still carry weight in the model).
_STOPWORDS = frozenset("a an the and or of to in on at is are was were be been i me my we our you he she it "
                       "they them his her its this that there here with for from by as not no".split())
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z][a-z0-9'-]*|[0-9]+(?:-[0-9]+)?")


def feature_set(text: str) -> set[str]:
    """The model's features of a normalised ``text`` (the fast path used for scoring and training)."""
    low = text.lower()
    out: set[str] = set()
    add = operator.add
    for run in _CJK_RUN.findall(low):
        out.update(run)
        # bigrams and trigrams by pairing the run with itself shifted (map runs in C)
        pairs = list(map(add, run, run[1:]))
        out.update(pairs)
        out.update(map(add, pairs, run[2:]))
    words = _WORD.findall(low)
    if words:
        out.update(["w:" + w for w in words])
        out.update(["p:" + a + " " + b for a, b in itertools.pairwise(words)])
        # character trigrams over the words joined by one space: typos and word endings (no prefix:
        # Latin trigrams cannot collide with the Chinese n-grams, and words carry "w:")
        flat = " " + " ".join(words) + " "
        out.update([flat[i:i + 3] for i in range(len(flat) - 2)])
    return out


def features(text: str) -> list[tuple[str, int, int]]:
    """Word-like features of ``text`` with their spans, for explanations: ``(feature, start, end)``.

    Chinese n-grams and English words and word pairs (the character trigrams are left out: a
    reason should quote words). Spans index the text given.
    """
    low = text.lower()
    seen: dict[str, tuple[int, int]] = {}
    for m in _CJK_RUN.finditer(low):
        run, base = m.group(0), m.start()
        n = len(run)
        for k in (2, 3):
            for i in range(n - k + 1):
                seen.setdefault(run[i:i + k], (base + i, base + i + k))
    prev: tuple[str, int, int] | None = None
    for w in _WORD.finditer(low):
        word, s, e = w.group(0), w.start(), w.end()
        if word not in _STOPWORDS and len(word) > 2:
            seen.setdefault("w:" + word, (s, e))
        if prev is not None and not (prev[0] in _STOPWORDS and word in _STOPWORDS):
            seen.setdefault("p:" + prev[0] + " " + word, (prev[1], e))
        prev = (word, s, e)
    return [(f, s, e) for f, (s, e) in seen.items()]


@dataclass(frozen=True)
class Head:
    """One softmax model: ``weights[feature_index, class]`` plus a bias per class."""

    classes: tuple[str, ...]
    weights: np.ndarray  # float32 [V, C]
    bias: np.ndarray  # float32 [C]


@dataclass(frozen=True)
class Prediction:
    """A head's answer for one text: the most likely class, every class's probability, and the evidence."""

    label: str
    probs: dict[str, float]
    evidence: list[tuple[str, int, int, float]]  # (feature, start, end, contribution to ``label``)

    @property
    def confidence(self) -> float:
        return self.probs[self.label]


class NgramModel:
    """The trained level and category heads over one shared n-gram vocabulary."""

    def __init__(self, vocab: list[str], level: Head, category: Head, meta: dict[str, Any]) -> None:
        self.vocab = {g: i for i, g in enumerate(vocab)}
        self._known = frozenset(self.vocab)
        self.level = level
        self.category = category
        self.meta = meta

        # Both heads in one matrix: one gather per text instead of two.
        self._both = np.concatenate([level.weights, category.weights], axis=1)
        self._nlevel = len(level.classes)
        self._bias_level = level.bias.tolist()
        self._bias_category = category.bias.tolist()

    def predict(self, text: str, *, evidence: int = 3) -> tuple[Prediction, Prediction]:
        """Level and category for a normalised text, each with up to ``evidence`` strongest features.

        Evidence costs a second pass over the text (for the spans), so ask for it only when it is used.
        """
        vocab = self.vocab
        # sorted: the float sum is then the same in every process, whatever the string hash seed
        # (a set intersection walks the smaller side; dict.keys() & set would walk the whole vocabulary)
        idx = sorted(map(vocab.__getitem__, feature_set(text).intersection(self._known)))
        if idx:
            # presence features scaled by 1/sqrt(n), as in training: long and short reports on one scale
            sums = self._both.take(idx, axis=0).sum(axis=0).tolist()
            scale = 1.0 / math.sqrt(len(idx))
        else:
            sums, scale = [0.0] * self._both.shape[1], 1.0
        level = _softmax(self.level, sums[:self._nlevel], scale, self._bias_level)
        category = _softmax(self.category, sums[self._nlevel:], scale, self._bias_category)
        if evidence and idx:
            level = Prediction(level.label, level.probs, self.explain(text, level.label, evidence))
            category = Prediction(category.label, category.probs,
                                  self.explain(text, category.label, evidence, head="category"))
        return level, category

    def explain(self, text: str, label: str, k: int = 2, *, head: str = "level") -> list[tuple[str, int, int, float]]:
        """The ``k`` features of ``text`` that pull hardest towards ``label`` (over the average class).

        Returns ``(feature, start, end, pull)``; only word-like features (see :func:`features`) are quoted.
        """
        h = self.level if head == "level" else self.category
        spans = [(f, s, e, self.vocab[f]) for f, s, e in features(text) if f in self.vocab]
        if not spans or label not in h.classes:
            return []
        rows = h.weights[[i for *_x, i in spans]]
        pull = rows[:, h.classes.index(label)] - rows.mean(axis=1)
        ev: list[tuple[str, int, int, float]] = []
        for j in np.argsort(-pull, kind="stable")[:k]:
            if pull[j] <= 0:
                break
            f, s, e, _i = spans[int(j)]
            ev.append((f, s, e, round(float(pull[j]), 3)))
        return ev


def _softmax(head: Head, sums: list[float], scale: float, bias: list[float]) -> Prediction:
    # A few classes: plain floats are quicker than numpy's per-call overhead here.
    logits = [v * scale + b for v, b in zip(sums, bias, strict=True)]
    top = max(logits)
    z = [math.exp(v - top) for v in logits]
    total = sum(z)
    probs = {c: v / total for c, v in zip(head.classes, z, strict=True)}
    return Prediction(head.classes[logits.index(top)], probs, [])


def _quantise(weights: np.ndarray) -> tuple[np.ndarray, float]:
    scale = float(np.abs(weights).max()) / 127.0 or 1.0
    return np.round(weights / scale).astype(np.int8), scale


def quantised(head: Head) -> Head:
    """``head`` as it will be after :func:`save` and :func:`load` (int8 weights): figures reported for a
    model are computed on this, so they are the figures of the file."""
    q, scale = _quantise(head.weights)
    return Head(head.classes, q.astype(np.float32) * np.float32(scale), head.bias.astype(np.float32))


def save(path: Path, vocab: list[str], level: Head, category: Head, meta: dict[str, Any]) -> None:
    """Write the model as int8 weights with one scale per head (deterministic bytes for the same input)."""
    arrays: dict[str, np.ndarray] = {"vocab": np.array("\n".join(vocab))}
    for name, head in (("level", level), ("category", category)):
        q, scale = _quantise(head.weights)
        arrays[f"{name}_q"] = q
        arrays[f"{name}_scale"] = np.array(scale, dtype=np.float32)
        arrays[f"{name}_bias"] = head.bias.astype(np.float32)
        arrays[f"{name}_classes"] = np.array("\n".join(head.classes))
    arrays["meta"] = np.array(json.dumps(meta, sort_keys=True, ensure_ascii=False))
    with path.open("wb") as fh:
        np.savez_compressed(fh, **arrays)  # type: ignore[arg-type]


class ModelError(ValueError):
    """The weights file is missing or not a model this code can read; the message says which file."""


def load(path: Path = DEFAULT_MODEL) -> NgramModel:
    """Read a model written by :func:`save`."""
    try:
        with np.load(path, allow_pickle=False) as z:
            vocab = str(z["vocab"]).split("\n")
            heads = {}
            for name in ("level", "category"):
                w = z[f"{name}_q"].astype(np.float32) * np.float32(z[f"{name}_scale"])
                heads[name] = Head(tuple(str(z[f"{name}_classes"]).split("\n")), w,
                                   z[f"{name}_bias"].astype(np.float32))
            meta = json.loads(str(z["meta"]))
    except OSError as exc:
        raise ModelError(f"cannot read triage model {path}: {exc}; build it with "
                         f"`python -m analytics.train_model`") from None
    except (KeyError, ValueError) as exc:
        raise ModelError(f"triage model {path} is not a model file this version reads: {exc}") from None
    if tuple(heads["level"].classes) != LEVELS:
        raise ModelError(f"triage model {path}: level classes {heads['level'].classes} are not {LEVELS}")
    for head in heads.values():
        if head.weights.shape != (len(vocab), len(head.classes)):
            raise ModelError(f"triage model {path}: weights shape {head.weights.shape} does not match "
                             f"{len(vocab)} features x {len(head.classes)} classes")
    return NgramModel(vocab, heads["level"], heads["category"], meta)


@functools.cache
def current() -> NgramModel | None:
    """The shipped model, loaded once and never changed; None when no weights file is installed (the
    rules still work)."""
    return load() if DEFAULT_MODEL.exists() else None


def normalised_features(text: str) -> list[tuple[str, int, int]]:
    """:func:`features` of a raw text (normalised first); spans still index the raw text."""
    return features(textnorm.normalize(text))
