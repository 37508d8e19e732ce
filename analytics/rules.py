"""Triage rules as data: load, validate and compile ``rules.yaml`` and the gazetteer; reload on demand.

The compiled :class:`RuleSet` is immutable. There is no process-wide rule set: an app owns a
:class:`RuleBook` whose :meth:`RuleBook.reload` builds a new set and swaps it in atomically, so a
scorer running in another thread sees either the old rules or the new ones, never a mixture; a file
that does not validate raises :class:`RulesError` and the old rules stay. Library callers that pass
no rules get :func:`default_rules`, the shipped files loaded once.
"""

from __future__ import annotations

import functools
import operator
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from analytics.first_chars import with_first_char_guard
from analytics.gazetteer import Gazetteer, load_gazetteer
from common.levels import LEVELS

DATA_DIR = Path(__file__).with_name("data")
DEFAULT_RULES = DATA_DIR / "rules.yaml"
DEFAULT_GAZETTEER = DATA_DIR / "gazetteer.yaml"

CATEGORIES = ("violent_crime", "weapons", "robbery", "theft", "burglary", "fraud", "traffic", "fire", "medical",
              "missing_person", "domestic", "public_order", "suicide_risk", "hazard", "lost_property",
              "service_request", "other")
CONTEXT_FLAGS = ("past", "now", "gone")


class RulesError(ValueError):
    """A rules or gazetteer file cannot be used; the message names the file, the entry and the problem."""


@dataclass(frozen=True)
class Concept:
    id: str
    negatable: bool
    cjk: re.Pattern[str] | None
    en: re.Pattern[str] | None
    # Lower-cased literal runs one of which every match must contain (None: no such guarantee).
    # Checking them with ``in`` first spares most of the regular-expression scans.
    cjk_anchors: tuple[str, ...] | None = None
    en_anchors: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Condition:
    all: tuple[str, ...] = ()
    any: tuple[str, ...] = ()
    none: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "_all", frozenset(self.all))
        object.__setattr__(self, "_any", frozenset(self.any))
        object.__setattr__(self, "_none", frozenset(self.none))

    def holds(self, present: frozenset[str] | set[str]) -> bool:
        return (self._all <= present and (not self._any or not self._any.isdisjoint(present))  # type: ignore[attr-defined]
                and self._none.isdisjoint(present))  # type: ignore[attr-defined]

    def holds_ignoring_none(self, present: frozenset[str] | set[str]) -> bool:
        return self._all <= present and (not self._any or not self._any.isdisjoint(present))  # type: ignore[attr-defined]

    @property
    def factors(self) -> tuple[str, ...]:
        return self.all + self.any


@dataclass(frozen=True)
class LevelRule:
    id: str
    level: str
    weight: float
    when: Condition
    priority: int | None = None
    raise_vulnerable: bool = False
    raise_suspect_near: bool = False
    # False: the RUBRIC defines this rule's level (a missing child is P2 by definition), so the learned
    # model may not raise it.
    model_may_raise: bool = True


@dataclass(frozen=True)
class CategoryRule:
    category: str
    when: Condition


@dataclass(frozen=True)
class Refinement:
    level: str
    priority: int
    when: Condition


@dataclass(frozen=True)
class RuleSet:
    """Compiled rules plus the gazetteer they resolve places with."""

    version: int
    concepts: tuple[Concept, ...]
    level_rules: tuple[LevelRule, ...]
    category_rules: tuple[CategoryRule, ...]
    context: dict[str, Condition]
    levels: dict[str, dict[str, int]]
    refinements: tuple[Refinement, ...]
    vulnerable: tuple[str, ...]
    suspect_near: tuple[str, ...]
    fallback_level: str
    fallback_category: str
    template_categories: dict[str, str]
    neg_cues_cjk: frozenset[str]
    neg_cues_en: frozenset[str]
    neg_window_cjk: int
    neg_window_en: int
    clause_breaks_cjk: re.Pattern[str]
    clause_breaks_en: re.Pattern[str]
    gazetteer: Gazetteer
    source: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    cjk_index: AnchorIndex | None = None
    en_index: AnchorIndex | None = None
    # factor -> indexes of the level rules that cannot hold without it (a rule's first ``all`` factor,
    # or each of its ``any`` factors): only those rules are checked for a text.
    level_index: dict[str, tuple[int, ...]] = field(default_factory=dict)
    category_index: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def first_category_rule(self, present: frozenset[str]) -> CategoryRule | None:
        """The first category rule (in file order) whose condition holds for ``present``."""
        index = self.category_index
        found: set[int] = set()
        for f in index.keys() & present:
            found.update(index[f])
        rules = self.category_rules
        return next((rules[i] for i in sorted(found) if rules[i].when.holds(present)), None)

    def candidate_level_rules(self, present: frozenset[str], *, ignoring_none: bool = False) -> list[LevelRule]:
        """The level rules whose conditions hold for ``present``, in file order (``ignoring_none``: the
        rules that would hold but for a blocker such as past tense)."""
        index = self.level_index
        found: set[int] = set()
        for f in index.keys() & present:
            found.update(index[f])
        rules = self.level_rules
        if ignoring_none:
            return [rules[i] for i in sorted(found) if rules[i].when.holds_ignoring_none(present)]
        return [rules[i] for i in sorted(found) if rules[i].when.holds(present)]


class AnchorIndex:
    """Which concepts can possibly match a text, from the literal anchors their matches must contain.

    Anchors are looked up by their first one or two characters at every position of the text, so
    the cost grows with the text, not with the number of patterns. Concepts without anchors are
    always candidates.
    """

    def __init__(self, concepts: tuple[Concept, ...], attr: str) -> None:
        self.always: list[int] = []
        by_anchor: dict[str, set[int]] = {}
        for i, c in enumerate(concepts):
            if getattr(c, attr) is None:
                continue
            anchors = getattr(c, f"{attr}_anchors")
            if anchors is None:
                self.always.append(i)
            else:
                for a in anchors:
                    by_anchor.setdefault(a, set()).add(i)
        self.one: dict[str, frozenset[int]] = {}
        self.two: dict[str, list[tuple[str, frozenset[int]]]] = {}
        for a, idx in by_anchor.items():
            if len(a) == 1:
                self.one[a] = self.one.get(a, frozenset()) | frozenset(idx)
            else:
                self.two.setdefault(a[:2], []).append((a, frozenset(idx)))

    def candidates(self, low: str) -> set[int]:
        """Indexes of concepts worth scanning ``low`` (the lower-cased text) for."""
        out = set(self.always)
        one, two = self.one, self.two
        # Set intersections run in C: the distinct characters and character pairs of the text
        # against the anchors' first one or two characters.
        hits = one.keys() & set(low)
        if hits:
            out.update(*map(one.__getitem__, hits))
        pairs = set(map(operator.add, low, low[1:]))  # the character pairs, built in C
        for key in two.keys() & pairs:
            for anchor, idx in two[key]:
                if len(anchor) == 2 or anchor in low:
                    out |= idx
        return out


_TRANSPARENT = ("AT", "ASSERT", "ASSERT_NOT")


def _options(items: Any) -> list[str] | None:
    """Literal strings at least one of which every match of the parsed sequence contains.

    Walks the ``re`` parser's tree: a run of literals is one option; a required group, a
    branch or a character class of literals gives several. Of all the choices in the sequence
    the most selective one wins (longest shortest option, then fewest options). None when the
    sequence guarantees no literal at all.
    """
    choices: list[list[str]] = []
    run = ""
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            run += chr(arg)
            continue
        if name in _TRANSPARENT:
            continue
        if run:
            choices.append([run])
            run = ""
        sub: list[str] | None = None
        if name == "SUBPATTERN":
            sub = _options(arg[-1])
        elif name == "BRANCH":
            parts = [_options(branch) for branch in arg[1]]
            sub = None if any(p is None for p in parts) else [o for p in parts for o in p or ()]
        elif name == "IN" and all(str(o) == "LITERAL" for o, _a in arg):
            sub = [chr(a) for _o, a in arg]
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and arg[0] >= 1:
            sub = _options(arg[2])
        if sub:
            choices.append(sub)
    if run:
        choices.append([run])
    if not choices:
        return None
    return max(choices, key=lambda opts: (min(len(o) for o in opts), -len(opts)))


def _anchors(patterns: Any) -> tuple[str, ...] | None:
    """Lower-cased literals one of which any match of any of ``patterns`` contains (None: unknown)."""
    if not patterns:
        return None
    found: set[str] = set()
    for pattern in patterns:
        try:
            from re import _parser as sre_parse  # type: ignore[attr-defined]

            opts = _options(list(sre_parse.parse(pattern)))
        except Exception:  # an unknown construct only costs speed: scan without the shortcut
            return None
        if opts is None:
            return None
        found.update(o.lower() for o in opts)
    return tuple(sorted(found))


def _compile(patterns: Any, where: str) -> re.Pattern[str] | None:
    if patterns in (None, []):
        return None
    if not isinstance(patterns, list) or not all(isinstance(p, str) and p for p in patterns):
        raise RulesError(f"{where}: expected a list of regular expressions (strings)")
    for p in patterns:
        try:
            re.compile(p)
        except re.error as exc:
            raise RulesError(f"{where}: bad regular expression {p!r}: {exc}") from None
    # Case-insensitive matching costs Python's re about four times the time of a case-sensitive one;
    # the patterns are lower-cased instead and run on the lower-cased text (lower_same_length).
    joined = re.compile("|".join(f"(?:{lower_pattern(p)})" for p in patterns))
    return with_first_char_guard(joined)


def lower_pattern(pattern: str) -> str:
    """``pattern`` with its literal letters lower-cased and every escape (``\\B``, ``\\S``, ``\\W``) kept.

    Matching the result against :func:`lower_same_length` text finds what ``pattern`` finds with
    re.IGNORECASE in the original text.
    """
    out = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            out.append(pattern[i:i + 2])
            i += 2
            continue
        out.append(ch.lower() if len(ch.lower()) == 1 else ch)
        i += 1
    return "".join(out)


def lower_same_length(text: str) -> str:
    """``text`` lower-cased one character for one (a character whose lower case is longer stays as it is),
    so offsets in the result are offsets in ``text``."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def _condition(raw: dict[str, Any], where: str, known: set[str]) -> Condition:
    parts: dict[str, tuple[str, ...]] = {}
    for key in ("all", "any", "none"):
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise RulesError(f"{where}: '{key}' must be a list of factor names")
        unknown = [v for v in value if v not in known]
        if unknown:
            raise RulesError(f"{where}: unknown factor(s) {', '.join(unknown)}; known: concepts and "
                             f"{', '.join(CONTEXT_FLAGS)}")
        parts[key] = tuple(value)
    if not parts["all"] and not parts["any"]:
        raise RulesError(f"{where}: needs at least one factor in 'all' or 'any'")
    return Condition(**parts)


def _cue(value: Any, source: str) -> str:
    if not isinstance(value, str):
        # YAML reads a bare no/yes as a boolean: the cue must be quoted.
        raise RulesError(f"{source}: negation cue {value!r} is not a string; quote it (\"no\")")
    return value.lower()


def parse_rules(doc: Any, gazetteer: Gazetteer, source: str = "<rules>") -> RuleSet:
    """Validate and compile a rules document (the parsed YAML)."""
    if not isinstance(doc, dict):
        raise RulesError(f"{source}: expected a mapping with concepts, level_rules and category_rules")
    raw_concepts = doc.get("concepts")
    if not isinstance(raw_concepts, dict) or not raw_concepts:
        raise RulesError(f"{source}: 'concepts' must be a non-empty mapping of id -> patterns")
    concepts = []
    for cid, spec in raw_concepts.items():
        if not isinstance(spec, dict):
            raise RulesError(f"{source}: concept {cid!r} must be a mapping with cjk/en pattern lists")
        cjk = _compile(spec.get("cjk"), f"{source}: concept {cid!r} cjk")
        en = _compile(spec.get("en"), f"{source}: concept {cid!r} en")
        if cjk is None and en is None:
            raise RulesError(f"{source}: concept {cid!r} has no patterns")
        concepts.append(Concept(str(cid), bool(spec.get("negatable", False)), cjk, en,
                                _anchors(spec.get("cjk")), _anchors(spec.get("en"))))
    known = {c.id for c in concepts} | set(CONTEXT_FLAGS)
    concept_ids = {c.id for c in concepts}

    levels = doc.get("levels") or {}
    for lv in LEVELS:
        spec = levels.get(lv)
        if not isinstance(spec, dict) or not {"default", "lo", "hi"} <= set(spec):
            raise RulesError(f"{source}: levels.{lv} needs default, lo and hi")
        if not 0 <= spec["lo"] <= spec["default"] <= spec["hi"] <= 10:
            raise RulesError(f"{source}: levels.{lv}: need 0 <= lo <= default <= hi <= 10")

    context: dict[str, Condition] = {}
    for flag in CONTEXT_FLAGS:
        raw = (doc.get("context") or {}).get(flag)
        if not isinstance(raw, dict):
            raise RulesError(f"{source}: context.{flag} must be a condition (any/all/none)")
        context[flag] = _condition(raw, f"{source}: context.{flag}", concept_ids)

    level_rules = []
    for i, raw in enumerate(doc.get("level_rules") or []):
        where = f"{source}: level_rules[{i}] ({raw.get('id', '?') if isinstance(raw, dict) else '?'})"
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            raise RulesError(f"{where}: each rule needs an id")
        if raw.get("level") not in LEVELS:
            raise RulesError(f"{where}: level must be one of {', '.join(LEVELS)}")
        prio = raw.get("priority")
        if prio is not None:
            lv = levels[raw["level"]]
            if not isinstance(prio, int) or not lv["lo"] <= prio <= lv["hi"]:
                raise RulesError(f"{where}: priority must be an integer within {raw['level']} "
                                 f"({lv['lo']}-{lv['hi']})")
        level_rules.append(LevelRule(raw["id"], raw["level"], float(raw.get("weight", 1.0)),
                                     _condition(raw, where, known), prio,
                                     bool(raw.get("raise_vulnerable", False)),
                                     bool(raw.get("raise_suspect_near", False)),
                                     bool(raw.get("model_may_raise", True))))
    if not level_rules:
        raise RulesError(f"{source}: level_rules is empty")

    category_rules = []
    for i, raw in enumerate(doc.get("category_rules") or []):
        where = f"{source}: category_rules[{i}]"
        if not isinstance(raw, dict) or raw.get("category") not in CATEGORIES:
            raise RulesError(f"{where}: category must be one of {', '.join(CATEGORIES)}")
        category_rules.append(CategoryRule(raw["category"], _condition(raw, where, known)))

    refinements = []
    for name, raw in (doc.get("refine") or {}).items():
        lv = str(name).split("_", 1)[0]
        if lv not in LEVELS or not isinstance(raw, dict) or not isinstance(raw.get("priority"), int):
            raise RulesError(f"{source}: refine.{name}: name must start with a level (P1_...) and give a priority")
        bounds = levels[lv]
        if not bounds["lo"] <= raw["priority"] <= bounds["hi"]:
            raise RulesError(f"{source}: refine.{name}: priority {raw['priority']} is outside {lv}")
        refinements.append(Refinement(lv, raw["priority"], _condition(raw, f"{source}: refine.{name}", known)))

    fallback = doc.get("fallback") or {}
    if fallback.get("level", "P3") not in LEVELS or fallback.get("category", "other") not in CATEGORIES:
        raise RulesError(f"{source}: fallback needs a level in {LEVELS} and a known category")
    templates = doc.get("template_categories") or {}
    for name, cat in templates.items():
        if cat not in CATEGORIES:
            raise RulesError(f"{source}: template_categories.{name}: unknown category {cat!r}")
    for key in ("vulnerable", "suspect_near"):
        unknown = [v for v in doc.get(key) or [] if v not in concept_ids]
        if unknown:
            raise RulesError(f"{source}: {key}: unknown concept(s) {', '.join(unknown)}")

    neg = doc.get("negation") or {}
    try:
        breaks_cjk = re.compile(neg.get("clause_breaks_cjk", r"[，,。！？!?；;\n]"))
        breaks_en = re.compile(neg.get("clause_breaks_en", r"[,.;:!?\n]"), re.IGNORECASE)
    except re.error as exc:
        raise RulesError(f"{source}: negation clause_breaks: bad regular expression: {exc}") from None
    return RuleSet(
        version=int(doc.get("version", 1)), concepts=tuple(concepts), level_rules=tuple(level_rules),
        category_rules=tuple(category_rules), context=context,
        levels={k: dict(v) for k, v in levels.items() if k in LEVELS}, refinements=tuple(refinements),
        vulnerable=tuple(doc.get("vulnerable") or ()), suspect_near=tuple(doc.get("suspect_near") or ()),
        fallback_level=fallback.get("level", "P3"), fallback_category=fallback.get("category", "other"),
        template_categories=dict(templates),
        neg_cues_cjk=frozenset(str(c) for c in neg.get("cjk_cues") or ()),
        neg_cues_en=frozenset(_cue(c, source) for c in neg.get("en_cues") or ()),
        neg_window_cjk=int(neg.get("window_tokens_cjk", 3)), neg_window_en=int(neg.get("window_tokens_en", 4)),
        clause_breaks_cjk=breaks_cjk, clause_breaks_en=breaks_en, gazetteer=gazetteer, source=source,
        counts={"concepts": len(concepts), "level_rules": len(level_rules),
                "category_rules": len(category_rules), "places": len(gazetteer.places)},
        cjk_index=AnchorIndex(tuple(concepts), "cjk"), en_index=AnchorIndex(tuple(concepts), "en"),
        level_index=_index([r.when for r in level_rules]),
        category_index=_index([r.when for r in category_rules]),
    )


def _index(conditions: list[Condition]) -> dict[str, tuple[int, ...]]:
    """factor -> indexes of the conditions that cannot hold without it (the first ``all`` factor, or
    each ``any`` factor)."""
    index: dict[str, list[int]] = {}
    for i, cond in enumerate(conditions):
        for f in cond.all[:1] or cond.any:
            index.setdefault(f, []).append(i)
    return {f: tuple(v) for f, v in index.items()}


def load_rules(rules_path: str | Path | None = None, gazetteer_path: str | Path | None = None) -> RuleSet:
    """Read and compile the rules and gazetteer files (defaults: the ones shipped in the package)."""
    rpath = Path(rules_path) if rules_path else DEFAULT_RULES
    gpath = Path(gazetteer_path) if gazetteer_path else DEFAULT_GAZETTEER
    gazetteer = load_gazetteer(gpath)
    try:
        doc = yaml.safe_load(rpath.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RulesError(f"cannot read rules file {rpath}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise RulesError(f"rules file {rpath} is not valid YAML: {exc}") from None
    return parse_rules(doc, gazetteer, str(rpath))


@functools.cache
def default_rules() -> RuleSet:
    """The shipped rules and gazetteer, loaded once and never changed: what library callers without an
    app (tests, benches, ``analytics.evaluate``) score with when they pass no rules."""
    return load_rules()


class RuleBook:
    """The rule set in force for one app: loaded from its configured paths on first use, swapped
    atomically by :meth:`reload`.

    An app owns one (``web.appkeys.RULES``) and hands it to everything that scores or analyses text,
    so a reload in one app never changes the rules of another app in the same process. Readers take
    :attr:`current` at call time: a scorer in another thread sees the old rules or the new ones,
    never a mixture.
    """

    def __init__(self, rules_path: str | Path | None = None, gazetteer_path: str | Path | None = None) -> None:
        # An empty setting means "the shipped file", as JINGYUN_RULES_PATH= did before.
        self.paths: tuple[str | Path | None, str | Path | None] = (rules_path or None, gazetteer_path or None)
        self._lock = threading.Lock()
        self._rules: RuleSet | None = None

    @property
    def current(self) -> RuleSet:
        """The rules in force (loaded on first use)."""
        rules = self._rules
        if rules is None:
            with self._lock:
                if self._rules is None:
                    self._rules = load_rules(*self.paths)
                rules = self._rules
        return rules

    def reload(self) -> RuleSet:
        """Re-read the rule and gazetteer files; on any error keep the old rules and raise RulesError."""
        fresh = load_rules(*self.paths)
        with self._lock:
            self._rules = fresh
        return fresh
