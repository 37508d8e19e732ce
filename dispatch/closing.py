"""What ending an incident records, and the dispatcher's final level: pure decisions, no I/O.

* The outcome (``cases.outcomes``): closing requires an ``outcome_code`` from the outcome table and a
  ``note``; cancelling or merging may record one; any other status change refuses them, so a client
  never believes it recorded an outcome that was not kept.
* The final level: the level a dispatcher settled on. An override sets it; a confirmation, the first
  dispatch by a dispatcher, and closing record the incident's level when none is recorded yet. From then
  on it moves with the incident's level (a later override, or re-scoring while no override is in force),
  so once recorded it is always the level the incident is handled at, and the scorer's level
  (``machine_level``) stands beside it for the accountability report.
* Who may write field notes: the units an incident was given to (an order offered, acknowledged or
  completed); a unit whose order expired or was withdrawn has left the job.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from cases import errors as case_errors
from cases.outcomes import Outcome, OutcomeTable, closing_from_body
from dispatch.errors import Conflict, InvalidInput
from dispatch.model import ENDED_INCIDENT_STATES

# Order states that make a unit one of the incident's own: it holds or worked the job.
ASSIGNED_ORDER_STATES = ("offered", "acknowledged", "completed")
# Field-note photos: the content types accepted and the extension each is stored with. No SVG: it can
# carry script, and photos are served back to the console.
PHOTO_TYPES: Mapping[str, str] = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp",
                                  "image/heic": "heic", "image/heif": "heif", "image/gif": "gif"}
MAX_NOTE_CHARS = 4000


def outcome_for(status: str, outcome_code: Any, note: Any, table: OutcomeTable) -> tuple[Outcome, str] | None:
    """The outcome a change to ``status`` records: required to close, optional when the incident is
    cancelled or merged, refused for any other status. An unknown or retired code is a 400 that lists the
    accepted ones."""
    given = outcome_code is not None or note is not None
    if status not in ENDED_INCIDENT_STATES:
        if given:
            raise InvalidInput(f"outcome_code and note are recorded when an incident ends (closed, cancelled or "
                               f"merged), not with status {status!r}; leave them out",
                               field="outcome_code" if outcome_code is not None else "note")
        return None
    if status == "closed" and outcome_code is None:
        codes = table.active_codes()
        raise InvalidInput("closing an incident records its outcome: send outcome_code (one of "
                           f"{', '.join(codes)}) and a note saying what was found and done",
                           field="outcome_code", accepted=codes)
    if not given:
        return None
    try:
        return closing_from_body({"outcome_code": outcome_code, "note": note}, table)
    except case_errors.InvalidInput as exc:  # the same 400, in dispatch's error tree
        raise InvalidInput(exc.message, **exc.details) from None


def outcome_columns(found: tuple[Outcome, str] | None, status: str, actor: str) -> dict[str, Any]:
    """The incident columns an ending writes: who ended it and, when one was given, the outcome."""
    if status not in ENDED_INCIDENT_STATES:
        return {}
    values: dict[str, Any] = {"closed_by": actor}
    if found is not None:
        values.update(outcome_code=found[0].code, outcome_note=found[1])
    return values


def settle_level(row: Mapping[str, Any], actor: str, now: dt.datetime) -> dict[str, Any]:
    """Record the incident's current level as the dispatcher's final level, unless one is recorded already
    (or the incident has no level yet): the first dispatch by a dispatcher, and closing."""
    if row.get("final_level") is not None or row.get("level") is None:
        return {}
    return {"final_level": row["level"], "final_level_by": actor, "final_level_at": now}


def confirm_level(row: Mapping[str, Any], actor: str, now: dt.datetime) -> dict[str, Any]:
    """A dispatcher confirms the level shown: it becomes the final level (409 while the incident has none)."""
    if row.get("level") is None:
        raise Conflict(f"incident {row['number']} has no level yet to confirm; set its priority instead",
                       current=None)
    if row["status"] in ENDED_INCIDENT_STATES:
        raise Conflict(f"incident {row['number']} is {row['status']}; its level can no longer be confirmed",
                       current=row["status"])
    return {"final_level": row["level"], "final_level_by": actor, "final_level_at": now}


def level_after_rescore(row: Mapping[str, Any], scored_level: str) -> dict[str, Any]:
    """Re-scoring: the scorer's level is kept as ``machine_level``; a final level recorded without an
    override follows the incident's level, which follows the scorer while no override is in force."""
    values: dict[str, Any] = {"machine_level": scored_level}
    if row.get("final_level") is not None and not row.get("priority_override"):
        values["final_level"] = scored_level
    return values


def check_note_text(text: Any) -> str:
    """A field note's text: what was seen or done, 1 to MAX_NOTE_CHARS characters."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(f"text is required: what was seen or done, at most {MAX_NOTE_CHARS} characters",
                           field="text")
    if len(text.strip()) > MAX_NOTE_CHARS:
        raise InvalidInput(f"text is {len(text.strip())} characters long; at most {MAX_NOTE_CHARS} are accepted",
                           field="text")
    return text.strip()


def photo_type(content_type: str | None) -> tuple[str, str]:
    """A photo's media type (parameters dropped) and the extension it is stored with; 400 naming the
    accepted types otherwise."""
    bare = (content_type or "").split(";", 1)[0].strip().lower()
    if bare not in PHOTO_TYPES:
        raise InvalidInput(f"a field photo must be sent with Content-Type one of {', '.join(PHOTO_TYPES)}, "
                           f"got {content_type or 'none'!r}", field="Content-Type", accepted=list(PHOTO_TYPES))
    return bare, PHOTO_TYPES[bare]
