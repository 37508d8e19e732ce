"""Spoken status updates: find the unit status a radio transmission states ("on scene", "10-8", "到达现场").

Pure text in, match out; the phrase table is data (``analytics/data/status_phrases.yaml``), one
list per language, so a district adds its own codes without touching code. A phrase under a
negation or a future ("not on scene yet", "will be 10-8", "还没到达现场") does not count, and when a
transmission states several statuses the last one wins. A match is evidence, not certainty (the
transcript may be wrong), so callers show it with its words and make the change undoable.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DEFAULT_TABLE = Path(__file__).with_name("data") / "status_phrases.yaml"
STATUSES = ("available", "en_route", "on_scene", "returning", "out_of_service")
_CJK = re.compile(r"[\u3400-\u9fff]")
_DASHES = "-‐‑‒–—―−"
_NEG_WINDOW_WORDS = 3
_NEG_WINDOW_CHARS = 3


class PhraseTableError(ValueError):
    """The phrase table file is malformed; names the entry and what is accepted."""


@dataclass(frozen=True)
class StatusMatch:
    """A status phrase found in a transcript; ``evidence == text[start:end]`` of the original text."""

    status: str
    phrase: str
    lang: str
    start: int
    end: int
    evidence: str

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "phrase": self.phrase, "lang": self.lang, "start": self.start,
                "end": self.end, "evidence": self.evidence}


@dataclass(frozen=True)
class _Phrase:
    status: str
    phrase: str
    lang: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class PhraseTable:
    phrases: tuple[_Phrase, ...]
    negations: dict[str, tuple[str, ...]]
    version: int


def normalize(text: str) -> str:
    """NFKC (full-width digits and letters to ASCII), lower case, every dash to '-'.

    Lengths are kept (one character in, one out) so match offsets index the original text.
    """
    out = []
    for ch in text:
        n = unicodedata.normalize("NFKC", ch)
        n = "-" if ch in _DASHES else n
        out.append(n.lower() if len(n) == 1 else ch.lower())
    return "".join(out)


def _compile(phrase: str, lang: str) -> re.Pattern[str]:
    parts = [re.escape(p) for p in re.split(r"[\s\-]+", normalize(phrase).strip()) if p]
    body = r"[\s\-]*".join(parts) if lang == "zh" else r"[\s\-]+".join(parts)
    if lang == "zh":
        return re.compile(body)
    # Whole words only: "10-8" must not match "10-80", "in service" not "out of service".
    return re.compile(r"(?<![\w\-])" + body + r"(?![\w]|-\d)")


def load_table(path: Path | None = None) -> PhraseTable:
    """Read and check a phrase table file."""
    path = path or DEFAULT_TABLE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PhraseTableError(f"cannot read status phrase table {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("phrases"), dict):
        raise PhraseTableError(f"{path}: expected a mapping with 'phrases: {{lang: {{status: [phrase, ...]}}}}'")
    phrases: list[_Phrase] = []
    for lang, table in data["phrases"].items():
        if lang not in ("en", "zh"):
            raise PhraseTableError(f"{path}: language {lang!r} is not supported; accepted: en, zh")
        if not isinstance(table, dict):
            raise PhraseTableError(f"{path}: phrases.{lang} must map statuses to lists of phrases")
        for status, items in table.items():
            if status not in STATUSES:
                raise PhraseTableError(f"{path}: phrases.{lang}.{status}: unknown status; accepted: "
                                       + ", ".join(STATUSES))
            if not isinstance(items, list) or not all(isinstance(i, str | int | float) for i in items):
                raise PhraseTableError(f"{path}: phrases.{lang}.{status} must be a list of phrases")
            for item in items:
                text = str(item).strip()
                if text:
                    phrases.append(_Phrase(status, text, lang, _compile(text, lang)))
    neg_raw = data.get("negations") or {}
    negations = {lang: tuple(normalize(str(n)) for n in (neg_raw.get(lang) or ())) for lang in ("en", "zh")}
    return PhraseTable(tuple(phrases), negations, int(data.get("version", 1)))


@functools.lru_cache(maxsize=1)
def default_table() -> PhraseTable:
    return load_table()


def _negated(norm: str, start: int, lang: str, table: PhraseTable) -> bool:
    if lang == "zh":
        window = norm[max(0, start - _NEG_WINDOW_CHARS):start]
        return any(n in window for n in table.negations["zh"])
    before = norm[:start]
    words = re.findall(r"[\w']+", before)[-_NEG_WINDOW_WORDS:]
    tail = " ".join(words)
    for neg in table.negations["en"]:
        if neg.startswith("'") or neg.startswith("n'"):
            if any(w.endswith(neg) for w in words):
                return True
        elif re.search(r"(?<!\w)" + re.escape(neg) + r"(?!\w)", tail):
            return True
    return False


def find_statuses(text: str, *, table: PhraseTable | None = None) -> list[StatusMatch]:
    """Every non-negated status phrase in ``text`` in spoken order (longest phrase at a position)."""
    table = table or default_table()
    norm = normalize(text)
    found: list[StatusMatch] = []
    for ph in table.phrases:
        for m in ph.pattern.finditer(norm):
            if _negated(norm, m.start(), ph.lang, table):
                continue
            found.append(StatusMatch(ph.status, ph.phrase, ph.lang, m.start(), m.end(), text[m.start():m.end()]))
    # Overlaps ("arrived on scene" and "on scene"): keep the longest.
    found.sort(key=lambda s: (s.start, -(s.end - s.start)))
    kept: list[StatusMatch] = []
    for s in found:
        if kept and s.start < kept[-1].end:
            continue
        kept.append(s)
    return kept


def match_status(text: str, *, table: PhraseTable | None = None) -> StatusMatch | None:
    """The status a transmission states: the last non-negated phrase, or None."""
    found = find_statuses(text, table=table)
    return found[-1] if found else None


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))
