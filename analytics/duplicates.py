"""Possible duplicates: a new report close in time and place to an open incident, with similar content.

The score mixes four signals, each in 0..1: time gap, distance, category agreement and text
similarity (jieba words and character bigrams, so two callers' wordings of one event match even when
segmented differently). A shared plate, phone number or named place adds evidence. Nothing here
does I/O; the caller passes the open incidents (dispatch pre-filters them in SQL with a box that
holds every point within ``max_meters``, so the filter never drops a possible duplicate).

The text features of an incident (words, bigrams, plates, phones, places) are computed once per
text and kept in a bounded cache, so comparing a new report with the open incidents costs set
operations, not segmentation (the cache is keyed by the rule set too, so reloaded rules or
another app's rules never reuse features made with other rules).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

from analytics import extract, textnorm
from analytics import rules as rules_mod

WEIGHTS = {"time": 0.25, "distance": 0.25, "category": 0.25, "text": 0.25}
DIFFERENT_CATEGORY_FACTOR = 0.6
UNKNOWN_DISTANCE_SCORE = 0.3  # one side has no coordinates: neither close nor far
_STOP = frozenset("的 了 在 是 有 我 你 他 她 它 们 一 个 和 与 就 都 也 还 很 这 那 啊 呀 吧 呢 嘅 咗 喺 佢 "
                  "the a an and or of to in on at is are was were be been it he she they i you we my our "
                  "his her their there this that with for from".split())


@dataclass(frozen=True)
class DuplicateMatch:
    incident_id: str
    score: float
    evidence: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(min(1.0, math.sqrt(a)))


class _Features(NamedTuple):
    words: frozenset[str]
    bigrams: frozenset[str]
    plate: frozenset[str]
    phone: frozenset[str]
    place: frozenset[str]


# An open incident's text is analysed once, not once per new report. Bounded: at most this many
# texts, each at most FEATURE_CACHE_MAX_CHARS long (longer ones are analysed every time).
FEATURE_CACHE_SIZE = 4096
FEATURE_CACHE_MAX_CHARS = 5000


class _RulesKey:
    """A rule set as a cache key: by identity (a RuleSet holds dicts, so it has no value hash).

    Keying the feature cache by the rules as well as the text keeps it right when two apps with
    different rule books score in one process, or when one app reloads: features made with other
    rules are simply never looked up again and age out of the LRU.
    """

    __slots__ = ("rules",)

    def __init__(self, rules: rules_mod.RuleSet) -> None:
        self.rules = rules

    def __hash__(self) -> int:
        return id(self.rules)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _RulesKey) and other.rules is self.rules


def _features(text: str, rules: rules_mod.RuleSet) -> _Features:
    if len(text) <= FEATURE_CACHE_MAX_CHARS:
        return _cached_features(text, _RulesKey(rules))
    return _analyse(text, rules)


def _analyse(text: str, rules: rules_mod.RuleSet) -> _Features:
    norm = textnorm.normalize(text or "")
    lang = textnorm.detect_lang(norm)
    words = frozenset(w for w in textnorm.words(norm, lang) if w not in _STOP)
    cjk = [ch for ch in norm if "\u3400" <= ch <= "\u9fff"]
    bigrams = frozenset(a + b for a, b in itertools.pairwise(cjk))
    places = frozenset(h.place.name for h in rules.gazetteer.find(norm)
                       if h.place.kind not in ("district", "city"))
    return _Features(words, bigrams, frozenset(p["plate"] for p in extract.plates(norm)),
                     frozenset(p["number"] for p in extract.phones(norm)), places)


@functools.lru_cache(maxsize=FEATURE_CACHE_SIZE)
def _cached_features(text: str, key: _RulesKey) -> _Features:
    return _analyse(text, key.rules)


def _similarity(fa: _Features, fb: _Features) -> float:
    wa, ba, wb, bb = fa.words, fa.bigrams, fb.words, fb.bigrams
    word = len(wa & wb) / len(wa | wb) if wa and wb else 0.0
    bigram = 2 * len(ba & bb) / (len(ba) + len(bb)) if ba and bb else 0.0
    return max(word, bigram)


def text_similarity(a: str, b: str, *, rules: rules_mod.RuleSet | None = None) -> float:
    """0..1: the better of word Jaccard and CJK character-bigram Dice (``rules``: whose gazetteer and
    segmentation; default the shipped rules)."""
    rs = rules or rules_mod.default_rules()
    return _similarity(_features(a, rs), _features(b, rs))


def _coords(item: Mapping[str, Any]) -> tuple[float, float] | None:
    lat, lon = item.get("lat"), item.get("lon")
    if isinstance(lat, int | float) and isinstance(lon, int | float) and not (math.isnan(lat) or math.isnan(lon)):
        return float(lat), float(lon)
    return None


def _time(item: Mapping[str, Any], name: str) -> dt.datetime:
    value = item.get("created_at")
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise ValueError(f"{name}: created_at must be a timezone-aware datetime (or ISO 8601 with offset), "
                         f"got {item.get('created_at')!r}")
    return value


def _keys(text: str, rules: rules_mod.RuleSet) -> dict[str, frozenset[str]]:
    f = _features(text, rules)
    return {"plate": f.plate, "phone": f.phone, "place": f.place}


def find_duplicates(candidate: Mapping[str, Any], open_incidents: Sequence[Mapping[str, Any]], *,
                    max_minutes: float, max_meters: float, min_similarity: float,
                    rules: rules_mod.RuleSet | None = None) -> list[DuplicateMatch]:
    """Open incidents that the candidate may duplicate, best first, each with its evidence.

    Mapping keys: ``id``, ``text``, ``category``, ``lat``, ``lon``, ``created_at`` (aware datetime).
    An incident further than ``max_minutes`` or ``max_meters`` away is never a duplicate. ``rules``:
    whose gazetteer names the places (default: the shipped rules).
    """
    if max_minutes <= 0 or max_meters <= 0:
        raise ValueError("max_minutes and max_meters must be positive")
    rs = rules or rules_mod.default_rules()
    c_time = _time(candidate, "candidate")
    c_xy = _coords(candidate)
    c_text = str(candidate.get("text") or "")
    c_feat = _features(c_text, rs)
    c_keys = _keys(c_text, rs)
    c_cat = candidate.get("category")
    out = []
    for inc in open_incidents:
        if str(inc.get("id")) == str(candidate.get("id")) and candidate.get("id") is not None:
            continue
        gap = abs((c_time - _time(inc, f"incident {inc.get('id')}")).total_seconds()) / 60.0
        if gap > max_minutes:
            continue
        evidence = [f"{gap:.0f} min apart"]
        xy = _coords(inc)
        if c_xy and xy:
            dist = haversine_m(*c_xy, *xy)
            if dist > max_meters:
                continue
            d_score = 1.0 - dist / max_meters
            evidence.append(f"{dist:.0f} m apart")
        else:
            d_score = UNKNOWN_DISTANCE_SCORE
            evidence.append("distance unknown (no coordinates)")
        cat = inc.get("category")
        if c_cat and cat and c_cat == cat:
            cat_score = 1.0
            evidence.append(f"same category: {cat}")
        elif not c_cat or not cat or "other" in (c_cat, cat):
            cat_score = 0.5
        else:
            cat_score = 0.0
            evidence.append(f"different categories: {c_cat} / {cat}")
        i_text = str(inc.get("text") or "")
        sim = _similarity(c_feat, _features(i_text, rs))
        if sim >= 0.1:
            evidence.append(f"text similarity {sim:.2f}")
        score = (WEIGHTS["time"] * (1.0 - gap / max_minutes) + WEIGHTS["distance"] * d_score
                 + WEIGHTS["category"] * cat_score + WEIGHTS["text"] * sim)
        if cat_score == 0.0:
            # Two different kinds of event at one place are usually two incidents.
            score *= DIFFERENT_CATEGORY_FACTOR
        i_keys = _keys(i_text, rs)
        # A named place only adds evidence when coordinates could not compare the two.
        bonuses = (("plate", 0.3), ("phone", 0.3)) + ((("place", 0.15),) if not (c_xy and xy) else ())
        for kind, bonus in bonuses:
            shared = sorted(c_keys[kind] & i_keys[kind])
            if shared:
                score += bonus
                evidence.append(f"same {kind}: {', '.join(shared)}")
        score = min(1.0, score)
        if score >= min_similarity:
            out.append(DuplicateMatch(str(inc.get("id")), round(score, 3), evidence))
    out.sort(key=lambda m: m.score, reverse=True)
    return out
