"""The evidence bag's store: registration, the file or its loss statement, and every custody event.

Each change is one transaction with its custody entry in the audit log (:mod:`cases.journal`). A file
is streamed to ``<evidence dir>/<id[:2]>/<id>`` by :func:`cases.upload.receive` *before* the
transaction, so no database lock is held while bytes arrive; only a file received whole is then
registered, and if registering it fails the file is taken back out, so a kept file without its row
(or a row without its file) cannot be left behind. References to records of other packages (the
incident, a radio transmission, an interview record) are checked through ``exists``, which the web
layer binds to those packages' services.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from cases import access, custody, evidence, fields, upload
from cases.errors import Conflict, IllegalTransition, InvalidInput, NotFound
from cases.holders import Actor
from cases.journal import Journal
from cases.rows import case_from_row, evidence_from_row, evidence_values
from cases.tables import case_files, case_versions, handovers
from cases.tables import evidence as evidence_table
from cases.verify import FileCheck
from common.ids import new_id

# (kind, id) -> whether that record exists; kinds: incident, radio_transmission, interview_record, transcript.
Resolver = Callable[[str, str], Awaitable[bool]]
# What an export was: the kept file handed on, copied to physical media, printed, or the record alone.
EXPORT_FORMATS = ("file", "media", "print", "record")
_EXPORT_KEYS = ("format", "recipient", "note")
_HANDOVER_KEYS = ("from", "to", "note")
_REFERENCE_NAMES = {"radio_transmission": "radio transmission", "interview_record": "interview record",
                    "incident": "incident", "transcript": "transcript"}


def evidence_json(ev: evidence.Evidence) -> dict[str, Any]:
    """The item as the API shows it; ``registration_intact`` recomputes the sign-off digest from the row."""
    out = ev.to_dict()
    out["registration_intact"] = evidence.registration_digest(ev) == ev.sign_off.digest
    return out


class EvidenceStore:
    def __init__(self, journal: Journal, directory: Path, *, max_bytes: int, exists: Resolver,
                 executor: Executor | None = None) -> None:
        self.journal = journal
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.exists = exists
        self.executor = executor

    # ---- reading ----------------------------------------------------------------------------------------
    async def _item(self, conn: AsyncConnection, evidence_id: str, *, lock: bool = False) -> evidence.Evidence:
        row = await self.journal.one(conn, evidence_table, evidence_table.c.id == evidence_id, lock=lock,
                                     noun="evidence item", ident=evidence_id)
        return evidence_from_row(row)

    async def _scope(self, conn: AsyncConnection, actor: Actor) -> access.OfficerScope:
        """The case files an officer is on (responsible, holding, or asked to take) and what they reach."""
        waiting = sa.select(handovers.c.case_id).where(handovers.c.state == "proposed",
                                                       handovers.c.to_holder == f"officer:{actor.id}")
        files = (await conn.execute(
            sa.select(case_files.c.id, case_files.c.incident_id, case_versions.c["items"].label("listed"))
            .join(case_versions, sa.and_(case_versions.c.case_id == case_files.c.id,
                                         case_versions.c.version == case_files.c.version))
            .where(sa.or_(case_files.c.responsible_officer == actor.id,
                          sa.and_(case_files.c.holder_kind == "officer", case_files.c.holder_id == actor.id),
                          case_files.c.id.in_(waiting))))).all()
        return access.OfficerScope(
            case_ids=frozenset(f.id for f in files),
            incident_ids=frozenset(f.incident_id for f in files if f.incident_id),
            evidence_ids=frozenset(i["ref_id"] for f in files for i in (f.listed or ()) if i["kind"] == "evidence"))

    async def _readable(self, conn: AsyncConnection, evidence_id: str, actor: Actor, *,
                        lock: bool = False) -> evidence.Evidence:
        ev = await self._item(conn, evidence_id, lock=lock)
        if not access.sees_all(actor) and ev.submitted_by != actor.id:
            access.check_read_evidence(actor, ev, await self._scope(conn, actor))
        return ev

    async def list_items(self, actor: Actor, *, incident_id: str | None = None, case_id: str | None = None,
                         state: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Items, newest first; an officer gets the ones they submitted and those their case files reach.
        Listing is not a custody event: it shows the registrations, not the footage."""
        q = sa.select(evidence_table)
        if incident_id:
            q = q.where(evidence_table.c.incident_id == incident_id)
        if case_id:
            q = q.where(evidence_table.c.case_id == case_id)
        if state:
            q = q.where(evidence_table.c.state == state)
        async with self.journal.read() as conn:
            if not access.sees_all(actor):
                scope = await self._scope(conn, actor)
                q = q.where(sa.or_(evidence_table.c.submitted_by == actor.id,
                                   evidence_table.c.id.in_(sorted(scope.evidence_ids)),
                                   evidence_table.c.case_id.in_(sorted(scope.case_ids)),
                                   evidence_table.c.incident_id.in_(sorted(scope.incident_ids))))
            q = q.order_by(evidence_table.c.submitted_at.desc(), evidence_table.c.id).limit(limit)
            rows = (await conn.execute(q)).all()
        return [evidence_json(evidence_from_row(r._mapping)) for r in rows]

    async def of_case(self, conn: AsyncConnection, case_id: str, incident_id: str | None) -> list[dict[str, Any]]:
        """Every item registered for a case file or its incident (for the file's page)."""
        cond = evidence_table.c.case_id == case_id
        if incident_id:
            cond = sa.or_(cond, evidence_table.c.incident_id == incident_id)
        rows = (await conn.execute(sa.select(evidence_table).where(cond)
                                   .order_by(evidence_table.c.submitted_at, evidence_table.c.id))).all()
        return [evidence_json(evidence_from_row(r._mapping)) for r in rows]

    async def existing_ids(self, conn: AsyncConnection, ids: Iterable[str]) -> set[str]:
        wanted = sorted(set(ids))
        if not wanted:
            return set()
        rows = await conn.execute(sa.select(evidence_table.c.id).where(evidence_table.c.id.in_(wanted)))
        return {r.id for r in rows}

    # ---- registration -------------------------------------------------------------------------------------
    async def _check_reference(self, kind: str, ref: str | None, field: str) -> None:
        if ref is not None and not await self.exists(kind, ref):
            raise NotFound(f"{field}: no {_REFERENCE_NAMES[kind]} with id {ref!r}", field=field)

    async def register(self, body: Any, *, actor: Actor, now: dt.datetime | None = None) -> dict[str, Any]:
        """Check and store a registration (``registered``, and ``loss_recorded`` when it comes with one)."""
        now = now or dt.datetime.now(dt.UTC)
        ev = evidence.registration_from_body(body, evidence_id=new_id(), submitted_by=actor.id, now=now)
        await self._check_reference("incident", ev.incident_id, "incident_id")
        if ev.kind in evidence.REFERENCE_KINDS:
            await self._check_reference(ev.kind, ev.reference_id, "reference_id")
        async with self.journal.tx() as conn:
            if ev.case_id:
                row = await self.journal.one(conn, case_files, case_files.c.id == ev.case_id, lock=True,
                                             noun="case file", ident=ev.case_id, field="case_id")
                case = case_from_row(row)
                access.check_attach_to_case(actor, case)
                if case.status != "open":
                    raise Conflict(f"case file {case.number} is {case.status}: reopen it before adding evidence",
                                   status=case.status)
            await conn.execute(evidence_table.insert().values(**evidence_values(ev), updated_at=now))
            await self._custody(conn, ev.id, "registered", actor, now, digest=ev.sign_off.digest, kind=ev.kind,
                                title=ev.title, incident_id=ev.incident_id, case_id=ev.case_id,
                                reference_id=ev.reference_id)
            if ev.loss is not None:
                await self._custody(conn, ev.id, "loss_recorded", actor, now, condition=ev.loss.condition,
                                    responsible=ev.loss.responsible)
        return evidence_json(ev)

    async def _custody(self, conn: AsyncConnection, evidence_id: str, event: str, actor: Actor, at: dt.datetime,
                       **details: Any) -> tuple[int, str]:
        entry = custody.custody_event(evidence_id, event, actor=actor.id, at=at, role=actor.role, **details)
        return await self.journal.audit(conn, **entry.audit_kwargs())

    # ---- the file ------------------------------------------------------------------------------------------
    def path_of(self, ev_id: str) -> tuple[Path, str]:
        """(directory, path relative to the evidence directory) of an item's file."""
        return self.directory / ev_id[:2], f"{ev_id[:2]}/{ev_id}"

    async def receive_file(self, evidence_id: str, chunks: AsyncIterable[bytes], *, actor: Actor,
                           media_type: str | None, filename: str | None, content_length: str | None,
                           declared_sha256: str | None = None) -> dict[str, Any]:
        """Stream the item's file to disk and register it: ``awaiting_file`` → ``kept`` (``file_received``).

        Everything that can be refused is refused before a byte is read: an unknown item, another
        officer's item, an item that is not waiting for a file, a content type that does not fit the
        kind, a declared size over the limit (413), a declared hash other than the registered one.
        """
        async with self.journal.read() as conn:
            ev = await self._readable(conn, evidence_id, actor)
        access.check_complete_evidence(actor, ev)
        if ev.state != "awaiting_file":
            raise IllegalTransition("evidence", ev.state, "kept", evidence.EVIDENCE_TRANSITIONS[ev.state])
        media = evidence.check_media_type(ev.kind, media_type)
        size = upload.check_declared_size(content_length, self.max_bytes)
        declared = None if declared_sha256 is None else fields.sha256(declared_sha256, "X-Content-SHA256")
        if declared and ev.expected_sha256 and declared != ev.expected_sha256:
            raise Conflict(f"the file declared has sha256 {declared}, but the registration says the file pulled had "
                           f"{ev.expected_sha256}; upload the file that was pulled",
                           expected=ev.expected_sha256, declared=declared)
        fields.text(filename, "filename", 255, required=False)
        directory, rel = self.path_of(ev.id)
        stored = await upload.receive(chunks, directory, ev.id, max_bytes=self.max_bytes,
                                      expected_sha256=ev.expected_sha256 or declared, expected_size=size,
                                      executor=self.executor)
        try:
            now = dt.datetime.now(dt.UTC)
            async with self.journal.tx() as conn:
                current = await self._item(conn, ev.id, lock=True)
                kept = evidence.with_file(current, sha256=stored.sha256, size=stored.size, media_type=media,
                                          filename=filename, received_by=actor.id, at=now)
                await conn.execute(evidence_table.update().where(evidence_table.c.id == ev.id)
                                   .values(**evidence_values(kept, file_path=rel), updated_at=now))
                await self._custody(conn, ev.id, "file_received", actor, now, sha256=stored.sha256,
                                    size=stored.size, media_type=media, filename=kept.file.filename if kept.file
                                    else None)
        except BaseException:
            # Not registered: the file must not stay (the name is ours alone: upload links exclusively).
            with contextlib.suppress(OSError):
                os.unlink(stored.path)
            raise
        return evidence_json(kept)

    async def record_loss(self, evidence_id: str, body: Any, *, actor: Actor) -> dict[str, Any]:
        """The signed statement that the file was lost or damaged: ``awaiting_file`` → ``lost`` | ``damaged``."""
        now = dt.datetime.now(dt.UTC)
        async with self.journal.tx() as conn:
            ev = await self._readable(conn, evidence_id, actor, lock=True)
            access.check_complete_evidence(actor, ev)
            if ev.kind not in evidence.MEDIA_KINDS:
                raise InvalidInput(f"a {ev.kind} is attached by reference and has no file to lose", field="loss")
            done = evidence.with_loss(ev, body, recorded_by=actor.id, now=now)
            assert done.loss is not None
            await conn.execute(evidence_table.update().where(evidence_table.c.id == ev.id)
                               .values(**evidence_values(done), updated_at=now))
            await self._custody(conn, ev.id, "loss_recorded", actor, now, condition=done.loss.condition,
                                responsible=done.loss.responsible)
        return evidence_json(done)

    # ---- custody events on reading --------------------------------------------------------------------------
    async def view(self, evidence_id: str, *, actor: Actor) -> dict[str, Any]:
        """The item's record; opening it is a ``viewed`` custody event."""
        now = dt.datetime.now(dt.UTC)
        async with self.journal.tx() as conn:
            ev = await self._readable(conn, evidence_id, actor)
            await self._custody(conn, ev.id, "viewed", actor, now)
        return evidence_json(ev)

    async def open_download(self, evidence_id: str, *, actor: Actor) -> tuple[dict[str, Any], Path]:
        """The kept file's path, recorded first as a ``downloaded`` custody event (what left, by its hash)."""
        now = dt.datetime.now(dt.UTC)
        async with self.journal.tx() as conn:
            ev = await self._readable(conn, evidence_id, actor)
            if ev.file is None:
                raise Conflict(f"evidence {ev.id} has no kept file (it is {ev.state})", state=ev.state)
            path = self.directory / self.path_of(ev.id)[1]
            if not path.is_file():
                raise Conflict(f"the file of evidence {ev.id} is missing from the evidence store; run "
                               "`jingyun evidence verify` and report it", state=ev.state)
            await self._custody(conn, ev.id, "downloaded", actor, now, sha256=ev.file.sha256, size=ev.file.size)
        return evidence_json(ev), path

    async def export(self, evidence_id: str, body: Any, *, actor: Actor) -> dict[str, Any]:
        """Record an export (in what form, to whom) and return its manifest: the record, the hash of what
        was exported, the custody trail including this export."""
        body = fields.obj(body, "body")
        fields.reject_unknown(body, _EXPORT_KEYS)
        fmt = fields.choice(body.get("format"), "format", EXPORT_FORMATS)
        recipient = fields.required_text(body.get("recipient"), "recipient", 200)
        note = fields.text(body.get("note"), "note", 2000, required=False)
        now = dt.datetime.now(dt.UTC)
        async with self.journal.tx() as conn:
            ev = await self._readable(conn, evidence_id, actor)
            if fmt in ("file", "media") and ev.file is None:
                raise Conflict(f"evidence {ev.id} has no kept file to export as {fmt} (it is {ev.state}); export "
                               "the record instead", state=ev.state, field="format")
            seq, digest = await self._custody(conn, ev.id, "exported", actor, now, format=fmt, recipient=recipient,
                                              note=note, sha256=ev.file.sha256 if ev.file else None)
        return {"evidence": evidence_json(ev),
                "export": {"seq": seq, "hash": digest, "at": fields.iso(now), "by": actor.id, "format": fmt,
                           "recipient": recipient, "note": note},
                "custody": await self.trail(evidence_id, actor=actor, checked=True)}

    async def hand_over(self, evidence_id: str, body: Any, *, actor: Actor) -> dict[str, Any]:
        """A physical hand-over of the media (or a copy): from whom, to whom (``handed_over``)."""
        body = fields.obj(body, "body")
        fields.reject_unknown(body, _HANDOVER_KEYS)
        giver = fields.required_text(body.get("from"), "from", 200)
        taker = fields.required_text(body.get("to"), "to", 200)
        note = fields.text(body.get("note"), "note", 2000, required=False)
        now = dt.datetime.now(dt.UTC)
        async with self.journal.tx() as conn:
            ev = await self._readable(conn, evidence_id, actor)
            seq, _ = await self._custody(conn, ev.id, "handed_over", actor, now, note=note, **{"from": giver,
                                                                                               "to": taker})
        return {"evidence_id": ev.id, "seq": seq, "from": giver, "to": taker, "at": fields.iso(now)}

    async def handed_with_case(self, conn: AsyncConnection, ids: Iterable[str], *, actor: Actor, at: dt.datetime,
                               giver: str, taker: str, case_id: str, handover_id: str) -> None:
        """The items of a case file moved with it: one ``handed_over`` event each (inside the case's transaction)."""
        for ev_id in sorted(await self.existing_ids(conn, ids)):
            await self._custody(conn, ev_id, "handed_over", actor, at, case_id=case_id, handover_id=handover_id,
                                **{"from": giver, "to": taker})

    async def attached(self, conn: AsyncConnection, ids: Iterable[str], *, actor: Actor, at: dt.datetime,
                       case_id: str, version: int) -> None:
        """Items put in a case file (a new version lists them): one ``attached`` event each."""
        for ev_id in sorted(set(ids)):
            await self._custody(conn, ev_id, "attached", actor, at, case_id=case_id, version=version)

    async def trail(self, evidence_id: str, *, actor: Actor, checked: bool = False) -> list[dict[str, Any]]:
        """The item's custody events in order (reading the trail is not itself an event)."""
        if not checked:
            async with self.journal.read() as conn:
                await self._readable(conn, evidence_id, actor)
        return custody.trail(await self.journal.entries(custody.target_for(evidence_id)), evidence_id)

    # ---- `jingyun evidence verify` ---------------------------------------------------------------------------
    async def kept_files(self) -> list[dict[str, Any]]:
        """Every kept file as :func:`cases.verify.verify_files` reads it, oldest first."""
        q = (sa.select(evidence_table.c.id, evidence_table.c.file_path.label("path"),
                       evidence_table.c.file_sha256.label("sha256"), evidence_table.c.file_size.label("size"))
             .where(evidence_table.c.state == "kept").order_by(evidence_table.c.submitted_at, evidence_table.c.id))
        async with self.journal.read() as conn:
            return [dict(r._mapping) for r in await conn.execute(q)]

    async def record_verified(self, checks: Iterable[FileCheck], *, actor: Actor) -> int:
        """One ``verified`` custody event per check, in one transaction; returns how many."""
        now = dt.datetime.now(dt.UTC)
        n = 0
        async with self.journal.tx() as conn:
            for c in checks:
                extra = {} if c.ok else {"actual_sha256": c.actual_sha256, "actual_size": c.actual_size,
                                         "message": c.message}
                await self._custody(conn, c.id, "verified", actor, now, sha256=c.expected_sha256, **extra,
                                    status=c.status)
                n += 1
        return n
