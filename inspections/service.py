"""InspectionService: the building files, their photos and the inspection chain, stored in SQL.

Every change is one transaction that also appends its entry to the hash-chained audit log
(``dispatch.audit.append``), so a decision and its audit entry are committed together or not at
all; the new head of the chain is then recorded in Redis like dispatch's own (``record_audit_head``).
The rules themselves are the pure core's: ``inspections.buildings`` checks a record,
``inspections.chain`` decides every step, ``inspections.access`` who sees which building. A building
the caller may not see is answered exactly like one that does not exist.

Dispatch is injected (duck-typed: ``create_incident``, ``get_incident``, ``raise_alert``), so this
module does not import ``web``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cases import fields
from cases.errors import Conflict, Forbidden, InvalidInput, NotFound, RecordError
from cases.journal import Journal
from cases.upload import receive
from common.db import transaction
from common.ids import new_id
from common.times import as_utc
from dispatch.errors import NotFound as IncidentNotFound
from inspections import chain, records
from inspections.access import ADMIN, BUILDING_MANAGER, FIRE_OFFICE, GRID_WORKER, SEES_ALL, Viewer, visible
from inspections.buildings import building_from_body, corrected
from inspections.chain import OPEN_STATES, STATES, Inspection, SelfCheck
from inspections.overdue import overdue_alerts
from inspections.photos import Sniffer, check_declared, discard, relative_dir
from inspections.rules import ChecklistItem, load_checklist
from inspections.settings import InspectionSettings
from inspections.tables import alerts, building_versions, buildings, decisions, inspections, photos, self_checks, tasks

log = logging.getLogger("jingyun.inspections")

REGISTRARS = frozenset({ADMIN, FIRE_OFFICE})  # who registers and corrects building records
MAX_LIST = 500
PUBLISH_BATCH = 100


class PhotoDamaged(RecordError):
    """A kept photo no longer has the sha256 measured on receipt (HTTP 500: the store is damaged)."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "integrity"


def _all(result: sa.CursorResult[Any]) -> list[dict[str, Any]]:
    return [dict(r) for r in result.mappings()]


def _first(result: sa.CursorResult[Any]) -> dict[str, Any] | None:
    row = result.mappings().first()
    return None if row is None else dict(row)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class _Tx:
    """A write transaction of the shared case journal (cases.journal), and its audit entries."""

    def __init__(self, conn: AsyncConnection, journal: Journal) -> None:
        self.conn = conn
        self.journal = journal

    async def audit(self, **kwargs: Any) -> int:
        seq, _digest = await self.journal.audit(self.conn, **kwargs)
        return seq


class InspectionService:
    """One per process; built by ``web.api.inspections``."""

    def __init__(self, db: AsyncEngine, settings: InspectionSettings, *, data_dir: Path, dispatch: Any = None,
                 executor: Executor | None = None,
                 record_audit_head: Callable[[int, str], Awaitable[Any]] | None = None,
                 checklist: Sequence[ChecklistItem] | None = None) -> None:
        self.db = db
        self.settings = settings
        self.deadlines = settings.deadlines()
        self.checklist = tuple(checklist) if checklist is not None else load_checklist()
        self.data_dir = Path(data_dir)
        self.dispatch = dispatch
        self.executor = executor
        # Transactions and audit entries as the case stores write them: the new head of the chain
        # goes to ``record_audit_head`` (Redis) after each commit.
        self.journal = Journal(db, record_audit_head)
        self._lock_rows = db.dialect.name != "sqlite"  # SQLite serialises writers already

    # ---- helpers ---------------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _tx(self) -> AsyncIterator[_Tx]:
        async with self.journal.tx() as conn:
            yield _Tx(conn, self.journal)

    async def _blocking(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def _building(self, conn: AsyncConnection, building_id: str, viewer: Viewer, *,
                        lock: bool = False) -> Mapping[str, Any]:
        """The building row, or NotFound, also when it exists but ``viewer`` may not see it."""
        q = sa.select(buildings).where(buildings.c.id == building_id)
        if lock and self._lock_rows:
            q = q.with_for_update()
        row = _first(await conn.execute(q))
        if row is None or not visible(viewer, [row]):
            raise NotFound(f"no building with id {building_id!r}", building_id=building_id)
        return row

    async def _inspection_rows(self, conn: AsyncConnection, inspection_id: str, viewer: Viewer, *,
                               lock: bool = False) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
        q = sa.select(inspections).where(inspections.c.id == inspection_id)
        if lock and self._lock_rows:
            q = q.with_for_update()
        row = _first(await conn.execute(q))
        missing = NotFound(f"no inspection with id {inspection_id!r}", inspection_id=inspection_id)
        if row is None:
            raise missing
        try:
            building = await self._building(conn, row["building_id"], viewer)
        except NotFound:
            raise missing from None  # the same answer as for no inspection at all
        return row, building

    async def _load(self, conn: AsyncConnection,
                    rows: Sequence[Mapping[str, Any]]) -> list[tuple[Inspection, list[int]]]:
        """The inspections of ``rows`` with their self-checks, decisions and tasks (three queries)."""
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        checks = _all(await conn.execute(sa.select(self_checks).where(self_checks.c.inspection_id.in_(ids))))
        decs = _all(await conn.execute(sa.select(decisions).where(decisions.c.inspection_id.in_(ids))
                                       .order_by(decisions.c.seq)))
        task_rows = _all(await conn.execute(sa.select(tasks).where(tasks.c.inspection_id.in_(ids))))
        out = []
        for r in rows:
            mine = [d for d in decs if d["inspection_id"] == r["id"]]
            task = next((t for t in task_rows if t["inspection_id"] == r["id"]), None)
            insp = records.inspection_model(r, [c for c in checks if c["inspection_id"] == r["id"]], mine, task)
            out.append((insp, [d["audit_seq"] for d in mine]))
        return out

    def _json(self, insp: Inspection, seqs: Sequence[int], building: Mapping[str, Any], viewer: Viewer,
              now: dt.datetime) -> dict[str, Any]:
        out = records.inspection_json(insp, building=building, viewer=viewer, deadlines=self.deadlines, now=now,
                                      audit_seqs=seqs)
        out["open"] = insp.state in OPEN_STATES
        return out

    @staticmethod
    def _require(viewer: Viewer, roles: frozenset[str], what: str) -> None:
        if viewer.role not in roles:
            raise Forbidden(f"{what} is for {' or '.join(sorted(roles))}; a {viewer.role} cannot", roles=sorted(roles))

    async def _check_photos(self, conn: AsyncConnection, building_id: str, check: SelfCheck) -> None:
        """Each photo of a self-check is one the server received (and hashed) for this building."""
        shas = [p.sha256 for p in check.photos]
        rows = (await conn.execute(sa.select(photos.c.sha256, photos.c.size).where(
            photos.c.building_id == building_id, photos.c.sha256.in_(shas)))).all()
        have = {r.sha256: r.size for r in rows}
        for i, p in enumerate(check.photos):
            if p.sha256 not in have:
                raise InvalidInput(f"photos[{i}]: no photo with sha256 {p.sha256} was uploaded for building "
                                   f"{building_id}; upload it first (POST /api/buildings/{building_id}/photos) and "
                                   "send the sha256 and size the server answered", field=f"photos[{i}].sha256")
            if have[p.sha256] != p.size:
                raise InvalidInput(f"photos[{i}].size is {p.size}, but the photo with that sha256 has "
                                   f"{have[p.sha256]} bytes", field=f"photos[{i}].size")

    async def _record_decision(self, tx: _Tx, insp: Inspection) -> None:
        """The inspection's newest decision, with its entry in the audit log (same transaction)."""
        d = insp.decisions[-1]
        seq = await tx.audit(**d.audit_kwargs(insp.id))
        await tx.conn.execute(decisions.insert().values(**records.decision_values(insp.id, d, seq)))

    # ---- buildings ---------------------------------------------------------------------------------------
    async def _code_free(self, conn: AsyncConnection, code: str | None, building_id: str) -> None:
        if code is None:
            return
        other = (await conn.execute(sa.select(buildings.c.id).where(buildings.c.building_code == code,
                                                                    buildings.c.id != building_id))).scalar()
        if other is not None:
            raise Conflict(f"building code {code} is already registered, for building {other}", field="building_code",
                           building_id=other)

    async def create_building(self, body: Any, *, viewer: Viewer) -> dict[str, Any]:
        """Register a building (version 1); admin and fire office."""
        self._require(viewer, REGISTRARS, "registering a building")
        now = utcnow()
        b = building_from_body(body, building_id=new_id(), now=now)
        try:
            async with self._tx() as tx:
                await self._code_free(tx.conn, b.building_code, b.id)
                await tx.conn.execute(buildings.insert().values(
                    **records.building_values(b), created_at=now, created_by=viewer.subject, updated_at=now,
                    updated_by=viewer.subject))
                await tx.conn.execute(building_versions.insert().values(
                    building_id=b.id, version=1, record=records.record_of(b), changed=[], actor=viewer.subject,
                    at=now))
                await tx.audit(actor=viewer.subject, action="building.register", target=f"building:{b.id}",
                               before=None, after={"version": 1, **records.record_of(b)}, at=now)
        except sa.exc.IntegrityError:  # the same code registered at the same moment by another request
            raise Conflict(f"building code {b.building_code} is already registered", field="building_code") from None
        return await self.get_building(b.id, viewer)

    async def correct_building(self, building_id: str, body: Any, *, viewer: Viewer) -> dict[str, Any]:
        """A correction: the whole record again, kept as version n+1 (the earlier versions stay)."""
        self._require(viewer, REGISTRARS, "correcting a building record")
        now = utcnow()
        try:
            async with self._tx() as tx:
                row = await self._building(tx.conn, building_id, viewer, lock=True)
                old = records.building_model(row)
                new, changed = corrected(old, body)
                await self._code_free(tx.conn, new.building_code, building_id)
                values = records.building_values(new)
                del values["id"]
                done = await tx.conn.execute(buildings.update().where(
                    buildings.c.id == building_id, buildings.c.version == old.version).values(
                    **values, updated_at=now, updated_by=viewer.subject))
                if done.rowcount != 1:
                    raise Conflict(f"building {building_id} was corrected by someone else meanwhile; load it again")
                await tx.conn.execute(building_versions.insert().values(
                    building_id=building_id, version=new.version, record=records.record_of(new), changed=changed,
                    actor=viewer.subject, at=now))
                await tx.audit(actor=viewer.subject, action="building.correct", target=f"building:{building_id}",
                               before={"version": old.version, **{k: getattr(old, k) for k in changed}},
                               after={"version": new.version, "changed": changed,
                                      **{k: getattr(new, k) for k in changed}}, at=now)
        except sa.exc.IntegrityError:  # a version or code taken at the same moment by another request
            raise Conflict(f"building {building_id} was corrected by someone else meanwhile; load it again") from None
        return await self.get_building(building_id, viewer)

    async def get_building(self, building_id: str, viewer: Viewer) -> dict[str, Any]:
        async with self.db.connect() as conn:
            row = await self._building(conn, building_id, viewer)
        return records.building_json(row, self.deadlines, utcnow())

    async def list_buildings(self, viewer: Viewer, *, q: str | None = None, grid_id: str | None = None,
                             limit: int = 200) -> list[dict[str, Any]]:
        """The buildings ``viewer`` may see, each with its open inspection (if any)."""
        sel = sa.select(buildings)
        # The SQL only narrows what is read; inspections.access.visible decides.
        if viewer.role == BUILDING_MANAGER:
            sel = sel.where(buildings.c.manager_id == viewer.subject)
        elif viewer.role == GRID_WORKER:
            sel = sel.where(buildings.c.grid_id.in_(sorted(viewer.grids)))
        elif viewer.role not in SEES_ALL:
            return []
        if grid_id:
            sel = sel.where(buildings.c.grid_id == grid_id)
        if q:
            needle = q.lower()
            sel = sel.where(sa.or_(*(sa.func.lower(c).contains(needle, autoescape=True)
                                     for c in (buildings.c.address, buildings.c.name, buildings.c.building_code))))
        sel = sel.order_by(buildings.c.grid_id, buildings.c.address, buildings.c.id).limit(min(limit, MAX_LIST))
        now = utcnow()
        async with self.db.connect() as conn:
            rows = visible(viewer, _all(await conn.execute(sel)))
            ids = [r["id"] for r in rows]
            open_q = sa.select(inspections).where(inspections.c.open_building.in_(ids))
            open_rows = _all(await conn.execute(open_q)) if ids else []
            linked = await self._incidents_of(conn, [r["id"] for r in open_rows])
        by_building = {r["building_id"]: r for r in open_rows}
        out = []
        for row in rows:
            item = records.building_json(row, self.deadlines, now)
            o = by_building.get(row["id"])
            item["open_inspection"] = None if o is None else records.inspection_summary(
                o, row, linked.get(o["id"]), viewer=viewer, deadlines=self.deadlines, now=now)
            item["can_submit"] = records.can_submit(viewer, row, None if o is None else o["state"])
            out.append(item)
        return out

    @staticmethod
    async def _incidents_of(conn: AsyncConnection, inspection_ids: Sequence[str]) -> dict[str, str | None]:
        if not inspection_ids:
            return {}
        rows = (await conn.execute(sa.select(tasks.c.inspection_id, tasks.c.incident_id).where(
            tasks.c.inspection_id.in_(list(inspection_ids))))).all()
        return {r.inspection_id: r.incident_id for r in rows}

    async def building_file(self, building_id: str, viewer: Viewer) -> dict[str, Any]:
        """一栋楼一档案: the record, every version, every inspection in full, the photos, and what the
        caller may do now."""
        now = utcnow()
        async with self.db.connect() as conn:
            row = await self._building(conn, building_id, viewer)
            versions = _all(await conn.execute(sa.select(building_versions).where(
                building_versions.c.building_id == building_id).order_by(building_versions.c.version)))
            insp_rows = _all(await conn.execute(sa.select(inspections).where(
                inspections.c.building_id == building_id).order_by(inspections.c.created_at.desc())))
            loaded = await self._load(conn, insp_rows)
            photo_rows = _all(await conn.execute(sa.select(photos).where(
                photos.c.building_id == building_id).order_by(photos.c.uploaded_at, photos.c.id)))
        history = [self._json(insp, seqs, row, viewer, now) for insp, seqs in loaded]
        open_state = next((i["state"] for i in history if i["open"]), None)
        return {"building": records.building_json(row, self.deadlines, now),
                "versions": [records.version_json(v) for v in versions],
                "inspections": history, "photos": [records.photo_json(p) for p in photo_rows],
                "can_submit": records.can_submit(viewer, row, open_state)}

    # ---- photos ------------------------------------------------------------------------------------------
    async def receive_photo(self, building_id: str, chunks: AsyncIterable[bytes], *, viewer: Viewer,
                            content_type: str, name: str | None = None, declared_size: int | None = None,
                            expected_sha256: str | None = None) -> tuple[dict[str, Any], bool]:
        """Stream a photo in for a building's self-check; returns (photo, newly kept).

        The same bytes sent again for the same building answer the photo already kept (False).
        """
        check_declared(content_type)
        clean_name = fields.text(name, "name", 255, required=False)
        expected = None if expected_sha256 is None else fields.sha256(expected_sha256, "sha256")
        async with self.db.connect() as conn:
            await self._building(conn, building_id, viewer)
        self._require(viewer, frozenset({BUILDING_MANAGER}), "uploading self-check photos")
        photo_id = new_id()
        rel = relative_dir(building_id) / photo_id
        sniffer = Sniffer(chunks)
        stored = await receive(sniffer, self.data_dir / rel.parent, rel.name, max_bytes=self.settings.photo_max_bytes,
                               expected_sha256=expected, expected_size=declared_size, executor=self.executor)
        assert sniffer.kind is not None  # receive() refuses an empty body
        now = utcnow()
        same = sa.select(photos).where(photos.c.building_id == building_id, photos.c.sha256 == stored.sha256)
        row = {"id": photo_id, "building_id": building_id, "sha256": stored.sha256, "size": stored.size,
               "content_type": sniffer.kind, "name": clean_name, "path": rel.as_posix(),
               "uploaded_by": viewer.subject, "uploaded_at": now}
        try:
            async with self._tx() as tx:
                existing = _first(await tx.conn.execute(same))
                if existing is None:
                    await tx.conn.execute(photos.insert().values(**row))
                    await tx.audit(actor=viewer.subject, action="inspection.photo", target=f"building:{building_id}",
                                   before=None, after={k: row[k] for k in ("id", "sha256", "size", "content_type",
                                                                           "name")}, at=now)
        except sa.exc.IntegrityError:  # the same photo registered at the same moment by another request
            discard(stored.path)
            async with self.db.connect() as conn:
                existing = _first(await conn.execute(same))
            if existing is None:
                raise
        except BaseException:
            discard(stored.path)  # never a kept file without its row
            raise
        if existing is not None:
            discard(stored.path)  # the same bytes are kept for this building already
            return records.photo_json(existing), False
        return records.photo_json(row), True

    async def photo_file(self, building_id: str, sha256: str, viewer: Viewer) -> tuple[dict[str, Any], bytes]:
        """A kept photo and its bytes, checked against the sha256 measured on receipt."""
        async with self.db.connect() as conn:
            await self._building(conn, building_id, viewer)
            row = None
            if fields.SHA256_RE.match(sha256):
                row = _first(await conn.execute(sa.select(photos).where(photos.c.building_id == building_id,
                                                                        photos.c.sha256 == sha256)))
        if row is None:
            raise NotFound(f"building {building_id} has no photo with sha256 {sha256[:80]!r}")

        def read() -> tuple[bytes, str]:
            data = (self.data_dir / row["path"]).read_bytes()
            return data, hashlib.sha256(data).hexdigest()

        data, digest = await self._blocking(read)
        if digest != row["sha256"]:
            log.error("photo %s of building %s: the file's sha256 is %s, not the %s measured on receipt",
                      row["id"], building_id, digest, row["sha256"])
            raise PhotoDamaged(f"photo {row['id']} no longer matches the sha256 measured when it was received; "
                               "it is not served (see the server log)")
        return records.photo_json(row), data

    # ---- inspections -------------------------------------------------------------------------------------
    async def submit(self, building_id: str, body: Any, *, viewer: Viewer) -> dict[str, Any]:
        """The building's manager submits a self-check: a new inspection, waiting for the grid worker."""
        now = utcnow()
        try:
            async with self._tx() as tx:
                building = await self._building(tx.conn, building_id, viewer, lock=True)
                open_row = _first(await tx.conn.execute(sa.select(inspections).where(
                    inspections.c.open_building == building_id)))
                open_insp = (await self._load(tx.conn, [open_row]))[0][0] if open_row else None
                insp = chain.submit(body, inspection_id=new_id(), building=building, viewer=viewer,
                                    checklist=self.checklist, now=now, open_inspection=open_insp)
                await self._check_photos(tx.conn, building_id, insp.current)
                await tx.conn.execute(inspections.insert().values(
                    id=insp.id, building_id=building_id, state=insp.state, state_since=now, round=1,
                    open_building=building_id, created_at=now, updated_at=now))
                await tx.conn.execute(self_checks.insert().values(**records.self_check_values(insp.id, insp.current)))
                await self._record_decision(tx, insp)
                await tx.conn.execute(buildings.update().where(buildings.c.id == building_id)
                                      .values(last_self_check_at=now))
        except sa.exc.IntegrityError:  # another request opened one at the same moment
            raise Conflict(f"building {building_id} already has an inspection in progress; finish it first") from None
        return await self.get_inspection(insp.id, viewer)

    async def act(self, inspection_id: str, action: str, body: Any, *, viewer: Viewer) -> dict[str, Any]:
        """One review step of the chain (accept, return, resubmit, close, escalate, link_incident, resolve)."""
        now = utcnow()
        async with self._tx() as tx:
            row, building = await self._inspection_rows(tx.conn, inspection_id, viewer, lock=True)
            insp = (await self._load(tx.conn, [row]))[0][0]
            new = chain.apply(insp, action, body, viewer=viewer, building=building, now=now, checklist=self.checklist)
            if action == "resubmit":
                await self._check_photos(tx.conn, insp.building_id, new.current)
            if action == "link_incident":
                await self._incident_exists(str(new.incident_id))
            closed = new.state not in OPEN_STATES
            await tx.conn.execute(inspections.update().where(inspections.c.id == inspection_id).values(
                state=new.state, state_since=new.state_since, round=new.round, updated_at=now,
                closed_at=now if closed else None, open_building=None if closed else insp.building_id))
            if action == "resubmit":
                await tx.conn.execute(self_checks.insert().values(**records.self_check_values(new.id, new.current)))
                await tx.conn.execute(buildings.update().where(buildings.c.id == insp.building_id)
                                      .values(last_self_check_at=now))
            elif action == "escalate":
                assert new.escalation is not None
                await tx.conn.execute(tasks.insert().values(
                    id=new_id(), inspection_id=new.id, building_id=new.building_id, state="open",
                    hazard=new.escalation.hazard, severity=new.escalation.severity, escalated_by=viewer.subject,
                    escalated_at=now))
            elif action == "link_incident":
                await tx.conn.execute(tasks.update().where(tasks.c.inspection_id == new.id).values(
                    incident_id=new.incident_id, incident_linked_by=viewer.subject, incident_linked_at=now))
            elif action == "resolve":
                await tx.conn.execute(tasks.update().where(tasks.c.inspection_id == new.id).values(
                    state="resolved", result=dict(new.result or {}), resolved_by=viewer.subject, resolved_at=now))
            await self._record_decision(tx, new)
        return await self.get_inspection(inspection_id, viewer)

    async def _incident_exists(self, incident_id: str) -> None:
        if self.dispatch is None:
            raise Conflict("incidents cannot be linked: this server runs without dispatch")
        try:
            await self.dispatch.get_incident(incident_id)
        except IncidentNotFound:
            raise NotFound(f"no incident with id {incident_id!r}", field="incident_id") from None

    async def open_incident(self, inspection_id: str, body: Any, *, viewer: Viewer) -> dict[str, Any]:
        """The fire police open a dispatch incident for an escalated hazard (source ``inspection``, the
        building's address and coordinates) and link it to the inspection."""
        body = fields.obj(body if body is not None else {}, "body")
        fields.reject_unknown(body, ("note",))
        note = fields.text(body.get("note"), "note", 1000, required=False)
        async with self.db.connect() as conn:
            row, building = await self._inspection_rows(conn, inspection_id, viewer)
            insp = (await self._load(conn, [row]))[0][0]
        # The checks the link will make (state, role, building, not linked yet), before an incident exists.
        chain.apply(insp, "link_incident", {"incident_id": "pending"}, viewer=viewer, building=building, now=utcnow())
        if self.dispatch is None:
            raise Conflict("incidents cannot be opened: this server runs without dispatch")
        draft = chain.incident_draft(insp, building)
        assert insp.escalation is not None
        incident = await self.dispatch.create_incident(
            text=draft["text"] + (f"\n{note}" if note else ""), source=draft["source"], actor=viewer.subject,
            location_text=draft["location_text"], lat=draft["lat"], lon=draft["lon"],
            report={"inspection": {"id": insp.id, "building_id": insp.building_id, "category": draft["category"],
                                   "severity": insp.escalation.severity, "hazard": insp.escalation.hazard,
                                   "url": f"/inspections?building={insp.building_id}"}})
        try:
            linked = await self.act(inspection_id, "link_incident", {"incident_id": incident["id"]}, viewer=viewer)
        except RecordError as exc:
            # The incident exists whatever happened here: say which, never leave it unmentioned.
            log.warning("incident %s was opened for inspection %s but not linked: %s", incident["id"], inspection_id,
                        exc.message)
            raise Conflict(f"incident {incident.get('number') or incident['id']} was opened but could not be linked "
                           f"to inspection {inspection_id}: {exc.message}", incident_id=incident["id"]) from None
        return {"inspection": linked, "incident": incident}

    async def get_inspection(self, inspection_id: str, viewer: Viewer) -> dict[str, Any]:
        async with self.db.connect() as conn:
            row, building = await self._inspection_rows(conn, inspection_id, viewer)
            insp, seqs = (await self._load(conn, [row]))[0]
        return self._json(insp, seqs, building, viewer, utcnow())

    async def list_inspections(self, viewer: Viewer, *, state: str | None = None, building_id: str | None = None,
                               limit: int = 200) -> list[dict[str, Any]]:
        """Inspections of the buildings ``viewer`` may see, the longest waiting first.

        ``state``: one of the chain's states, or ``open`` for every state that waits for someone.
        """
        if state is not None and state != "open" and state not in STATES:
            raise InvalidInput(f"state must be open or one of {', '.join(STATES)}, got {state!r}", field="state")
        b = buildings.c
        sel = sa.select(inspections, b.name.label("b_name"), b.address.label("b_address"),
                        b.grid_id.label("b_grid_id"), b.manager_id.label("b_manager_id")).join(
            buildings, b.id == inspections.c.building_id)
        if viewer.role == BUILDING_MANAGER:
            sel = sel.where(b.manager_id == viewer.subject)
        elif viewer.role == GRID_WORKER:
            sel = sel.where(b.grid_id.in_(sorted(viewer.grids)))
        elif viewer.role not in SEES_ALL:
            return []
        if state == "open":
            sel = sel.where(inspections.c.state.in_(OPEN_STATES))
        elif state:
            sel = sel.where(inspections.c.state == state)
        if building_id:
            sel = sel.where(inspections.c.building_id == building_id)
        sel = sel.order_by(inspections.c.state_since, inspections.c.id).limit(min(limit, MAX_LIST))
        now = utcnow()
        async with self.db.connect() as conn:
            rows = _all(await conn.execute(sel))
            linked = await self._incidents_of(conn, [r["id"] for r in rows])
        out = []
        for r in rows:
            building = {"id": r["building_id"], "name": r["b_name"], "address": r["b_address"],
                        "grid_id": r["b_grid_id"], "manager_id": r["b_manager_id"]}
            if visible(viewer, [building]):
                out.append(records.inspection_summary(r, building, linked.get(r["id"]), viewer=viewer,
                                                      deadlines=self.deadlines, now=now))
        return out

    def checklist_json(self) -> list[dict[str, Any]]:
        return [{"id": c.id, "zh": c.zh, "en": c.en} for c in self.checklist if not c.retired]

    # ---- overdue steps -------------------------------------------------------------------------------------
    async def raise_overdue_alerts(self, now: dt.datetime | None = None) -> list[dict[str, Any]]:
        """Record every newly overdue step once, then publish each recorded alert not yet published.

        An alert is remembered before it is published, so a restart neither raises it again nor loses it;
        one whose publishing failed stays unpublished and is tried again on the next sweep. Run by one
        process at a time (the web layer holds a lease); the unique step key keeps it once even so.
        """
        now = now or utcnow()
        async with self.db.connect() as conn:
            i = inspections.c
            rows = _all(await conn.execute(sa.select(i.id, i.building_id, i.state, i.state_since)
                                           .where(i.state.in_(OPEN_STATES))))
            found = overdue_alerts(rows, now, self.deadlines)
            ids = sorted({a["inspection_id"] for a in found})
            known = {(r.inspection_id, r.state, fields.iso(as_utc(r.step_since))) for r in (await conn.execute(
                sa.select(alerts.c.inspection_id, alerts.c.state, alerts.c.step_since).where(
                    alerts.c.inspection_id.in_(ids)))).all()} if ids else set()
        since = {r["id"]: r["state_since"] for r in rows}
        for a in found:
            if (a["inspection_id"], a["state"], a["since"]) in known:
                continue
            try:
                async with transaction(self.db) as conn:
                    await conn.execute(alerts.insert().values(
                        id=new_id(), inspection_id=a["inspection_id"], state=a["state"],
                        step_since=since[a["inspection_id"]], waiting_for=a["waiting_for"],
                        deadline_at=fields.moment(a["deadline_at"]), detected_at=now, event=a))
            except sa.exc.IntegrityError:
                continue  # recorded by another process first
        async with self.db.connect() as conn:
            pending = _all(await conn.execute(sa.select(alerts).where(alerts.c.published_at.is_(None))
                                              .order_by(alerts.c.detected_at, alerts.c.id).limit(PUBLISH_BATCH)))
        published = []
        for p in pending:
            try:
                alert = await self._publish(p)
            except Exception:
                log.exception("could not raise the overdue alert of inspection %s; trying again next sweep",
                              p["inspection_id"])
                continue
            async with transaction(self.db) as conn:
                await conn.execute(alerts.update().where(alerts.c.id == p["id"], alerts.c.published_at.is_(None))
                                   .values(alert_id=str(alert.get("id") or "")[:32] or None, published_at=utcnow()))
            published.append(alert)
        return published

    async def _publish(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """One console alert through dispatch: stored with the console's alerts, audited, and sent in the
        console event envelope; both languages travel with it."""
        if self.dispatch is None:
            raise RuntimeError("no dispatch service to raise console alerts with")
        event = dict(row["event"])
        async with self.db.connect() as conn:
            where = (await conn.execute(sa.select(buildings.c.name, buildings.c.address).where(
                buildings.c.id == event["building_id"]))).first()
            incident_id = (await self._incidents_of(conn, [row["inspection_id"]])).get(row["inspection_id"])
        place = "" if where is None else (f"{where.name} · {where.address}" if where.name else where.address)
        extra = {k: v for k, v in event.items() if k not in ("type", "kind", "severity", "message", "incident_id")}
        extra.update(inspection_alert_id=row["id"], address=place, url=f"/inspections?building={event['building_id']}")
        if place:
            extra["message_zh"] = f"{event['message_zh']} — {place}"
        message = f"{event['message']} — {place}" if place else event["message"]
        result: dict[str, Any] = await self.dispatch.raise_alert(event["kind"], event["severity"], message,
                                                                 incident_id=incident_id, **extra)
        return result
