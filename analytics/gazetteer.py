"""An editable gazetteer of Futian places: names and aliases in any language, resolved to coordinates."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from analytics import textnorm


def _is_latin(ch: str) -> bool:
    return "a" <= ch <= "z"


@dataclass(frozen=True)
class Place:
    name: str
    kind: str
    lat: float
    lon: float
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlaceHit:
    place: Place
    start: int
    end: int


class Gazetteer:
    """Finds place names in text: longest name first, English case-insensitively, whole words only."""

    def __init__(self, places: list[Place]) -> None:
        self.places = tuple(places)
        self._by_key: dict[str, Place] = {}
        for place in places:
            for label in (place.name, *place.aliases):
                self._by_key.setdefault(label.lower(), place)
        labels = sorted(self._by_key, key=len, reverse=True)
        # Labels by first character, longest first: one dictionary probe per text position is far
        # cheaper than one alternation of a few hundred names.
        self._by_first: dict[str, list[str]] = {}
        for label in labels:
            self._by_first.setdefault(label[:2], []).append(label)
        textnorm.add_words([label for label in labels if not label.isascii()])

    def find(self, text: str) -> list[PlaceHit]:
        """Every non-overlapping place mention, in text order, longest name first."""
        low = text.lower()
        n = len(low)
        # Only labels whose first two characters occur in the text can match: a set intersection
        # (in C) finds them, then str.find locates each; no per-character loop in Python.
        pairs = set(map(operator.add, low, low[1:]))  # the character pairs, built in C
        found: list[tuple[int, int, str]] = []
        for key in self._by_first.keys() & pairs:
            for label in self._by_first[key]:
                i = low.find(label)
                while i >= 0:
                    end = i + len(label)
                    # English names must not match inside longer words ("Futian" in "Futianxyz").
                    if not ((label[0].isascii() and i > 0 and _is_latin(low[i - 1]))
                            or (label[-1].isascii() and end < n and _is_latin(low[end]))):
                        found.append((i, -len(label), label))
                    i = low.find(label, i + 1)
        found.sort()
        hits: list[PlaceHit] = []
        pos = 0
        for start, neg_len, label in found:
            # leftmost first, longest first at one position, never overlapping an earlier hit
            if start >= pos:
                hits.append(PlaceHit(self._by_key[label], start, start - neg_len))
                pos = start - neg_len
        return hits

    def get(self, name: str) -> Place | None:
        return self._by_key.get(name.lower())

    def by_name_prefix(self, name: str) -> Place | None:
        """A known place whose name starts like ``name`` (its first two characters, or its first English
        word): the best guess of where an unknown 益田村 or "Tairan 9th Road" lies. None when nothing does."""
        low = name.lower().strip()
        if not low:
            return None
        key = low.split()[0] if low[0].isascii() else low[:2]
        if len(key) < 2:
            return None
        return self._by_prefix.get(key)

    @property
    def _by_prefix(self) -> dict[str, Place]:
        cached: dict[str, Place] | None = self.__dict__.get("_prefix_cache")
        if cached is None:
            cached = {}
            # precise kinds first, so a prefix shared by a road and a district points at the road
            rank = {"building": 0, "landmark": 1, "station": 1, "estate": 1, "port": 1, "park": 2, "village": 2,
                    "road": 3, "area": 4, "district": 8, "city": 9}
            for place in sorted(self.places, key=lambda p: rank.get(p.kind, 5)):
                for label in (place.name, *place.aliases):
                    low = label.lower()
                    key = low.split()[0] if low[0].isascii() else low[:2]
                    if len(key) >= 2 and place.kind not in ("district", "city"):
                        cached.setdefault(key, place)
            self.__dict__["_prefix_cache"] = cached
        return cached

    def district(self) -> Place | None:
        """The widest place of kind ``district`` (the fallback when an address cannot be placed better)."""
        return next((p for p in self.places if p.kind == "district"), None)


def load_gazetteer(path: Path) -> Gazetteer:
    """Read a gazetteer YAML file; errors name the entry and the problem."""
    from analytics.rules import RulesError

    try:
        doc: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RulesError(f"cannot read gazetteer {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise RulesError(f"gazetteer {path} is not valid YAML: {exc}") from None
    raw = doc.get("places") if isinstance(doc, dict) else None
    if not isinstance(raw, list):
        raise RulesError(f"gazetteer {path}: expected 'places:' with a list of places")
    places = []
    for i, item in enumerate(raw):
        where = f"gazetteer {path}: places[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise RulesError(f"{where}: each place needs a name")
        try:
            lat, lon = float(item["lat"]), float(item["lon"])
        except (KeyError, TypeError, ValueError):
            raise RulesError(f"{where} ({item['name']}): lat and lon must be numbers") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise RulesError(f"{where} ({item['name']}): lat must be within -90..90 and lon within -180..180")
        aliases = item.get("aliases") or []
        if not isinstance(aliases, list):
            raise RulesError(f"{where} ({item['name']}): aliases must be a list")
        places.append(Place(item["name"], str(item.get("kind", "place")), lat, lon,
                            tuple(str(a) for a in aliases)))
    return Gazetteer(places)
