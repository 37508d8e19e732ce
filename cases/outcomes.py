"""Outcome codes for closing an incident: a data file with zh/en labels and EIDO disposition codes.

The bundled table is ``cases/data/outcomes.yaml``; see its header for how ``eido`` values were chosen.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cases import fields
from cases.errors import InvalidInput

DEFAULT_TABLE = Path(__file__).with_name("data") / "outcomes.yaml"
GROUPS = ("enforcement", "resolved", "referred", "no_action", "cancelled")
CODE_RE = re.compile(r"^[a-z][a-z0-9_]{1,47}$")
# EIDO 021.1b CommonDispositionCode: "01".."45" are assigned (APCO ANS 1.111.2-2018); 46-100 are reserved.
EIDO_CODE_RE = re.compile(r"^(0[1-9]|[1-3][0-9]|4[0-5])$")
_ROW_KEYS = ("code", "zh", "en", "group", "eido", "eido_text", "retired")


@dataclass(frozen=True)
class Outcome:
    code: str
    zh: str
    en: str
    group: str
    eido: str | None = None
    eido_text: str | None = None
    retired: bool = False

    def label(self, lang: str) -> str:
        return self.zh if lang.lower().startswith("zh") else self.en

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class OutcomeTable:
    outcomes: Mapping[str, Outcome]

    def __iter__(self) -> Iterator[Outcome]:
        return iter(self.outcomes.values())

    def __contains__(self, code: object) -> bool:
        return code in self.outcomes

    def get(self, code: str) -> Outcome | None:
        return self.outcomes.get(code)

    def active_codes(self) -> list[str]:
        return [o.code for o in self if not o.retired]

    def check(self, value: Any, field: str = "outcome_code") -> Outcome:
        """The outcome for a close request; an unknown or retired code names the accepted ones."""
        outcome = self.outcomes.get(value) if isinstance(value, str) else None
        if outcome is None or outcome.retired:
            raise InvalidInput(f"{field} must be one of {', '.join(self.active_codes())}, got {value!r}",
                               field=field, accepted=self.active_codes())
        return outcome


def parse_outcomes(doc: Any, source: str = "outcome table") -> OutcomeTable:
    if not isinstance(doc, Mapping) or not isinstance(doc.get("outcomes"), list) or not doc["outcomes"]:
        raise ValueError(f"{source} needs 'outcomes': a non-empty list of {{code, zh, en, group, eido}}")
    out: dict[str, Outcome] = {}
    for i, row in enumerate(doc["outcomes"]):
        where = f"{source}: outcomes[{i}]"
        if not isinstance(row, Mapping):
            raise ValueError(f"{where} must be a mapping with code, zh, en, group and eido")
        unknown = sorted(set(row) - set(_ROW_KEYS))
        if unknown:
            raise ValueError(f"{where} has unknown key(s) {', '.join(unknown)}; accepted: {', '.join(_ROW_KEYS)}")
        code = row.get("code")
        if not isinstance(code, str) or not CODE_RE.match(code):
            raise ValueError(f"{where}: code must be 2-48 lower-case letters, digits or '_', got {code!r}")
        if code in out:
            raise ValueError(f"{where}: code {code!r} appears twice")
        for lang in ("zh", "en"):
            if not isinstance(row.get(lang), str) or not row[lang].strip():
                raise ValueError(f"{where} ({code}): {lang} label is required")
        if row.get("group") not in GROUPS:
            raise ValueError(f"{where} ({code}): group must be one of {', '.join(GROUPS)}, got {row.get('group')!r}")
        if "eido" not in row:
            raise ValueError(f"{where} ({code}): eido is required: a CommonDispositionCode such as \"03\", or null "
                             "when the registry has no code with this meaning")
        eido, eido_text = row["eido"], row.get("eido_text")
        if eido is not None and (not isinstance(eido, str) or not EIDO_CODE_RE.match(eido)):
            raise ValueError(f"{where} ({code}): eido must be a quoted two-digit CommonDispositionCode from \"01\" to "
                             f"\"45\" (write \"03\", not 3), or null; got {eido!r}")
        if (eido is None) != (eido_text is None):
            raise ValueError(f"{where} ({code}): eido_text (the registry row's description) goes with eido, and "
                             "only with it")
        retired = row.get("retired", False)
        if not isinstance(retired, bool):
            raise ValueError(f"{where} ({code}): retired must be true or false")
        out[code] = Outcome(code, row["zh"].strip(), row["en"].strip(), row["group"], eido, eido_text, retired)
    return OutcomeTable(out)


def load_outcomes(path: str | Path | None = None) -> OutcomeTable:
    """Read the table (the bundled one when ``path`` is empty); a broken file raises ValueError naming the row."""
    doc, source = fields.read_table(path, DEFAULT_TABLE, "outcome table")
    return parse_outcomes(doc, source)


MAX_NOTE = 4000


def closing_from_body(body: Any, table: OutcomeTable) -> tuple[Outcome, str]:
    """Check the outcome part of a close-incident request: ``outcome_code`` and a free-text ``note``."""
    if not isinstance(body, Mapping):
        raise InvalidInput('the body must be a JSON object {"outcome_code": ..., "note": ...}', field="body")
    outcome = table.check(body.get("outcome_code"))
    note = body.get("note")
    if not isinstance(note, str) or not note.strip():
        raise InvalidInput(f"note is required: what was found and done, at most {MAX_NOTE} characters", field="note")
    if len(note.strip()) > MAX_NOTE:
        raise InvalidInput(f"note is {len(note.strip())} characters long; at most {MAX_NOTE} are accepted",
                           field="note")
    return outcome, note.strip()
