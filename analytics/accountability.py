"""AI accountability: how often dispatchers accept the machine's suggestions, and what came of it.

Pure functions over plain dicts, one per incident, as the store reads them::

    {"id": "INC-1", "category": "robbery",
     "machine_level": "P2",            # the scorer's level (None: never scored)
     "final_level": "P1",              # the level the incident was handled at (after any override)
     "dispatches": [{"recommended_units": ["U3", "U7"], "chosen_unit": "U7"}, ...],
     "outcome_code": "arrest"}         # None while open

A row may give ``recommended_units`` and ``chosen_unit`` at top level instead of ``dispatches`` (one
dispatch). Two suggestions are measured: the **level** (accepted when the final level equals the
machine's) and the **unit** (accepted when the chosen unit was the top recommendation). Rows that cannot
be counted are counted under ``not_counted`` with the reason, never dropped without a word.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from common.levels import LEVELS

NO_CATEGORY = "uncategorised"


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


@dataclass
class LevelTally:
    """Machine levels: how many were kept and how many the dispatcher changed, and which way."""

    scored: int = 0
    accepted: int = 0
    raised: int = 0      # final level more urgent than the machine's
    lowered: int = 0

    @property
    def overridden(self) -> int:
        return self.raised + self.lowered

    def to_dict(self) -> dict[str, Any]:
        return {"scored": self.scored, "accepted": self.accepted, "overridden": self.overridden,
                "raised": self.raised, "lowered": self.lowered, "acceptance_rate": _rate(self.accepted, self.scored),
                "override_rate": _rate(self.overridden, self.scored)}


@dataclass
class UnitTally:
    """Dispatches: was the chosen unit the top recommendation, another recommended one, or none of them."""

    dispatches: int = 0
    top: int = 0
    other_recommended: int = 0
    not_recommended: int = 0

    @property
    def overridden(self) -> int:
        return self.other_recommended + self.not_recommended

    def to_dict(self) -> dict[str, Any]:
        return {"dispatches": self.dispatches, "top": self.top, "other_recommended": self.other_recommended,
                "not_recommended": self.not_recommended, "overridden": self.overridden,
                "acceptance_rate": _rate(self.top, self.dispatches),
                "override_rate": _rate(self.overridden, self.dispatches)}


@dataclass
class _Report:
    levels: LevelTally = field(default_factory=LevelTally)
    levels_by_level: dict[str, LevelTally] = field(default_factory=dict)
    levels_by_category: dict[str, LevelTally] = field(default_factory=dict)
    units: UnitTally = field(default_factory=UnitTally)
    units_by_level: dict[str, UnitTally] = field(default_factory=dict)
    units_by_category: dict[str, UnitTally] = field(default_factory=dict)
    outcomes: dict[str, dict[str, Counter[str]]] = field(default_factory=lambda: {
        "levels": {"accepted": Counter(), "overridden": Counter()},
        "units": {"accepted": Counter(), "overridden": Counter()}})
    not_counted: Counter[str] = field(default_factory=Counter)


def recommendation_verdict(recommended: Sequence[str], chosen: str | None) -> dict[str, Any]:
    """What the dispatch service stores with each dispatch, at the moment it is made.

    ``verdict`` is ``top`` (the first recommendation was chosen), ``other_recommended``,
    ``not_recommended``, or ``no_recommendation`` (nothing was recommended); ``rank`` is the chosen
    unit's 1-based place in the list, None when it was not in it.
    """
    units = list(recommended)
    rank = units.index(chosen) + 1 if chosen is not None and chosen in units else None
    if not units:
        verdict = "no_recommendation"
    elif rank == 1:
        verdict = "top"
    elif rank is not None:
        verdict = "other_recommended"
    else:
        verdict = "not_recommended"
    return {"recommended_units": units, "chosen_unit": chosen, "rank": rank, "verdict": verdict,
            "top_choice": verdict == "top"}


def _level(value: Any) -> str | None:
    return value if value in LEVELS else None


def _dispatches(inc: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    if inc.get("dispatches") is not None:
        return list(inc["dispatches"])
    if inc.get("chosen_unit") is not None:
        return [{"recommended_units": inc.get("recommended_units") or [], "chosen_unit": inc["chosen_unit"]}]
    return []


def _count_level(rep: _Report, inc: Mapping[str, Any], category: str) -> str | None:
    """Tally the level suggestion; returns accepted | overridden | None (not counted)."""
    raw_machine, raw_final = inc.get("machine_level"), inc.get("final_level")
    if raw_machine is None:
        rep.not_counted["level: never scored by the machine"] += 1
        return None
    machine, final = _level(raw_machine), _level(raw_final)
    if machine is None or (raw_final is not None and final is None):
        rep.not_counted[f"level: unknown level (accepted: {', '.join(LEVELS)})"] += 1
        return None
    if final is None:
        rep.not_counted["level: no final level recorded"] += 1
        return None
    for tally in (rep.levels, rep.levels_by_level.setdefault(machine, LevelTally()),
                  rep.levels_by_category.setdefault(category, LevelTally())):
        tally.scored += 1
        if final == machine:
            tally.accepted += 1
        elif LEVELS.index(final) < LEVELS.index(machine):
            tally.raised += 1
        else:
            tally.lowered += 1
    return "accepted" if final == machine else "overridden"


def _count_units(rep: _Report, inc: Mapping[str, Any], category: str) -> str | None:
    """Tally each dispatch; the incident counts as overridden if any dispatch passed over the top unit."""
    level = _level(inc.get("final_level")) or "unknown"
    verdict: str | None = None
    for d in _dispatches(inc):
        recommended = list(d.get("recommended_units") or [])
        chosen = d.get("chosen_unit")
        if chosen is None:
            rep.not_counted["unit: dispatch without a chosen unit"] += 1
            continue
        judged = recommendation_verdict(recommended, chosen)["verdict"]
        if judged == "no_recommendation":
            rep.not_counted["unit: dispatch without recommendations"] += 1
            continue
        for tally in (rep.units, rep.units_by_level.setdefault(level, UnitTally()),
                      rep.units_by_category.setdefault(category, UnitTally())):
            tally.dispatches += 1
            setattr(tally, judged, getattr(tally, judged) + 1)
        if judged != "top":
            verdict = "overridden"
        elif verdict is None:
            verdict = "accepted"
    return verdict


def accountability(incidents: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Acceptance and override rates of machine levels and unit recommendations, overall, per level and per
    category, and the outcome codes of incidents whose suggestions were accepted vs overridden.

    Outcomes count closed incidents only (those with an ``outcome_code``); open ones are counted in
    ``outcomes.*.open``. Levels are grouped by the machine's level; units by the final level.
    """
    rep = _Report()
    total = 0
    open_after: dict[str, Counter[str]] = {"levels": Counter(), "units": Counter()}
    for inc in incidents:
        total += 1
        category = str(inc.get("category") or NO_CATEGORY)
        code = inc.get("outcome_code")
        for what, verdict in (("levels", _count_level(rep, inc, category)),
                              ("units", _count_units(rep, inc, category))):
            if verdict is None:
                continue
            if code is None:
                open_after[what][verdict] += 1
            else:
                rep.outcomes[what][verdict][str(code)] += 1

    def table(tallies: Mapping[str, LevelTally | UnitTally], order: Sequence[str] = ()) -> dict[str, Any]:
        keys = [k for k in order if k in tallies] + sorted(k for k in tallies if k not in order)
        return {k: tallies[k].to_dict() for k in keys}

    return {
        "incidents": total,
        "levels": {**rep.levels.to_dict(), "by_level": table(rep.levels_by_level, LEVELS),
                   "by_category": table(rep.levels_by_category)},
        "units": {**rep.units.to_dict(), "by_level": table(rep.units_by_level, LEVELS),
                  "by_category": table(rep.units_by_category)},
        "outcomes": {what: {verdict: dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))
                            for verdict, c in by.items()} | {"open": dict(open_after[what])}
                     for what, by in rep.outcomes.items()},
        "not_counted": dict(sorted(rep.not_counted.items())),
    }


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


BRIEF_COLUMNS: Mapping[str, Sequence[tuple[str, str]]] = {
    "zh": (("group", "分组"), ("scored", "机器定级数"), ("level_accept", "定级采纳率"), ("raised", "调高"),
           ("lowered", "调低"), ("dispatches", "派警数"), ("unit_accept", "首选单位采纳率")),
    "en": (("group", "group"), ("scored", "scored"), ("level_accept", "level accepted"), ("raised", "raised"),
           ("lowered", "lowered"), ("dispatches", "dispatches"), ("unit_accept", "top unit chosen")),
}


def brief_rows(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows for the daily brief's accountability table (columns: :data:`BRIEF_COLUMNS`): all, then per level."""
    rows = []
    levels, units = report["levels"], report["units"]
    groups = [("all", levels, units)] + [(lv, levels["by_level"].get(lv), units["by_level"].get(lv)) for lv in LEVELS]
    for name, lv, un in groups:
        if not lv and not un:
            continue
        rows.append({"group": name, "scored": (lv or {}).get("scored", 0),
                     "level_accept": _pct((lv or {}).get("acceptance_rate")), "raised": (lv or {}).get("raised", 0),
                     "lowered": (lv or {}).get("lowered", 0), "dispatches": (un or {}).get("dispatches", 0),
                     "unit_accept": _pct((un or {}).get("acceptance_rate"))})
    return rows


def brief_category_rows(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The same columns as :func:`brief_rows`, one row per incident category (the level figures by the
    category's machine levels, the unit figures by its dispatches), categories in name order."""
    levels, units = report["levels"]["by_category"], report["units"]["by_category"]
    rows = []
    for name in sorted(set(levels) | set(units)):
        lv, un = levels.get(name) or {}, units.get(name) or {}
        rows.append({"group": name, "scored": lv.get("scored", 0), "level_accept": _pct(lv.get("acceptance_rate")),
                     "raised": lv.get("raised", 0), "lowered": lv.get("lowered", 0),
                     "dispatches": un.get("dispatches", 0), "unit_accept": _pct(un.get("acceptance_rate"))})
    return rows
