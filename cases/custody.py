"""Chain of custody: the events that happen to evidence after registration, as audit entries.

Every registration, receipt, view, download, hand-over, export and verification of an evidence item
is one entry in the hash-chained audit log (``dispatch.audit.append``). This module builds those
entries, checks that each carries what a court will ask for (a hand-over says from whom and to whom,
an export says in what form and to whom), and reads an item's trail back out of audit rows.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cases import fields
from cases.errors import InvalidInput

ACTION_PREFIX = "evidence."
# event -> the detail keys it must carry (beyond actor and time, which every entry has).
CUSTODY_EVENTS: Mapping[str, tuple[str, ...]] = {
    "registered": ("digest",),                 # the sign-off digest
    "file_received": ("sha256", "size"),
    "loss_recorded": ("condition", "responsible"),
    "viewed": (),
    "downloaded": ("sha256",),                 # what left the server
    "handed_over": ("from", "to"),             # physical media or a copy changed hands
    "exported": ("format", "recipient"),
    "attached": ("case_id",),                  # put in a case file
    "verified": ("status",),                   # a `jingyun evidence verify` result: ok | mismatch | ...
}


@dataclass(frozen=True)
class CustodyEvent:
    evidence_id: str
    event: str
    actor: str
    at: dt.datetime
    details: Mapping[str, Any]

    @property
    def action(self) -> str:
        return ACTION_PREFIX + self.event

    @property
    def target(self) -> str:
        return target_for(self.evidence_id)

    def audit_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``dispatch.audit.append(conn, **kwargs)``."""
        return {"actor": self.actor, "action": self.action, "target": self.target, "before": None,
                "after": dict(self.details), "at": self.at}


def target_for(evidence_id: str) -> str:
    return f"evidence:{evidence_id}"


def custody_event(evidence_id: str, event: str, *, actor: str, at: dt.datetime,
                  **details: Any) -> CustodyEvent:
    """Build a custody event, refusing one that lacks a detail its kind needs."""
    if event not in CUSTODY_EVENTS:
        raise InvalidInput(f"custody event must be one of {', '.join(CUSTODY_EVENTS)}, got {event!r}", field="event")
    missing = [k for k in CUSTODY_EVENTS[event] if details.get(k) in (None, "")]
    if missing:
        raise InvalidInput(f"a {event!r} custody event needs {', '.join(missing)}", field=missing[0])
    if not actor:
        raise InvalidInput("a custody event needs the actor who did it", field="actor")
    return CustodyEvent(evidence_id, event, actor, fields.as_utc(at), dict(details))


def trail(audit_rows: Iterable[Mapping[str, Any]], evidence_id: str) -> list[dict[str, Any]]:
    """The item's custody events from audit rows (as ``dispatch.audit.read_all`` returns them), in order."""
    target = target_for(evidence_id)
    out = []
    for row in sorted((r for r in audit_rows if r["target"] == target and str(r["action"]).startswith(ACTION_PREFIX)),
                      key=lambda r: int(r["seq"])):
        after = row["after"]
        out.append({"seq": int(row["seq"]), "at": row["at"], "actor": row["actor"],
                    "event": str(row["action"])[len(ACTION_PREFIX):],
                    "details": json.loads(after) if isinstance(after, str) else after})
    return out
