"""Score a text: category, EIDO priority 0-10, level P1-P4, and the reasons that produced them.

``triage()`` is pure: the rules and gazetteer are loaded once (:mod:`analytics.rules`) and each
call only reads them. Every reason quotes the words it rests on; a reason taken from the text has
``evidence == text[start:end]``, one taken from a kiosk form field has ``start == end == -1`` and
names the field in ``source``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from analytics import combine, extract, ngram_model, textnorm
from analytics import rules as rules_mod
from analytics.extract import Match
from analytics.ngram_model import NgramModel
from analytics.rules import LevelRule, RuleSet
from common.levels import RANK

_LEVEL_NUM = RANK
_NUM_LEVEL = {v: k for k, v in _LEVEL_NUM.items()}
_WEAPONS = ("weapon", "gun")
_SERIOUS = ("serious_injury", "stabbing", "mass_casualty")
_FIELD_KEYS = ("time", "place", "item", "amount", "injury", "treated", "description")


@dataclass(frozen=True)
class Reason:
    """One piece of evidence behind a score; weight > 0 raised it, < 0 lowered it, 0 is informative."""

    factor: str
    evidence: str
    start: int
    end: int
    weight: float
    source: str = "text"


@dataclass
class Triage:
    category: str
    priority: int
    level: str
    reasons: list[Reason]
    facts: dict[str, Any]
    lang: str
    rule: str = ""
    rules_version: int = 1
    # True when a person should read the report before trusting the level: no rule matched, or the
    # learned model and the rules disagree by two levels or more. ``uncertain_reason`` says which.
    uncertain: bool = False
    uncertain_reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (reasons as objects)."""
        out = asdict(self)
        out["reasons"] = [asdict(r) for r in self.reasons]
        return out


@dataclass
class _Found:
    asserted: dict[str, list[Match]] = field(default_factory=dict)
    negated: dict[str, list[Match]] = field(default_factory=dict)

    def add(self, m: Match) -> None:
        (self.negated if m.negated else self.asserted).setdefault(m.concept, []).append(m)


_SHIPPED = object()


def triage(text: str, *, lang: str | None = None, source: str = "call", fields: Mapping[str, Any] | None = None,
           rules: RuleSet | None = None, model: NgramModel | object | None = _SHIPPED) -> Triage:
    """Score one report. ``fields`` are a kiosk form's values (``template`` names its template).

    ``model``: the learned n-gram model combined with the rules (default: the shipped one; None: the
    rules alone).
    """
    rs = rules or rules_mod.default_rules()
    ngram = ngram_model.current() if model is _SHIPPED else model
    assert ngram is None or isinstance(ngram, NgramModel)
    text = text if isinstance(text, str) else str(text)
    norm = textnorm.normalize(text)
    detected = textnorm.detect_lang(norm)
    # A caller's language hint (often the UI language) must not hide the script actually written:
    # Chinese text under an "en" hint would otherwise be read with English patterns only.
    if lang not in ("zh", "yue", "en") or (lang == "en") != (detected == "en"):
        lang = detected

    found = _Found()
    for m in extract.find_concepts(norm, lang, rs):
        found.add(_with_evidence(m, text))
    template = ""
    if fields:
        template = str(fields.get("template") or "")
        for key in _FIELD_KEYS:
            value = fields.get(key)
            if not isinstance(value, str) or not value.strip():
                continue
            fnorm = textnorm.normalize(value)
            for m in extract.find_concepts(fnorm, textnorm.detect_lang(fnorm), rs, source=f"fields.{key}"):
                found.add(Match(m.concept, -1, -1, value[m.start:m.end], m.negated, -1, m.source))

    present = set(found.asserted)
    for flag, cond in rs.context.items():
        if cond.holds(present):
            present.add(flag)
    # "gone" and "past" need the flag set before rules are checked; "now" likewise.
    flags = frozenset(present)

    matched = rs.candidate_level_rules(flags)
    reasons: list[Reason] = []
    if matched:
        best_num = min(_LEVEL_NUM[r.level] for r in matched)
        winners = [r for r in matched if _LEVEL_NUM[r.level] == best_num]
    else:
        best_num = _LEVEL_NUM[rs.fallback_level]
        winners = []
        reasons.append(Reason("no_rule_matched", "", -1, -1, 0.0))
    seen: set[str] = set()
    for rule in winners:
        if rule.id in seen:
            continue
        seen.add(rule.id)
        ev = _first(found, rule.when.factors)
        if ev is not None:
            reasons.append(_reason(rule.id, ev, rule.weight))

    # Vulnerable person currently at risk raises one level (never for rules not marked for it).
    num = best_num
    if "past" not in flags and any(r.raise_vulnerable for r in winners):
        ev = _first(found, rs.vulnerable)
        if ev is not None and num > 1:
            num -= 1
            reasons.append(_reason("vulnerable_person", ev, 1.0))
    # A routine crime with the suspect still nearby is urgent.
    if num == 3 and "gone" not in flags and any(r.raise_suspect_near for r in winners):
        ev = _first(found, rs.suspect_near)
        if ev is not None:
            num = 2
            reasons.append(_reason("suspect_nearby", ev, 1.0))
    rules_num = num
    reasons.extend(_suppressed(rs, found, flags, best_num))
    negations = _negations(rs, found, best_num, text)
    reasons.extend(negations)

    category, category_rule = _category(rs, flags, template)
    verdict = combine.combine(ngram, norm, text, rules_level=_NUM_LEVEL[num], rules_matched=bool(matched),
                              category=category, category_from_rule=category_rule, flags=flags,
                              negated_danger=bool(negations),
                              may_raise=all(r.model_may_raise for r in winners))
    num = _LEVEL_NUM[verdict.level]
    category = verdict.category
    reasons.extend(Reason(r.factor, r.evidence, r.start, r.end, r.weight, "model") for r in verdict.reasons)
    level = _NUM_LEVEL[num]
    priority = _priority(rs, level, (num == rules_num == best_num and winners) or [], flags)
    facts = _facts(text, norm, rs, found, flags, lang)
    facts["uncertain"] = {"uncertain": verdict.uncertain, "reason": verdict.uncertain_reason}
    facts["model"] = verdict.model_facts
    winner_id = winners[0].id if winners else "fallback"
    if num != rules_num:
        winner_id = "model"
    return Triage(category=category, priority=priority, level=level, reasons=reasons, facts=facts, lang=lang,
                  rule=winner_id, rules_version=rs.version, uncertain=verdict.uncertain,
                  uncertain_reason=verdict.uncertain_reason)


def _with_evidence(m: Match, original: str) -> Match:
    # Normalisation keeps offsets, so the original text supplies the exact evidence.
    return Match(m.concept, m.start, m.end, original[m.start:m.end], m.negated, m.cue_start, m.source)


def _first(found: _Found, factors: tuple[str, ...] | list[str]) -> Match | None:
    """Earliest asserted match among ``factors``, preferring evidence from the text over form fields."""
    best: Match | None = None
    for f in factors:
        for m in found.asserted.get(f, ()):
            key = (m.start < 0, m.start)
            if best is None or key < (best.start < 0, best.start):
                best = m
    return best


def _reason(factor: str, m: Match, weight: float) -> Reason:
    return Reason(factor, m.evidence, m.start, m.end, weight, m.source)


def _suppressed(rs: RuleSet, found: _Found, flags: frozenset[str], best_num: int) -> list[Reason]:
    """Why a higher level did not apply: past tense, suspect gone, treated, resolved."""
    out: list[Reason] = []
    blockers_done: set[str] = set()
    for rule in rs.candidate_level_rules(flags, ignoring_none=True):
        if _LEVEL_NUM[rule.level] >= best_num:
            continue
        for blocker in rule.when.none:
            if blocker in flags and blocker not in blockers_done:
                blockers_done.add(blocker)
                factors: tuple[str, ...] = (blocker,)
                if blocker in rs.context:
                    factors = rs.context[blocker].factors
                ev = _first(found, factors)
                if ev is not None:
                    name = {"past": "past_tense", "gone": "suspect_gone"}.get(blocker, blocker)
                    out.append(_reason(name, ev, -1.0))
    return out


# Factors of the rules above each level, per rule set: the same for every text, so built once.
_HIGHER: dict[int, tuple[RuleSet, dict[int, frozenset[str]]]] = {}


def _higher_factors(rs: RuleSet, best_num: int) -> frozenset[str]:
    cached = _HIGHER.get(id(rs))
    if cached is None or cached[0] is not rs:
        table = {n: frozenset(f for r in rs.level_rules if _LEVEL_NUM[r.level] < n for f in r.when.factors)
                 for n in range(1, 6)}
        _HIGHER.clear()
        _HIGHER[id(rs)] = cached = (rs, table)
    return cached[1][best_num]


def _negations(rs: RuleSet, found: _Found, best_num: int, text: str) -> list[Reason]:
    """Negated danger words that would have raised the level had they been asserted."""
    if not found.negated:
        return []
    higher = _higher_factors(rs, best_num)
    out = []
    for concept, matches in found.negated.items():
        if concept in higher and concept not in found.asserted:
            m = matches[0]
            start = m.cue_start if m.cue_start >= 0 else m.start
            if m.start < 0:
                out.append(Reason(f"negated_{concept}", m.evidence, -1, -1, 0.0, m.source))
            else:
                out.append(Reason(f"negated_{concept}", text[start:m.end], start, m.end, 0.0, m.source))
    return out


def _priority(rs: RuleSet, level: str, winners: list[LevelRule], flags: frozenset[str]) -> int:
    if winners and winners[0].priority is not None:
        return winners[0].priority
    for ref in rs.refinements:
        if ref.level == level and ref.when.holds(flags):
            return ref.priority
    return int(rs.levels[level]["default"])


def _category(rs: RuleSet, flags: frozenset[str], template: str) -> tuple[str, bool]:
    """(category, whether a category rule or the kiosk template named it rather than the fallback)."""
    rule = rs.first_category_rule(flags)
    if rule is not None:
        return rule.category, True
    if template in rs.template_categories:
        return rs.template_categories[template], True
    return rs.fallback_category, False


def _facts(text: str, norm: str, rs: RuleSet, found: _Found, flags: frozenset[str], lang: str) -> dict[str, Any]:
    def spans(concepts: tuple[str, ...]) -> list[dict[str, Any]]:
        return [{"text": m.evidence, "start": m.start, "end": m.end, "kind": m.concept, "source": m.source}
                for c in concepts for m in found.asserted.get(c, ())]

    if any(c in found.asserted for c in ("serious_injury", "mass_casualty")):
        severity = "serious"
    elif any(c in found.asserted for c in ("injury", "stabbing")):
        severity = "minor" if "treated" in flags or "serious_injury" not in flags else "serious"
    elif "injury" in found.negated:
        severity = "none"
    else:
        severity = "unknown"
    location = extract.locate(norm, rs, lang)
    if location is not None:
        location["text"] = text[location["start"]:location["end"]]
    persons = [{"kind": m.concept, "text": m.evidence, "start": m.start, "end": m.end}
               for c in rs.vulnerable for m in found.asserted.get(c, ())]
    negated = [{"kind": c, "text": text[m.cue_start:m.end] if m.cue_start >= 0 else m.evidence,
                "start": m.cue_start, "end": m.end} for c, ms in found.negated.items() for m in ms if m.start >= 0]
    return {
        "location": location,
        "plates": extract.plates(norm),
        "phones": extract.phones(norm),
        "times": extract.times(norm),
        "weapons": spans(_WEAPONS),
        "injuries": {"severity": severity, "evidence": spans(("serious_injury", "injury", "stabbing"))},
        "persons_at_risk": persons,
        "in_progress": "now" in flags and "past" not in flags,
        "past": "past" in flags,
        "suspect": "present" if "suspect_present" in flags else ("gone" if "gone" in flags else None),
        "negated": negated,
        "concepts": sorted(found.asserted),
    }
