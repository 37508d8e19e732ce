"""Find concepts and facts in a text: concept matches with negation, places, plates, phones and times.

Pure functions over a :class:`~analytics.rules.RuleSet`; nothing here does I/O.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Any

from analytics import address, textnorm
from analytics import rules as rules_mod
from analytics.first_chars import with_first_char_guard
from analytics.rules import RuleSet


@dataclass(frozen=True)
class Match:
    """One concept found in the text (or in a form field when ``source`` is not ``"text"``)."""

    concept: str
    start: int
    end: int
    evidence: str
    negated: bool = False
    cue_start: int = -1  # where the negation cue starts, when negated
    source: str = "text"


# ---- plates, phones, times ------------------------------------------------------------------
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
PLATE_RE = re.compile(
    rf"(?<![A-Za-z0-9])([{_PROVINCES}])\s?([A-HJ-NP-Z])\s?[·•.\-\s]?\s?([A-HJ-NP-Z0-9]{{4,5}}[A-HJ-NP-Z0-9挂学警港澳])"
    r"(?![A-Za-z0-9])", re.IGNORECASE)
PHONE_RE = with_first_char_guard(re.compile(
    r"(?<![0-9])(?:\+?86[\s-]?)?(1[3-9][0-9](?:[\s-]?[0-9]{4}){2})(?![0-9])"
    r"|(?<![0-9])(0[1-9][0-9]{1,2}[\s-]?[0-9]{7,8})(?![0-9])"))
_CN_NUM = "零〇一二两三四五六七八九十"
# Lower-case and behind a first-character guard (analytics/first_chars.py): matched against
# lower_same_length(text), which is 4x cheaper than re.IGNORECASE and lets re skip hopeless positions.
TIME_RE = with_first_char_guard(re.compile(
    r"(?:(?:[0-9]{1,2}|[一二三四五六七八九十]{1,3})月(?:[0-9]{1,2}|[一二三四五六七八九十]{1,3})[日号])"
    r"|(?:(?:今天|昨天|前天|今晚|昨晚|前晚|今早|今朝|琴晚|琴日)(?:凌晨|早上|上午|中午|下午|晚上|半夜|傍晚)?"
    r"|凌晨|早上|上午|中午|下午|晚上|半夜|傍晚)"
    rf"(?:[0-9{_CN_NUM}]{{1,3}}[点點時时](?:半|[0-9{_CN_NUM}]{{1,3}}分?)?(?:左右)?)?"
    rf"|[0-9{_CN_NUM}]{{1,3}}[点點](?:半|[0-9]{{1,2}}分?)?"
    r"|(?<![0-9])[0-2]?[0-9]:[0-5][0-9](?:\s?[ap]\.?m\.?)?(?![0-9])"
    r"|\b(?:[1-9]|1[0-2])\s?[ap]\.?m\b\.?"
    r"|\b(?:yesterday|last\s+night|this\s+(?:morning|afternoon|evening)|tonight|overnight"
    r"|(?:mon|tues|wednes|thurs|fri|satur|sun)day(?:\s+(?:morning|afternoon|evening|night))?)\b"
    r"|\b(?:an?|one|two|three|[0-9]+)\s+(?:minutes?|hours?)\s+ago\b"
    r"|[0-9一二三四五六七八九十几半]+(?:分钟|个钟|小时)(?:前|了)?",
))


def plates(text: str) -> list[dict[str, Any]]:
    """Vehicle plates such as 粤B·12345, 粤B 12345, 粤BD12345, normalised to 粤B12345."""
    out = []
    for m in PLATE_RE.finditer(text):
        out.append({"text": m.group(0), "plate": (m.group(1) + m.group(2) + m.group(3)).upper(),
                    "start": m.start(), "end": m.end()})
    return out


def phones(text: str) -> list[dict[str, Any]]:
    """Mainland mobile numbers (with or without +86 and separators) and landlines with an area code."""
    out = []
    for m in PHONE_RE.finditer(text):
        digits = re.sub(r"\D", "", m.group(1) or m.group(2))
        out.append({"text": m.group(0), "number": digits, "start": m.start(), "end": m.end()})
    return out


def times(text: str) -> list[dict[str, Any]]:
    """Time expressions as written (dates, clock times, relative days, 'an hour ago')."""
    return [{"text": text[m.start():m.end()], "start": m.start(), "end": m.end()}
            for m in TIME_RE.finditer(rules_mod.lower_same_length(text)) if m.group(0).strip()]


# ---- places ---------------------------------------------------------------------------------
_JOIN = re.compile(r"^\s*(?:和|与|跟|同|及|and|&|/|at|near|by|靠近)\s*$", re.IGNORECASE)
_ZH_SUFFIX = re.compile(
    r"^(?:[东西南北]?[0-9一二三四五六七八九十]*(?:路口|交叉口|十字路口|路段|段|[东西南北]行|方向|附近|门口|旁边|对面|楼下|里面|内|上)"
    r"|[0-9A-Za-z一二三四五六七八九十]+(?:号|栋|座|楼|层|单元|室|坊|出口|期)|[A-Z]出口|地铁站|站|(?<=[栋座])[0-9]{3,4})+")
_EN_SUFFIX = re.compile(
    r"^(?:\s+(?:eastbound|westbound|northbound|southbound|junction|intersection|crossing"
    r"|(?:exit|gate|block|tower|building|entrance)\s+(?-i:[0-9]+[A-Z]?|[A-Z][0-9]?)\b|station))+",
    re.IGNORECASE)
_EN_PREFIX = re.compile(r"(?:\b(?:Tower|Block|Building)\s+[0-9A-Z]+,?\s+)$")


# A unit's radio callsign ("福田七号", "Futian 9 to control") names the unit, not the place.
_CALLSIGN_AFTER = re.compile(r"^(?:[0-9一二三四五六七八九十]{1,3}号|\s*[0-9]{1,3}\b)")
_RANK = {"building": 0, "landmark": 1, "station": 1, "estate": 1, "port": 1, "park": 2, "village": 2,
         "road": 3, "area": 4, "district": 8, "city": 9}
_VAGUE = ("district", "city")
# How sure the place is: a gazetteer name, an address next to a known place, an address whose name
# starts like a known one, an address placed only at the district's centre.
CONFIDENCE = {"gazetteer": 0.9, "vague": 0.4, "address_near_known": 0.7, "address_by_name": 0.5,
              "address_district": 0.3}


def locate(text: str, rules: RuleSet, lang: str | None = None) -> dict[str, Any] | None:
    """The incident's place: gazetteer names (joined when they form a junction) plus their suffixes,
    or else an address written as text (:mod:`analytics.address`) placed at the nearest known place.

    Returns ``{"text", "start", "end", "name", "kind", "lat", "lon", "places", "confidence", "resolved"}``
    or None. When two roads are named as a junction the coordinates are their midpoint.
    """
    gaz = rules.gazetteer
    hits = [h for h in gaz.find(text)
            if not (h.place.kind in _VAGUE and _CALLSIGN_AFTER.match(text[h.end:h.end + 4]))]
    loc = _from_gazetteer(text, hits) if hits else None
    if loc is not None and loc["kind"] not in _VAGUE:
        # only the words around the name can extend it; scanning them alone keeps this cheap
        lo, hi = max(0, loc["start"] - 8), loc["end"] + 16
        addr = address.best(text[lo:hi], lang or textnorm.detect_lang(text))
        if addr is not None:
            addr = address.Address(addr.text, addr.start + lo, addr.end + lo, addr.name)
        # "泰然工业区201栋3楼" around a gazetteer "泰然": the longer phrase, the known place's coordinates
        if addr is not None and addr.start <= loc["start"] and addr.end >= loc["end"] and (
                addr.end - addr.start > loc["end"] - loc["start"]):
            loc.update(text=addr.text, start=addr.start, end=addr.end)
        return loc
    addr = address.best(text, lang or textnorm.detect_lang(text))
    if addr is None:
        return loc
    anchor, how = None, "address_district"
    if hits:
        # the known place nearest in the sentence ("上沙村菜市场后面" names the market by its village)
        near = min(hits, key=lambda h: (abs(h.start - addr.start), _RANK.get(h.place.kind, 5)))
        anchor, how = near.place, "address_near_known"
        if anchor.kind in _VAGUE:
            how = "address_district"
    by_name = gaz.by_name_prefix(addr.name)
    if by_name is not None and how != "address_near_known":
        anchor, how = by_name, "address_by_name"
    if anchor is None:
        anchor = gaz.district()
    if anchor is None:
        return {"text": addr.text, "start": addr.start, "end": addr.end, "name": addr.name, "kind": "address",
                "lat": None, "lon": None, "places": [], "confidence": 0.2, "resolved": "unplaced"}
    return {"text": addr.text, "start": addr.start, "end": addr.end, "name": anchor.name, "kind": "address",
            "lat": round(anchor.lat, 6), "lon": round(anchor.lon, 6), "places": [anchor.name],
            "confidence": CONFIDENCE[how], "resolved": how}


def _from_gazetteer(text: str, hits: list[Any]) -> dict[str, Any]:
    # Prefer the most specific mention: kinds ordered from precise to vague.
    best = min(range(len(hits)), key=lambda i: (_RANK.get(hits[i].place.kind, 5), i))
    # Names written back to back belong together ("华强北赛格广场"): start from the first of them.
    first = best
    while first > 0 and hits[first - 1].end == hits[first].start:
        first -= 1
    group = [hits[first]]
    # A junction: "A路和B路交叉口" / "X Road at Y overpass".
    j = first
    while j + 1 < len(hits) and (j < best or _JOIN.match(text[hits[j].end:hits[j + 1].start])
                                 or hits[j].end == hits[j + 1].start):
        group.append(hits[j + 1])
        j += 1
    start, end = group[0].start, group[-1].end
    tail = text[end:]
    m = _ZH_SUFFIX.match(tail) or _EN_SUFFIX.match(tail)
    if m:
        end += m.end()
    pm = _EN_PREFIX.search(text[:start])
    if pm:
        start = pm.start()
    # coordinates from the places that name a spot, not from an area written before them
    spots = [h for h in group if _RANK.get(h.place.kind, 5) <= _RANK.get(hits[best].place.kind, 5)] or group
    lat = sum(h.place.lat for h in spots) / len(spots)
    lon = sum(h.place.lon for h in spots) / len(spots)
    main = hits[best].place
    vague = main.kind in _VAGUE
    return {"text": text[start:end], "start": start, "end": end, "name": main.name, "kind": main.kind,
            "lat": round(lat, 6), "lon": round(lon, 6), "places": [h.place.name for h in group],
            "confidence": CONFIDENCE["vague" if vague else "gazetteer"], "resolved": "gazetteer"}


# ---- concepts with negation -----------------------------------------------------------------
# English patterns are worth running on Chinese text only when it holds a Latin word ("CCTV", "PI")
# or a radio code ("10-50"); digits alone (an address number, a time) are not English.
_LATIN = re.compile(r"[a-z]{2}|(?<![0-9])10-[0-9]")
_SELF_NEGATED = re.compile(r"(?:没|沒|无|無|冇|未|唔|不|no\b|not\b|isn't|isnt|wasn't|can't|won't|hasn't|stopped)")


def _clause_starts(text: str, pattern: re.Pattern[str]) -> list[int]:
    return [0] + [m.end() for m in pattern.finditer(text)]


def find_concepts(text: str, lang: str, rules: RuleSet, *, source: str = "text") -> list[Match]:
    """Every concept match in ``text`` (already normalised), with negation decided per match."""
    cjk = lang != "en"
    low = rules_mod.lower_same_length(text)
    # English patterns matter in Chinese text only when it has Latin words or radio codes (see _LATIN).
    latin = not cjk or _LATIN.search(low) is not None
    found: list[tuple[str, bool, int, int]] = []
    scans: list[tuple[set[int], str]] = []
    if cjk and rules.cjk_index is not None:
        scans.append((rules.cjk_index.candidates(low), "cjk"))
    if latin and rules.en_index is not None:
        scans.append((rules.en_index.candidates(low), "en"))
    for candidates, attr in scans:
        for idx in sorted(candidates):
            concept = rules.concepts[idx]
            pattern = concept.cjk if attr == "cjk" else concept.en
            if pattern is None:
                continue
            for m in pattern.finditer(low):  # lower-cased patterns on lower-cased text (see rules._compile)
                if m.end() > m.start():
                    found.append((concept.id, concept.negatable, m.start(), m.end()))
    if not found:
        return []
    breaks = rules.clause_breaks_cjk if cjk else rules.clause_breaks_en
    clause_starts: list[int] | None = None
    out = []
    for cid, negatable, s, e in found:
        negated, cue_start = False, -1
        # A pattern that carries its own negation ("没有呼吸", "not breathing") asserts danger; a cue just
        # before it ("叫了没反应，没有生命体征") does not turn it back into a negated fact.
        if negatable and not _SELF_NEGATED.match(low, s):
            if clause_starts is None:
                clause_starts = _clause_starts(text, breaks)
            negated, cue_start = _negated(text, s, clause_starts, rules, lang)
        out.append(Match(cid, s, e, text[s:e], negated, cue_start, source))
    return out


# Characters before a match that are segmented to find a negation cue: enough for the token
# window (a few words) without segmenting the whole text for every report.
_LOOKBACK_CJK = 12
# English verbs after which a negation cue stays inside its own clause ("I don't know him").
_NOT_NEGATING_NEXT = frozenset({"know", "knew", "remember", "recall", "care", "understand", "mind", "recognise",
                                "recognize"})
_LOOKBACK_EN = 48
# Chinese verbs a cue negates by itself: "趁我不注意拿走了", "不小心摔倒", "不认识的人打了我".
_NOT_NEGATING_NEXT_CJK = frozenset({"注意", "留意", "为意", "小心", "认识", "识", "记得", "在意"})


def _negated(text: str, start: int, clause_starts: list[int], rules: RuleSet, lang: str) -> tuple[bool, int]:
    """Is there a negation cue within a few tokens before ``start``, inside the same clause?"""
    cjk = lang != "en"
    clause_start = clause_starts[bisect.bisect_right(clause_starts, start) - 1]
    begin = max(clause_start, start - (_LOOKBACK_CJK if cjk else _LOOKBACK_EN))
    if begin >= start:
        return False, -1
    cues = rules.neg_cues_cjk if cjk else rules.neg_cues_en
    segment = text[begin:start]
    # A token can only be a cue if the cue is written there: most matches have none nearby, and the
    # substring test spares them the segmenter (the costliest step of scoring).
    if cjk and not any(c in segment for c in cues):
        return False, -1
    tokens = textnorm.tokenize(segment, lang)
    window = rules.neg_window_cjk if cjk else rules.neg_window_en
    last = tokens[-window:]
    for k in range(len(last) - 1, -1, -1):
        word, ws, _we = last[k]
        low = word.lower()
        # "nobody's got a knife", "no-one's hurt": the cue is the word before the apostrophe
        if not cjk and "'" in low and not low.endswith("n't"):
            low = low.split("'", 1)[0]
        if low in cues or (not cjk and low.endswith("n't")):
            # "a man I don't know punched me": the cue negates "know", not what follows it.
            nxt = last[k + 1][0].lower() if k + 1 < len(last) else ""
            if nxt in (_NOT_NEGATING_NEXT_CJK if cjk else _NOT_NEGATING_NEXT):
                continue
            return True, begin + ws
    return False, -1
