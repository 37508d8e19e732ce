"""Deadlines of the case-file process: how long a file may stay with each holder (a YAML data file).

``cases/data/deadlines.yaml`` holds the defaults; a district points the setting at its own copy.
A broken table stops start-up with a message naming the key, never falls back quietly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cases import fields
from cases.errors import InvalidInput
from cases.holders import HOLDER_KINDS

DEFAULT_TABLE = Path(__file__).with_name("data") / "deadlines.yaml"
_KEYS = ("holders", "correction", "pending_handover")


@dataclass(frozen=True)
class CaseDeadlines:
    holders: Mapping[str, dt.timedelta]
    correction: dt.timedelta
    pending_handover: dt.timedelta

    def for_holding(self, holder_kind: str, awaiting_correction: bool) -> dt.timedelta:
        """The allowance for the file's current stay: the correction time while it awaits correction."""
        return self.correction if awaiting_correction else self.holders[holder_kind]


def parse_deadlines(doc: Any, source: str = "deadline table") -> CaseDeadlines:
    try:
        if not isinstance(doc, Mapping):
            raise InvalidInput("must be a mapping with " + ", ".join(_KEYS), field="")
        fields.reject_unknown(doc, _KEYS, "the table")
        holders = fields.duration_table(doc, "holders", HOLDER_KINDS, "holder")
        for key in ("correction", "pending_handover"):
            if key not in doc:
                raise InvalidInput(f"{key} is required: a duration such as 3d", field=key)
        return CaseDeadlines(
            holders=holders,
            correction=fields.duration(doc["correction"], "correction"),
            pending_handover=fields.duration(doc["pending_handover"], "pending_handover"))
    except InvalidInput as exc:
        raise ValueError(f"{source}: {exc.message}") from None


def load_deadlines(path: str | Path | None = None) -> CaseDeadlines:
    """Read the table (the bundled one when ``path`` is empty); a broken file raises ValueError with the reason."""
    doc, source = fields.read_table(path, DEFAULT_TABLE, "case deadline table")
    return parse_deadlines(doc, source)
