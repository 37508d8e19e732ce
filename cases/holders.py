"""Who may hold a case file, and who acts for each holder.

A holder is an officer (by their id) or an office: the case management centre (案件管理中心) or legal
review (法制审核). An officer acts only for themselves; anyone with an office's role acts for that office.
The role names are those the web layer's token matrix is expected to grow (``case_centre``,
``legal_review``); ``HOLDER_ROLES`` is the one place to change if they are named otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cases import fields
from cases.errors import InvalidInput

HOLDER_KINDS = ("officer", "case_centre", "legal_review")
OFFICE_KINDS = ("case_centre", "legal_review")
HOLDER_ROLES: Mapping[str, str] = {"officer": "officer", "case_centre": "case_centre", "legal_review": "legal_review"}
LABELS: Mapping[str, Mapping[str, str]] = {
    "officer": {"zh": "办案民警", "en": "officer"},
    "case_centre": {"zh": "案件管理中心", "en": "case management centre"},
    "legal_review": {"zh": "法制审核", "en": "legal review"},
}


@dataclass(frozen=True)
class Holder:
    kind: str
    id: str     # the officer's id; for an office, the office's id (its kind when there is one office)

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True)
class Actor:
    """The authenticated caller, reduced to what the rules need."""

    id: str
    role: str


def office(kind: str) -> Holder:
    return Holder(kind, kind)


def parse_holder(value: Any, field: str = "to") -> Holder:
    """``officer:<id>``, ``case_centre`` or ``legal_review`` (optionally ``case_centre:<office id>``)."""
    if isinstance(value, Mapping):
        kind, ident = value.get("kind"), value.get("id")
    elif isinstance(value, str):
        kind, _, ident = value.partition(":")
        ident = ident or None
    else:
        kind = ident = None
    if kind not in HOLDER_KINDS:
        raise InvalidInput(f"{field} must be officer:<officer id>, case_centre or legal_review, got {value!r}",
                           field=field)
    if kind == "officer" and not ident:
        raise InvalidInput(f"{field}: an officer holder needs the officer's id, as officer:<id>", field=field)
    checked = fields.identifier(ident or kind, field)
    assert checked is not None
    return Holder(str(kind), checked)


def acts_for(actor: Actor, holder: Holder) -> bool:
    """Whether ``actor`` may propose, confirm or refuse on behalf of ``holder``."""
    if actor.role != HOLDER_ROLES[holder.kind]:
        return False
    return holder.kind in OFFICE_KINDS or actor.id == holder.id
