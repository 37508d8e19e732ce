"""How the rules and the learned n-gram model are combined into one level, category and uncertainty.

The rules explain and come first. The model may *raise* a level the rules gave, and it never lowers
a P1 or P2 (a missed emergency costs more than a second look at a routine call); the one move down
it may make is a rules P3 it reads, very confidently, as a P4 service request (both are non-urgent).
Every move names the words that pulled the model towards it. When no rule matched at all, the
model's level is used (leaning to the safe side) and the result is marked uncertain: a person reads
it before it is trusted ("needs a human read" on the console). A strong disagreement between the two
(two levels or more) is also uncertain. A winning rule marked ``model_may_raise: false`` (a level the
RUBRIC fixes) and an explicitly negated danger word stop the model from raising.

The thresholds below were chosen on the corpus dev split and public.jsonl only (see
docs/intelligence.md); ``python bench/triage_eval.py`` reports what they give.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from analytics.ngram_model import NgramModel

_NUM = {"P1": 1, "P2": 2, "P3": 3, "P4": 4}

# The model raises a rules level to P1 when it gives P1 at least this probability (and the report is
# not in the past tense); to P2 when P1 + P2 together reach RAISE_P2. Low on purpose: on the dev
# split 0.30 keeps P1 recall at 0.98 where 0.50 gives 0.97, at the cost of some P2s read as P1
# (a higher bar only when a P2 rule fired was tried: one more P1 missed for three fewer P2 raised).
RAISE_P1 = 0.30
RAISE_P2 = 0.70
# A rules P3 becomes P4 when the model gives P4 at least this probability: both are non-urgent, and
# the rules' P3 is partly their old catch-all.
LOWER_P4 = 0.80
# When the rules named no category (the fallback), the model's category is used at this confidence;
# over a rule's category only at CATEGORY_OVERRIDE.
CATEGORY_MIN = 0.30
CATEGORY_OVERRIDE = 0.80
# Two levels apart is a disagreement worth a human look.
DISAGREE_LEVELS = 2


@dataclass(frozen=True)
class ModelReason:
    factor: str
    evidence: str
    start: int
    end: int
    weight: float


@dataclass
class Verdict:
    level: str
    category: str
    uncertain: bool = False
    uncertain_reason: str = ""
    reasons: list[ModelReason] = field(default_factory=list)
    model_facts: dict[str, Any] | None = None


def combine(model: NgramModel | None, norm: str, text: str, *, rules_level: str, rules_matched: bool,
            category: str, category_from_rule: bool, flags: frozenset[str], negated_danger: bool = False,
            may_raise: bool = True) -> Verdict:
    """The final level and category for a text the rules scored as ``rules_level`` / ``category``.

    ``norm`` is the normalised text the model reads; ``text`` the original (evidence is quoted from it,
    the offsets are the same). ``negated_danger``: the rules found a danger word explicitly negated
    ("nobody has a knife"); the model reads words, not negation, so it does not raise to P1 then.
    ``may_raise``: False when the winning rule's level is fixed by the RUBRIC (``model_may_raise``).
    """
    if model is None:
        if rules_matched:
            return Verdict(rules_level, category)
        return Verdict(rules_level, category, True, "no_rule_matched")
    level_pred, cat_pred = model.predict(norm, evidence=0)
    probs = level_pred.probs
    model_level = level_pred.label
    facts: dict[str, Any] = {"level": model_level, "p": round(level_pred.confidence, 3),
                             "category": cat_pred.label, "category_p": round(cat_pred.confidence, 3)}
    past = "past" in flags
    out = Verdict(rules_level, category, model_facts=facts)
    num = _NUM[rules_level]
    if not rules_matched:
        # Nothing in the rules fired: the model's reading, leaning to the safe side, flagged for a human.
        # (P1 only when the model does not read the text as routine: "10-4" shares the radio-code
        # n-grams of 10-50 / 10-52 but is an acknowledgement)
        if probs["P1"] >= RAISE_P1 and model_level in ("P1", "P2"):
            num = 1
        elif probs["P1"] + probs["P2"] >= RAISE_P2:
            num = 2
        else:
            num = _NUM[model_level]
        out.uncertain, out.uncertain_reason = True, "no_rule_matched"
        out.reasons.extend(_evidence(model, norm, text, f"model_P{num}", probs[f"P{num}"]))
    elif not may_raise:
        pass
    elif num > 1 and probs["P1"] >= RAISE_P1 and not past and not negated_danger:
        num = 1
        out.reasons.extend(_evidence(model, norm, text, "model_P1", probs["P1"]))
    elif num > 2 and probs["P1"] + probs["P2"] >= RAISE_P2 and not past:
        num = 2
        out.reasons.extend(_evidence(model, norm, text, "model_P2", probs["P1"] + probs["P2"]))
    elif num == 3 and probs["P4"] >= LOWER_P4:
        num = 4
        out.reasons.extend(_evidence(model, norm, text, "model_P4", probs["P4"]))
    if rules_matched and abs(_NUM[model_level] - num) >= DISAGREE_LEVELS:
        out.uncertain, out.uncertain_reason = True, f"model_disagrees:{model_level}"
    out.level = f"P{num}"
    threshold = CATEGORY_OVERRIDE if category_from_rule else CATEGORY_MIN
    if cat_pred.label != category and cat_pred.confidence >= threshold:
        out.category = cat_pred.label
        facts["category_from_model"] = True
    return out


def _evidence(model: NgramModel, norm: str, text: str, factor: str, p: float) -> list[ModelReason]:
    """The model's strongest words for its level, quoted from the original text (same offsets)."""
    label = factor.split("_", 1)[1]
    out = [ModelReason(factor, text[s:e], s, e, round(p, 3)) for _f, s, e, _w in model.explain(norm, label, 2)]
    if not out:
        out.append(ModelReason(factor, "", -1, -1, round(p, 3)))
    return out
