"""The inspection data files: per-step deadlines and the self-check checklist.

Bundled defaults live in ``inspections/data/``; a broken file raises ValueError naming the file and
the key, so start-up stops with the reason instead of running with a guessed table.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cases import fields
from cases.errors import InvalidInput

DATA = Path(__file__).with_name("data")
# States that wait for someone (closed waits for no one and has no deadline).
WAITING_STATES = ("submitted", "returned", "grid_accepted", "escalated")
ITEM_ID_RE = re.compile(r"^[a-z][a-z0-9_]{1,47}$")


@dataclass(frozen=True)
class StepDeadlines:
    steps: Mapping[str, dt.timedelta]
    self_check_every: dt.timedelta


@dataclass(frozen=True)
class ChecklistItem:
    id: str
    zh: str
    en: str
    retired: bool = False


def _read(path: str | Path | None, default: str, what: str) -> tuple[Any, str]:
    return fields.read_table(path, DATA / default, what)


def parse_deadlines(doc: Any, source: str = "inspection deadline table") -> StepDeadlines:
    try:
        if not isinstance(doc, Mapping):
            raise InvalidInput("must be a mapping with steps and self_check_every", field="")
        fields.reject_unknown(doc, ("steps", "self_check_every"), "the table")
        steps = fields.duration_table(doc, "steps", WAITING_STATES, "waiting step")
        if "self_check_every" not in doc:
            raise InvalidInput("self_check_every is required: a duration such as 30d", field="self_check_every")
        return StepDeadlines(steps,
                             fields.duration(doc["self_check_every"], "self_check_every"))
    except InvalidInput as exc:
        raise ValueError(f"{source}: {exc.message}") from None


def load_deadlines(path: str | Path | None = None) -> StepDeadlines:
    doc, source = _read(path, "deadlines.yaml", "inspection deadline table")
    return parse_deadlines(doc, source)


def parse_checklist(doc: Any, source: str = "checklist") -> tuple[ChecklistItem, ...]:
    if not isinstance(doc, Mapping) or not isinstance(doc.get("items"), list) or not doc["items"]:
        raise ValueError(f"{source} needs 'items': a non-empty list of {{id, zh, en}}")
    out: list[ChecklistItem] = []
    for i, row in enumerate(doc["items"]):
        where = f"{source}: items[{i}]"
        if not isinstance(row, Mapping) or set(row) - {"id", "zh", "en", "retired"}:
            raise ValueError(f"{where} must be a mapping with id, zh, en (and optionally retired)")
        ident = row.get("id")
        if not isinstance(ident, str) or not ITEM_ID_RE.match(ident):
            raise ValueError(f"{where}: id must be 2-48 lower-case letters, digits or '_', got {ident!r}")
        if any(item.id == ident for item in out):
            raise ValueError(f"{where}: id {ident!r} appears twice")
        for lang in ("zh", "en"):
            if not isinstance(row.get(lang), str) or not row[lang].strip():
                raise ValueError(f"{where} ({ident}): {lang} text is required")
        out.append(ChecklistItem(ident, row["zh"].strip(), row["en"].strip(), bool(row.get("retired", False))))
    return tuple(out)


def load_checklist(path: str | Path | None = None) -> tuple[ChecklistItem, ...]:
    doc, source = _read(path, "checklist.yaml", "checklist")
    return parse_checklist(doc, source)
