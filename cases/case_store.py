"""Case files (案卷) in SQL: open, correct (a new version), close/reopen, hand-over, and the monitor.

The rules are the pure cores' (:mod:`cases.casefile`, :mod:`cases.handover`, :mod:`cases.monitoring`);
this module reads the rows they need, locks them (``FOR UPDATE`` on PostgreSQL; on SQLite writers are
serialised), writes what they return and the audit entry that goes with it, in one transaction. No
row is ever deleted: a correction inserts a version, a hand-over is decided once, a closed file stays.
Items that name evidence are checked against the evidence table; interview records, radio
transmissions and transcripts through ``exists`` (bound by the web layer to their packages).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from cases import access, casefile, fields, handover, monitoring
from cases.casefile import CaseFile, CaseItem, CaseVersion
from cases.deadlines import CaseDeadlines
from cases.errors import Conflict, InvalidInput, NotFound
from cases.evidence_store import EvidenceStore, Resolver
from cases.handover import Handover
from cases.holders import LABELS, Actor
from cases.journal import Journal
from cases.rows import (
    case_from_row,
    case_values,
    handover_from_row,
    handover_values,
    monitoring_row,
    version_from_row,
    version_values,
)
from cases.tables import case_files, case_versions, handovers
from common.ids import new_id

DECISIONS = ("confirm", "refuse", "cancel")
_STATUS_KEYS = ("status", "reason")
_DECIDE_KEYS = {"confirm": ("note",), "refuse": ("reason",), "cancel": ("reason",)}
# Item kinds checked through the web layer's resolver (documents are outside Jingyun: their ids are
# the district's document numbers and cannot be checked here).
_RESOLVED_KINDS = ("interview_record", "radio_transmission", "transcript")


def target_for(case_id: str) -> str:
    return f"case:{case_id}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def case_json(case: CaseFile, title: str) -> dict[str, Any]:
    return {**case.to_dict(), "title": title,
            "holder_label": dict(LABELS[case.holder.kind])}


class CaseStore:
    def __init__(self, journal: Journal, evidence: EvidenceStore, deadlines: CaseDeadlines, exists: Resolver) -> None:
        self.journal = journal
        self.evidence = evidence
        self.deadlines = deadlines
        self.exists = exists

    # ---- rows ---------------------------------------------------------------------------------------------
    async def _case(self, conn: AsyncConnection, case_id: str, *, lock: bool = False) -> tuple[CaseFile, str]:
        row = await self.journal.one(conn, case_files, case_files.c.id == case_id, lock=lock, noun="case file",
                                     ident=case_id)
        return case_from_row(row), str(row["title"])

    async def _current(self, conn: AsyncConnection, case: CaseFile) -> CaseVersion:
        row = (await conn.execute(sa.select(case_versions).where(case_versions.c.case_id == case.id,
                                                                 case_versions.c.version == case.version))).first()
        if row is None:  # the chain check names it too; a file is never shown without its content
            raise Conflict(f"version {case.version} of case file {case.number} is missing; run the versions check")
        return version_from_row(row._mapping)

    async def _pending(self, conn: AsyncConnection, case_id: str, *, lock: bool = False) -> Handover | None:
        q = sa.select(handovers).where(handovers.c.case_id == case_id, handovers.c.state == "proposed")
        if lock and not self.journal.sqlite:
            q = q.with_for_update()
        row = (await conn.execute(q.order_by(handovers.c.proposed_at.desc()).limit(1))).first()
        return handover_from_row(row._mapping) if row else None

    async def _readable(self, conn: AsyncConnection, case_id: str, actor: Actor, *,
                        lock: bool = False) -> tuple[CaseFile, str, Handover | None]:
        case, title = await self._case(conn, case_id, lock=lock)
        pending = await self._pending(conn, case_id, lock=lock)
        access.check_read_case(actor, case, [str(pending.to_holder)] if pending else [])
        return case, title, pending

    async def _check_items(self, conn: AsyncConnection, items: Sequence[CaseItem]) -> None:
        """Every item must name a record that exists (documents excepted); 404 names the first that does not."""
        evidence_ids = [i.ref_id for i in items if i.kind == "evidence"]
        found = await self.evidence.existing_ids(conn, evidence_ids)
        for n, item in enumerate(items):
            if item.kind == "evidence" and item.ref_id not in found:
                raise NotFound(f"items[{n}]: no evidence item with id {item.ref_id!r}", field=f"items[{n}].ref_id")
            if item.kind in _RESOLVED_KINDS and not await self.exists(item.kind, item.ref_id):
                raise NotFound(f"items[{n}]: no {item.kind.replace('_', ' ')} with id {item.ref_id!r}",
                               field=f"items[{n}].ref_id")

    async def _audit(self, conn: AsyncConnection, actor: Actor, action: str, case_id: str, before: Any, after: Any,
                     at: dt.datetime) -> None:
        await self.journal.audit(conn, actor=actor.id, action=action, target=target_for(case_id), before=before,
                                 after=after, at=at)

    # ---- open, correct, status ---------------------------------------------------------------------------
    async def open(self, body: Any, *, actor: Actor) -> dict[str, Any]:
        """A new file at version 1, held by its responsible officer (``case.opened``)."""
        now = _now()
        case, first = casefile.open_from_body(body, case_id=new_id(), created_by=actor.id, now=now)
        access.check_open(actor, case)
        if case.incident_id and not await self.exists("incident", case.incident_id):
            raise NotFound(f"incident_id: no incident with id {case.incident_id!r}", field="incident_id")
        try:
            async with self.journal.tx() as conn:
                await self._check_items(conn, first.content.items)
                taken = (await conn.execute(sa.select(case_files.c.id)
                                            .where(case_files.c.number == case.number))).first()
                if taken is not None:
                    raise Conflict(f"case number {case.number} is already used by case file {taken.id}",
                                   field="number", case_id=taken.id)
                await conn.execute(case_files.insert().values(**case_values(case, first.content.title), updated_at=now))
                await conn.execute(case_versions.insert().values(**version_values(first)))
                await self._audit(conn, actor, "case.opened", case.id, None,
                                  {"number": case.number, "incident_id": case.incident_id,
                                   "responsible_officer": case.responsible_officer, "holder": str(case.holder),
                                   "version": 1, "hash": first.hash}, now)
                await self.evidence.attached(conn, _evidence_ids(first.content.items), actor=actor, at=now,
                                             case_id=case.id, version=1)
        except IntegrityError:
            # Two files opened with one number at once (PostgreSQL): the unique index decided.
            raise Conflict(f"case number {case.number} is already used", field="number") from None
        return await self.get(case.id, actor=actor)

    async def correct(self, case_id: str, body: Any, *, actor: Actor) -> dict[str, Any]:
        """A correction: the next version, chained to the current one (``case.corrected``)."""
        now = _now()
        try:
            async with self.journal.tx() as conn:
                case, _title = await self._case(conn, case_id, lock=True)
                access.check_edit_case(actor, case, "correct")
                current = await self._current(conn, case)
                moved, version = casefile.correct(case, current, body, changed_by=actor.id, now=now)
                await self._check_items(conn, version.content.items)
                await conn.execute(case_versions.insert().values(**version_values(version)))
                await conn.execute(case_files.update().where(case_files.c.id == case.id)
                                   .values(version=moved.version, title=version.content.title, updated_at=now))
                await self._audit(conn, actor, "case.corrected", case.id, {"version": current.version},
                                  {"version": version.version, "reason": version.reason,
                                   "changes": dict(version.changes), "hash": version.hash}, now)
                added = [i["ref_id"] for i in version.changes.get("added", ()) if i["kind"] == "evidence"]
                await self.evidence.attached(conn, added, actor=actor, at=now, case_id=case.id,
                                             version=version.version)
        except IntegrityError:
            raise Conflict(f"case file {case_id} was corrected by someone else at the same moment; reload it and "
                           "correct the current version") from None
        return await self.get(case_id, actor=actor)

    async def set_status(self, case_id: str, body: Any, *, actor: Actor) -> dict[str, Any]:
        """Close or reopen (``case.status``); reopening needs a reason."""
        body = fields.obj(body, "body")
        fields.reject_unknown(body, _STATUS_KEYS)
        requested = body.get("status")
        if not isinstance(requested, str) or requested not in casefile.CASE_STATES:
            raise InvalidInput(f"status must be one of {', '.join(casefile.CASE_STATES)}, got {requested!r}",
                               field="status", accepted=list(casefile.CASE_STATES))
        reason = fields.text(body.get("reason"), "reason", 2000, required=False)
        now = _now()
        async with self.journal.tx() as conn:
            case, _title = await self._case(conn, case_id, lock=True)
            access.check_edit_case(actor, case, "close or reopen")
            changed = casefile.set_status(case, requested, reason=reason, actor=actor.id, now=now)
            await conn.execute(case_files.update().where(case_files.c.id == case.id)
                               .values(status=changed.status, status_history=[dict(h) for h in changed.status_history],
                                       updated_at=now))
            await self._audit(conn, actor, "case.status", case.id, {"status": case.status},
                              {"status": changed.status, "reason": reason}, now)
        return await self.get(case_id, actor=actor)

    # ---- hand-over ------------------------------------------------------------------------------------------
    async def propose(self, case_id: str, body: Any, *, actor: Actor) -> dict[str, Any]:
        """The holder proposes; the file stays with them until the receiver confirms (``handover.proposed``)."""
        now = _now()
        async with self.journal.tx() as conn:
            case, _title = await self._case(conn, case_id, lock=True)
            pending = await self._pending(conn, case_id, lock=True)
            h = handover.propose(case, body, handover_id=new_id(), actor=actor, now=now, pending=pending)
            await conn.execute(handovers.insert().values(**handover_values(h)))
            await self._audit(conn, actor, "handover.proposed", case.id, None, h.to_dict(), now)
        return self._handover_json(h)

    async def decide(self, case_id: str, handover_id: str, decision: str, body: Any, *,
                     actor: Actor) -> dict[str, Any]:
        """Confirm (the file moves, and its evidence with it), refuse (a reason is required) or cancel."""
        if decision not in DECISIONS:
            raise InvalidInput(f"decision must be one of {', '.join(DECISIONS)}", field="decision")
        body = fields.obj(body or {}, "body")
        fields.reject_unknown(body, _DECIDE_KEYS[decision])
        now = _now()
        async with self.journal.tx() as conn:
            case, _title = await self._case(conn, case_id, lock=True)
            row = await self.journal.one(conn, handovers, sa.and_(handovers.c.id == handover_id,
                                                                  handovers.c.case_id == case_id),
                                         lock=True, noun=f"hand-over of case file {case_id}", ident=handover_id)
            h = handover_from_row(row)
            moved: CaseFile | None = None
            if decision == "confirm":
                decided, moved = handover.confirm(h, case, actor=actor, now=now, note=body.get("note"))
            elif decision == "refuse":
                decided = handover.refuse(h, actor=actor, now=now, reason=body.get("reason"))
            else:
                decided = handover.cancel(h, actor=actor, now=now, reason=body.get("reason"))
            await conn.execute(handovers.update().where(handovers.c.id == h.id)
                               .values(state=decided.state, decided_by=decided.decided_by,
                                       decided_at=decided.decided_at, decision_note=decided.decision_note))
            if moved is not None:
                await conn.execute(case_files.update().where(case_files.c.id == case.id).values(
                    holder_kind=moved.holder.kind, holder_id=moved.holder.id, held_since=moved.held_since,
                    awaiting_correction=moved.awaiting_correction, returns=moved.returns,
                    responsible_officer=moved.responsible_officer, updated_at=now))
            await self._audit(conn, actor, f"handover.{decided.state}", case.id, h.to_dict(), decided.to_dict(), now)
            if moved is not None:
                current = await self._current(conn, case)
                await self.evidence.handed_with_case(conn, _evidence_ids(current.content.items), actor=actor, at=now,
                                                     giver=str(h.from_holder), taker=str(h.to_holder),
                                                     case_id=case.id, handover_id=h.id)
        return self._handover_json(decided)

    def _handover_json(self, h: Handover) -> dict[str, Any]:
        out = h.to_dict()
        out["overdue"] = h.state == "proposed" and monitoring.handover_overdue(h.proposed_at, _now(), self.deadlines)
        return out

    # ---- reading -----------------------------------------------------------------------------------------
    async def get(self, case_id: str, *, actor: Actor) -> dict[str, Any]:
        """The file: header, where it is and since when, current content, hand-overs, its evidence."""
        now = _now()
        async with self.journal.read() as conn:
            case, title, _pending = await self._readable(conn, case_id, actor)
            current = await self._current(conn, case)
            hs = (await conn.execute(sa.select(handovers).where(handovers.c.case_id == case_id)
                                     .order_by(handovers.c.proposed_at, handovers.c.id))).all()
            items = await self.evidence.of_case(conn, case.id, case.incident_id)
        row = monitoring_row({**case.to_dict(), "title": title})
        pos = monitoring.position(row, now, self.deadlines)
        return {**case_json(case, title), "current": current.to_dict(),
                "position": pos.to_dict() if case.status == "open" else None,
                "handovers": [self._handover_json(handover_from_row(h._mapping)) for h in hs],
                "evidence": items}

    async def versions(self, case_id: str, *, actor: Actor) -> dict[str, Any]:
        """Every version, oldest first, with the result of re-walking their hash chain."""
        async with self.journal.read() as conn:
            await self._readable(conn, case_id, actor)
            rows = (await conn.execute(sa.select(case_versions).where(case_versions.c.case_id == case_id)
                                       .order_by(case_versions.c.version))).all()
        vs = [version_from_row(r._mapping) for r in rows]
        ok, message = casefile.verify_versions(vs)
        return {"case_id": case_id, "versions": [v.to_dict() for v in vs], "verify": {"ok": ok, "message": message}}

    async def list_files(self, actor: Actor, *, status: str | None = None, holder: str | None = None,
                   officer: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """Files, most recently changed first; an officer gets their own (see :mod:`cases.access`)."""
        q = sa.select(case_files)
        if status:
            q = q.where(case_files.c.status == status)
        if holder:
            kind, _, ident = holder.partition(":")
            q = q.where(case_files.c.holder_kind == kind, case_files.c.holder_id == (ident or kind))
        if officer:
            q = q.where(case_files.c.responsible_officer == officer)
        q = self._visible(q, actor)
        async with self.journal.read() as conn:
            rows = (await conn.execute(q.order_by(case_files.c.updated_at.desc(), case_files.c.id).limit(limit))).all()
        return [case_json(case_from_row(r._mapping), r.title) for r in rows]

    def _visible(self, q: Any, actor: Actor) -> Any:
        if access.sees_all(actor):
            return q
        waiting = sa.select(handovers.c.case_id).where(handovers.c.state == "proposed",
                                                       handovers.c.to_holder == f"officer:{actor.id}")
        return q.where(sa.or_(case_files.c.responsible_officer == actor.id,
                              sa.and_(case_files.c.holder_kind == "officer", case_files.c.holder_id == actor.id),
                              case_files.c.id.in_(waiting)))

    async def board(self, actor: Actor) -> dict[str, Any]:
        """Process monitoring (流程监控): every open file, where it is, since when, overdue first; the
        hand-overs waiting for their receiver; the deadlines in force."""
        now = _now()
        q = self._visible(sa.select(case_files).where(case_files.c.status == "open"), actor)
        async with self.journal.read() as conn:
            rows = {r.id: monitoring_row(r._mapping) for r in (await conn.execute(q)).all()}
            waiting = (await conn.execute(sa.select(handovers).where(handovers.c.state == "proposed",
                                                                     handovers.c.case_id.in_(list(rows)))
                                          .order_by(handovers.c.proposed_at))).all() if rows else []
        pending = {w.case_id: self._handover_json(handover_from_row(w._mapping)) for w in waiting}
        files = []
        for pos in monitoring.board(rows.values(), now, self.deadlines):
            r = rows[pos.case_id]
            files.append({**pos.to_dict(), "number": r["number"], "title": r["title"],
                          "responsible_officer": r["responsible_officer"], "returns": r["returns"],
                          "incident_id": r["incident_id"], "holder": f"{r['holder_kind']}:{r['holder_id']}",
                          "holder_label": dict(LABELS[r["holder_kind"]]), "pending": pending.get(pos.case_id)})
        return {"at": fields.iso(now), "files": files, "overdue": sum(1 for f in files if f["overdue"]),
                "deadlines": self.deadline_table()}

    def deadline_table(self) -> dict[str, Any]:
        d = self.deadlines
        return {"holders_s": {k: int(v.total_seconds()) for k, v in d.holders.items()},
                "correction_s": int(d.correction.total_seconds()),
                "pending_handover_s": int(d.pending_handover.total_seconds())}

    async def counts(self, *, since: dt.datetime | None = None, until: dt.datetime | None = None) -> dict[str, Any]:
        """Per responsible officer: open, overdue, returned and awaiting-correction files (执法考评 basis),
        over the files opened in [since, until) when given."""
        now = _now()
        q = sa.select(case_files)
        if since:
            q = q.where(case_files.c.created_at >= since)
        if until:
            q = q.where(case_files.c.created_at < until)
        async with self.journal.read() as conn:
            rows = [monitoring_row(r._mapping) for r in (await conn.execute(q)).all()]
        counts = monitoring.officer_counts(rows, now, self.deadlines)
        officers: list[dict[str, Any]] = [{"officer": k, **v.to_dict()} for k, v in counts.items()]
        officers.sort(key=lambda o: (-o["overdue"], -o["returned"], -o["open"], o["officer"]))
        return {"at": fields.iso(now), "from": fields.iso(since) if since else None,
                "to": fields.iso(until) if until else None, "files": len(rows), "officers": officers}


def _evidence_ids(items: Iterable[CaseItem]) -> list[str]:
    return [i.ref_id for i in items if i.kind == "evidence"]

