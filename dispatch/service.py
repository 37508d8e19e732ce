"""DispatchService: incidents, units, orders, alerts and the audit log over SQL and Redis.

One instance per server process, built by ``web.api.dispatch`` and kept in ``app[appkeys.DISPATCH]``.
SQL holds the records (the truth); Redis carries orders to units (a Stream per unit) and live
events to consoles (pub/sub). Every change is written to the hash-chained audit log in the same
transaction as the change itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import re
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import Executor
from typing import Any

import sqlalchemy as sa
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from common.db import transaction
from dispatch import audit as auditlog
from dispatch import keys
from dispatch.bus import Bus
from dispatch.errors import Conflict, Forbidden, InvalidInput, NotFound
from dispatch.intervals import summarize
from dispatch.model import (
    INCIDENT_TRANSITIONS,
    LEVELS,
    OPEN_INCIDENT_STATES,
    OPEN_ORDER_STATES,
    UNIT_STATUSES,
    UNIT_TRANSITIONS,
    as_utc,
    check_transition,
    iso,
    level_for_priority,
    utcnow,
)
from dispatch.recommend import CapabilityTable, bounding_box, load_table, rank_units
from dispatch.settings import DispatchSettings
from dispatch.tables import alerts, incident_events, incidents, orders, unit_events, units

log = logging.getLogger("jingyun.dispatch")

_SOURCE_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")

TriageFn = Callable[..., Any]
DuplicatesFn = Callable[..., Any]

# Duplicate search bounds (reliability defect D7): however many incidents are open nearby, a new
# one is compared with at most this many (nearest in time first) and linked to at most this many.
DUPLICATE_MAX_CANDIDATES = 500
DUPLICATE_MAX_LINKS = 10
# Console events are built (from the database) this long after the change that queued them, so the
# change's latency-critical work, the order push to a phone, is not queued behind them on the event
# loop; events for one object within the window coalesce. Consoles are not latency-critical.
EMIT_DELAY_S = 0.01


def _default_triage() -> TriageFn | None:
    try:
        from analytics.triage import triage
    except ImportError:
        return None
    return triage  # type: ignore[no-any-return]


def _default_duplicates() -> DuplicatesFn | None:
    try:
        from analytics.duplicates import find_duplicates
    except ImportError:
        return None
    return find_duplicates  # type: ignore[no-any-return]


def new_id() -> str:
    return uuid.uuid4().hex[:16]


def _float(value: Any, name: str, lo: float, hi: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{name} must be a number from {lo:g} to {hi:g}, got {value!r}", field=name)
    if not lo <= float(value) <= hi:
        raise InvalidInput(f"{name} must be from {lo:g} to {hi:g}, got {value!r}", field=name)
    return float(value)


def _coords(lat: Any, lon: Any) -> tuple[float | None, float | None]:
    la, lo = _float(lat, "lat", -90, 90), _float(lon, "lon", -180, 180)
    if (la is None) != (lo is None):
        raise InvalidInput("give both lat and lon, or neither", field="lat" if la is None else "lon")
    return la, lo


def _text_field(value: Any, name: str, *, max_chars: int, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidInput(f"{name} must be a non-empty string", field=name)
    if len(value) > max_chars:
        raise InvalidInput(f"{name} is {len(value)} characters; at most {max_chars} are accepted", field=name)
    return value.strip()


class DispatchService:
    """The dispatch core. Public coroutines are what routes and the other sub-systems call."""

    def __init__(self, engine: AsyncEngine, redis: Redis, settings: DispatchSettings, prefix: str, *,
                 instance: str = "", executor: Executor | None = None, intel_settings: Any = None,
                 table: CapabilityTable | None = None, triage_fn: TriageFn | None = None,
                 duplicates_fn: DuplicatesFn | None = None) -> None:
        self.engine = engine
        self.redis = redis
        self.settings = settings
        self.prefix = prefix
        self.instance = instance or f"dispatch-{uuid.uuid4().hex[:8]}"
        self.executor = executor
        self.intel_settings = intel_settings
        self.table = table or load_table(settings.capabilities_file or None)
        self.bus = Bus(redis, prefix)
        self._triage = triage_fn if triage_fn is not None else _default_triage()
        self._duplicates = duplicates_fn if duplicates_fn is not None else _default_duplicates()
        self._sqlite = engine.dialect.name == "sqlite"
        # Console events that follow a change are built and published off the request path, in order.
        self._emits: asyncio.Queue[tuple[str, str, str]] = asyncio.Queue(maxsize=10_000)
        self._emitter_running = False
        self._pending_emits: set[tuple[str, str, str]] = set()
        self._spare_tasks: set[asyncio.Task[Any]] = set()

    # ---- transactions and the audit log ----------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _tx(self, heads_out: list[tuple[int, str]] | None = None) -> AsyncIterator[AsyncConnection]:
        """A write transaction; appends to the audit chain made in it are committed with it.

        The new audit head is recorded in Redis after the commit, unless the caller passes
        ``heads_out``: then the (seq, hash) of its entries are left there for the caller to record
        in the same round trip as its own Redis work (the order push, the ack).
        """
        heads: list[tuple[int, str]] = heads_out if heads_out is not None else []
        async with transaction(self.engine) as conn:
            conn.info["audit_heads"] = heads
            yield conn
        if heads and heads_out is None:
            with contextlib.suppress(Exception):  # the head is a cross-check; the chain is the record
                await self.bus.record_audit_head(*max(heads))

    async def _audit(self, conn: AsyncConnection, actor: str, action: str, target: str, before: Any,
                     after: Any) -> None:
        seq, digest = await auditlog.append(conn, actor=actor, action=action, target=target,
                                            before=before, after=after)
        conn.info.setdefault("audit_heads", []).append((seq, digest))

    async def audit(self, actor: str, action: str, target: str, before: Any, after: Any) -> None:
        """Append one audit entry in its own transaction (for callers outside dispatch)."""
        async with self._tx() as conn:
            await self._audit(conn, actor, action, target, before, after)

    async def audit_denied(self, request: Any, who: Any, reason: str) -> None:
        """Record a denied attempt on a protected route (the auth middleware calls this)."""
        actor = getattr(who, "subject", None) or f"anonymous@{getattr(request, 'remote', '?')}"
        role = getattr(getattr(who, "role", None), "value", None)
        await self.audit(actor, "access_denied", f"{request.method} {request.path}", None,
                         {"reason": reason, "role": role, "unit_id": getattr(who, "unit_id", None)})

    async def verify_audit(self) -> auditlog.VerifyResult:
        """Check the whole chain and the head recorded in Redis."""
        async with self.engine.connect() as conn:
            rows = await auditlog.read_all(conn)
        head = None
        with contextlib.suppress(Exception):
            head = await self.bus.audit_head()
        return auditlog.verify_chain(rows, head)

    # ---- console fan-out ---------------------------------------------------------------------------
    async def publish_console(self, event: dict[str, Any]) -> None:
        """Send a live event to every dispatcher console of every process (losable pub/sub)."""
        event = {**event, "origin": self.instance}
        event.setdefault("at", iso(utcnow()))
        try:
            await self.bus.publish_console(event)
        except Exception:
            # Consoles resync from the snapshot; a lost live event must not fail the change itself.
            log.exception("could not publish console event %s", event.get("type"))

    def _emit(self, kind: str, obj_id: str, action: str = "updated") -> None:
        """Queue a console event about an incident, unit or order, built from its state when sent.

        The change is already committed; the console event is losable (consoles resync from the
        snapshot), so a full queue drops it with a log line rather than slowing dispatch down.
        """
        if not self._emitter_running:
            task = asyncio.get_running_loop().create_task(self._send_emit(kind, obj_id, action))
            self._spare_tasks.add(task)
            task.add_done_callback(self._spare_tasks.discard)
            return
        if (kind, obj_id, action) in self._pending_emits:
            return  # one event, built when sent, shows the latest state anyway
        try:
            self._emits.put_nowait((kind, obj_id, action))
            self._pending_emits.add((kind, obj_id, action))
        except asyncio.QueueFull:
            log.warning("console event queue full; dropped %s %s event", kind, action)

    async def _send_emit(self, kind: str, obj_id: str, action: str) -> None:
        try:
            if kind == "incident":
                await self.publish_console({"type": "incident", "action": action,
                                            "incident": await self.get_incident(obj_id)})
            elif kind == "unit":
                await self.publish_console({"type": "unit", "action": action, "unit": await self.get_unit(obj_id)})
            elif kind == "order":
                await self.publish_console({"type": "order", "action": action, "order": await self.get_order(obj_id)})
        except Exception:
            log.exception("could not build the console event for %s %s", kind, obj_id)

    async def close(self) -> None:
        """Stop console events still in flight (shutdown); the changes themselves are committed."""
        tasks = list(self._spare_tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)

    async def run_emitter(self) -> None:
        """Publish queued console events in order (started by the web layer)."""
        self._emitter_running = True
        try:
            while True:
                first = await self._emits.get()
                await asyncio.sleep(EMIT_DELAY_S)  # see EMIT_DELAY_S
                batch = [first]
                while not self._emits.empty():
                    batch.append(self._emits.get_nowait())
                for kind, obj_id, action in batch:
                    self._pending_emits.discard((kind, obj_id, action))
                    await self._send_emit(kind, obj_id, action)
        finally:
            self._emitter_running = False

    # ---- triage (the intelligence engineer's scorer) ------------------------------------------------
    async def _score(self, text: str, lang: str | None, source: str,
                     fields: dict[str, Any] | None) -> dict[str, Any] | None:
        if self._triage is None:
            return None
        call = functools.partial(self._triage, text, lang=lang, source=source, fields=fields)
        try:
            result = await asyncio.get_running_loop().run_in_executor(self.executor, call)
            data: dict[str, Any] = result.to_dict() if hasattr(result, "to_dict") else dict(result)
        except Exception:
            log.exception("triage failed; the incident is kept unscored for a dispatcher to rate")
            return None
        prio = data.get("priority")
        if not isinstance(prio, int) or not 0 <= prio <= 10 or data.get("level") not in LEVELS:
            log.error("triage returned priority %r level %r; ignored", prio, data.get("level"))
            return None
        return data

    # ---- incidents -----------------------------------------------------------------------------------
    async def create_incident(self, *, text: str, source: str, actor: str, lang: str | None = None,
                              location_text: str | None = None, lat: float | None = None,
                              lon: float | None = None, report: dict[str, Any] | None = None,
                              created_at: dt.datetime | None = None) -> dict[str, Any]:
        """Store a new incident: score it, audit it, link possible duplicates, tell the consoles."""
        text = _text_field(text, "text", max_chars=self.settings.max_text_chars)
        if not isinstance(source, str) or not _SOURCE_RE.match(source):
            raise InvalidInput(f"source must be a short lower-case name such as call, radio or kiosk, "
                               f"got {source!r}", field="source")
        if lang is not None and (not isinstance(lang, str) or not 1 <= len(lang) <= 16):
            raise InvalidInput(f"lang must be a language code such as zh, en or yue, got {lang!r}", field="lang")
        if location_text is not None:
            location_text = _text_field(location_text, "location_text", max_chars=500, required=False) or None
        la, lo = _coords(lat, lon)
        if report is not None and not isinstance(report, dict):
            raise InvalidInput("report must be a JSON object", field="report")
        now = utcnow()
        created = as_utc(created_at) if created_at else now
        assert created is not None
        fields = report.get("fields") if report and isinstance(report.get("fields"), dict) else None
        scored = await self._score(text, lang, source, fields)
        if scored:
            loc = (scored.get("facts") or {}).get("location") or {}
            if la is None and isinstance(loc.get("lat"), int | float) and isinstance(loc.get("lon"), int | float):
                la, lo = float(loc["lat"]), float(loc["lon"])
            if not location_text and isinstance(loc.get("text"), str) and loc["text"]:
                location_text = loc["text"]
        incident_id = new_id()
        day = created.strftime("%Y%m%d")
        number = await self._next_number(day, incident_id)
        row = {
            "id": incident_id, "number": number, "source": source, "text": text,
            "lang": (scored or {}).get("lang") or lang, "category": (scored or {}).get("category"),
            "priority": (scored or {}).get("priority"), "level": (scored or {}).get("level"),
            "triage": scored, "priority_override": None, "location_text": location_text, "lat": la, "lon": lo,
            "report": report, "status": "new", "merged_into": None, "created_by": actor,
            "created_at": created, "updated_at": now,
        }
        async with self._tx() as conn:
            await conn.execute(incidents.insert().values(**row))
            await self._event(conn, incident_id, "status", actor, {"from": None, "to": "new"}, now)
            await self._event(conn, incident_id, "text", actor, {"text": text, "source": source}, now)
            if scored:
                await conn.execute(incidents.update().where(incidents.c.id == incident_id)
                                   .values(status="triaged"))
                await self._event(conn, incident_id, "status", "triage",
                                  {"from": "new", "to": "triaged",
                                   "reason": f"scored {scored['level']} ({scored['priority']})"}, now)
            await self._audit(conn, actor, "incident.create", f"incident:{incident_id}", None,
                              {k: v for k, v in row.items() if k not in ("created_at", "updated_at")})
        if not scored:
            await self.raise_alert("triage_unavailable", "warning",
                                   f"incident {number} could not be scored automatically; set its priority",
                                   incident_id=incident_id)
        incident = await self.get_incident(incident_id)
        await self.publish_console({"type": "incident", "action": "created", "incident": incident})
        await self._link_duplicates(incident)
        if self.settings.auto_dispatch_p1 and incident["level"] == "P1":
            await self._auto_dispatch(incident_id)
        return await self.get_incident(incident_id)

    async def _next_number(self, day: str, incident_id: str) -> str:
        """``JY-YYYYMMDD-NNNNN`` from a Redis counter, re-seeded from SQL if Redis lost its count."""
        try:
            for _ in range(5):
                number = f"JY-{day}-{await self.bus.next_incident_number(day):05d}"
                async with self.engine.connect() as conn:
                    taken = (await conn.execute(sa.select(incidents.c.id).where(incidents.c.number == number))).first()
                    if taken is None:
                        return number
                    top = (await conn.execute(sa.select(sa.func.max(incidents.c.number))
                                              .where(incidents.c.number.like(f"JY-{day}-%")))).scalar()
                if top and top.rsplit("-", 1)[1].isdigit():
                    await self.bus.raise_incident_number(day, int(top.rsplit("-", 1)[1]))
        except Exception:
            log.exception("incident counter unavailable; numbering by id")
        return f"JY-{day}-X{incident_id[:8].upper()}"  # still unique, still recorded

    async def _event(self, conn: AsyncConnection, incident_id: str, kind: str, actor: str,
                     data: dict[str, Any], at: dt.datetime | None = None) -> None:
        await conn.execute(incident_events.insert().values(incident_id=incident_id, at=at or utcnow(),
                                                           kind=kind, actor=actor, data=data))

    async def _link_duplicates(self, incident: dict[str, Any]) -> None:
        """Link the new incident to its likeliest duplicates among the open ones nearby.

        Bounded whatever is open: SQL keeps only open incidents inside the time window and inside a
        box around the new one's coordinates (plus those without coordinates, which may still match
        on a plate, phone or place), at most ``DUPLICATE_MAX_CANDIDATES`` of them, nearest in time
        first; the best ``DUPLICATE_MAX_LINKS`` matches are written in one transaction.
        """
        if self._duplicates is None:
            return
        intel = self.intel_settings
        max_minutes = float(getattr(intel, "duplicate_max_minutes", 30.0))
        max_meters = float(getattr(intel, "duplicate_max_meters", 500.0))
        created = as_utc(dt.datetime.fromisoformat(incident["created_at"].replace("Z", "+00:00")))
        assert created is not None
        window = dt.timedelta(minutes=max_minutes)
        lat, lon = incident["location"]["lat"], incident["location"]["lon"]
        c = incidents.c
        q = (sa.select(c.id, c.text, c.category, c.lat, c.lon, c.created_at)
             .where(c.status.in_(OPEN_INCIDENT_STATES), c.created_at >= max(utcnow(), created) - window,
                    c.created_at <= created + window, c.id != incident["id"]))
        if lat is not None and lon is not None:
            lat_lo, lat_hi, lon_lo, lon_hi = bounding_box(lat, lon, max_meters)
            near = sa.and_(c.lat.between(lat_lo, lat_hi),
                           c.lon.between(lon_lo, lon_hi) if lon_lo is not None else sa.true())
            q = q.where(sa.or_(c.lat.is_(None), c.lon.is_(None), near))
        q = q.order_by(c.created_at.desc()).limit(DUPLICATE_MAX_CANDIDATES)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(q)).all()
        if not rows:
            return
        candidate = {"id": incident["id"], "text": incident["text"], "category": incident["category"],
                     "lat": lat, "lon": lon, "created_at": created}
        others = [{"id": r.id, "text": r.text, "category": r.category, "lat": r.lat, "lon": r.lon,
                   "created_at": as_utc(r.created_at)} for r in rows]
        call = functools.partial(self._duplicates, candidate, others, max_minutes=max_minutes,
                                 max_meters=max_meters,
                                 min_similarity=float(getattr(intel, "duplicate_min_similarity", 0.45)))
        try:  # text similarity over the candidates: off the event loop
            matches = await asyncio.get_running_loop().run_in_executor(self.executor, call)
        except Exception:
            log.exception("duplicate search failed for incident %s", incident["id"])
            return
        links = [(str(m.incident_id), {"score": float(m.score), "evidence": list(m.evidence)})
                 for m in list(matches)[:DUPLICATE_MAX_LINKS]]
        if not links:
            return
        now = utcnow()
        async with self._tx() as conn:
            await conn.execute(incident_events.insert(), [
                row for other, data in links for row in (
                    {"incident_id": incident["id"], "at": now, "kind": "duplicate", "actor": "duplicates",
                     "data": {"incident_id": other, **data}},
                    {"incident_id": other, "at": now, "kind": "duplicate", "actor": "duplicates",
                     "data": {"incident_id": incident["id"], **data}})])
            for other, data in links:
                await self._audit(conn, "duplicates", "incident.link_duplicate", f"incident:{incident['id']}",
                                  None, {"duplicate_of": other, **data})
        for other, data in links:
            await self.publish_console({"type": "duplicate", "incident_id": incident["id"],
                                        "duplicate_of": other, **data})

    async def unlink_duplicate(self, incident_id: str, other_id: str, *, actor: str,
                               reason: str = "") -> dict[str, Any]:
        """A dispatcher says two incidents linked as possible duplicates are not: drop the link on both.

        The history keeps the link and its removal (events and audit), only the live view forgets it.
        """
        if not isinstance(reason, str) or len(reason) > 500:
            raise InvalidInput("reason must be a string of at most 500 characters", field="reason")
        current = await self.get_incident(incident_id)
        await self._incident_row(other_id)  # 404 for an unknown id
        link = next((d for d in current.get("duplicates", []) if d["incident_id"] == other_id), None)
        if link is None:
            raise NotFound(f"incident {current['number']} is not linked to {other_id} as a possible duplicate")
        if link.get("merged"):
            raise Conflict(f"incident {current['number']} was merged with {other_id}; a merge is not undone here",
                           current="merged")
        data = {"unlinked": True, "reason": reason}
        async with self._tx() as conn:
            await self._event(conn, incident_id, "duplicate", actor, {"incident_id": other_id, **data})
            await self._event(conn, other_id, "duplicate", actor, {"incident_id": incident_id, **data})
            await self._audit(conn, actor, "incident.unlink_duplicate", f"incident:{incident_id}",
                              {"duplicate_of": other_id, "score": link.get("score")}, {"duplicate_of": None,
                                                                                       "reason": reason})
        await self.publish_console({"type": "duplicate", "incident_id": incident_id, "duplicate_of": other_id,
                                    "unlinked": True, "actor": actor})
        return await self.get_incident(incident_id)

    async def add_text(self, incident_id: str, *, text: str, source: str, actor: str) -> dict[str, Any]:
        """Append text (a later call, a radio update, a transcript) and score the whole text again."""
        text = _text_field(text, "text", max_chars=self.settings.max_text_chars)
        if not isinstance(source, str) or not _SOURCE_RE.match(source):
            raise InvalidInput(f"source must be a short lower-case name such as call or radio, got {source!r}",
                               field="source")
        current = await self._incident_row(incident_id)
        if current["status"] in ("closed", "cancelled", "merged"):
            raise Conflict(f"incident {current['number']} is {current['status']}; text can only be added "
                           "to open incidents", current=current["status"])
        full = f"{current['text']}\n{text}"
        if len(full) > self.settings.max_text_chars:
            raise InvalidInput(f"the incident text would grow to {len(full)} characters; at most "
                               f"{self.settings.max_text_chars} are accepted", field="text")
        # A kiosk report's form fields (time, place, amount) stay evidence when text is added later.
        report = current.get("report")
        fields = report.get("fields") if isinstance(report, dict) and isinstance(report.get("fields"), dict) else None
        scored = await self._score(full, current["lang"], current["source"], fields)
        values: dict[str, Any] = {"text": full, "updated_at": utcnow()}
        if scored:
            values.update(triage=scored, category=scored["category"])
            if not current["priority_override"]:
                values.update(priority=scored["priority"], level=scored["level"])
        async with self._tx() as conn:
            await conn.execute(incidents.update().where(incidents.c.id == incident_id).values(**values))
            await self._event(conn, incident_id, "text", actor, {"text": text, "source": source})
            if scored and current["status"] == "new":
                await conn.execute(incidents.update().where(incidents.c.id == incident_id)
                                   .values(status="triaged"))
                await self._event(conn, incident_id, "status", "triage", {"from": "new", "to": "triaged"})
            await self._audit(conn, actor, "incident.add_text", f"incident:{incident_id}",
                              {"priority": current["priority"], "level": current["level"],
                               "category": current["category"]},
                              {"text": text, "source": source, "priority": values.get("priority", current["priority"]),
                               "level": values.get("level", current["level"]),
                               "category": values.get("category", current["category"])})
        incident = await self.get_incident(incident_id)
        await self.publish_console({"type": "incident", "action": "updated", "incident": incident})
        return incident

    async def link_transcript(self, incident_id: str, *, transcript_id: str, actor: str,
                              text: str | None = None) -> dict[str, Any]:
        """Link a voice transcript to an incident (and, when given, add its text)."""
        _text_field(transcript_id, "transcript_id", max_chars=64)
        row = await self._incident_row(incident_id)
        async with self._tx() as conn:
            await self._event(conn, incident_id, "transcript", actor, {"transcript_id": transcript_id})
            await self._audit(conn, actor, "incident.link_transcript", f"incident:{incident_id}", None,
                              {"transcript_id": transcript_id})
        if text and row["status"] not in ("closed", "cancelled", "merged"):
            return await self.add_text(incident_id, text=text, source="voice", actor=actor)
        incident = await self.get_incident(incident_id)
        await self.publish_console({"type": "incident", "action": "updated", "incident": incident})
        return incident

    async def override_priority(self, incident_id: str, *, priority: int, reason: str,
                                actor: str) -> dict[str, Any]:
        """A dispatcher sets the priority by hand; the reason is kept and later re-scoring won't undo it."""
        if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 10:
            raise InvalidInput(f"priority must be an integer from 0 to 10, got {priority!r}", field="priority")
        reason = _text_field(reason, "reason", max_chars=1000)
        row = await self._incident_row(incident_id)
        level = level_for_priority(priority)
        override = {"priority": priority, "level": level, "reason": reason, "by": actor, "at": iso(utcnow()),
                    "previous": {"priority": row["priority"], "level": row["level"]}}
        async with self._tx() as conn:
            values: dict[str, Any] = {"priority": priority, "level": level, "priority_override": override,
                                      "updated_at": utcnow()}
            if row["status"] == "new":
                values["status"] = "triaged"
                await self._event(conn, incident_id, "status", actor,
                                  {"from": "new", "to": "triaged", "reason": "priority set by dispatcher"})
            await conn.execute(incidents.update().where(incidents.c.id == incident_id).values(**values))
            await self._event(conn, incident_id, "priority", actor, override)
            await self._audit(conn, actor, "incident.override_priority", f"incident:{incident_id}",
                              {"priority": row["priority"], "level": row["level"]},
                              {"priority": priority, "level": level, "reason": reason})
        incident = await self.get_incident(incident_id)
        await self.publish_console({"type": "incident", "action": "updated", "incident": incident})
        return incident

    async def set_incident_status(self, incident_id: str, status: str, *, actor: str, reason: str = "",
                                  merged_into: str | None = None) -> dict[str, Any]:
        """Move an incident through its states; closing or cancelling settles its open orders."""
        if status not in INCIDENT_TRANSITIONS:
            raise InvalidInput(f"status must be one of {', '.join(INCIDENT_TRANSITIONS)}, got {status!r}",
                               field="status")
        if status == "merged":
            if not merged_into:
                raise InvalidInput("merging needs 'into': the id of the incident this one duplicates",
                                   field="into")
            if merged_into == incident_id:
                raise InvalidInput("an incident cannot be merged into itself", field="into")
            await self._incident_row(merged_into)
        now = utcnow()
        settled: list[dict[str, Any]] = []
        async with self._tx() as conn:
            row = await self._incident_row(incident_id, conn, lock=True)
            check_transition("incident", INCIDENT_TRANSITIONS, row["status"], status)
            values: dict[str, Any] = {"status": status, "updated_at": now}
            stamp = {"en_route": "en_route_at", "on_scene": "on_scene_at", "closed": "closed_at",
                     "cancelled": "closed_at", "merged": "closed_at", "dispatched": "dispatched_at"}.get(status)
            if stamp and row.get(stamp) is None:
                values[stamp] = now
            if merged_into:
                values["merged_into"] = merged_into
            await conn.execute(incidents.update().where(incidents.c.id == incident_id).values(**values))
            await self._event(conn, incident_id, "status", actor,
                              {"from": row["status"], "to": status, "reason": reason,
                               **({"into": merged_into} if merged_into else {})}, now)
            if merged_into:
                await self._event(conn, merged_into, "duplicate", actor,
                                  {"incident_id": incident_id, "merged": True, "reason": reason}, now)
            if status in ("closed", "cancelled", "merged"):
                settled = await self._settle_orders(conn, incident_id, status, actor, now)
            await self._audit(conn, actor, "incident.status", f"incident:{incident_id}",
                              {"status": row["status"]}, {"status": status, "reason": reason,
                                                          "merged_into": merged_into})
        await self._after_settle(settled)
        incident = await self.get_incident(incident_id)
        await self.publish_console({"type": "incident", "action": "status", "incident": incident})
        return incident

    async def _settle_orders(self, conn: AsyncConnection, incident_id: str, status: str, actor: str,
                             now: dt.datetime) -> list[dict[str, Any]]:
        """Close the incident's open orders: acknowledged ones complete, offered ones are withdrawn."""
        rows = (await conn.execute(sa.select(orders).where(orders.c.incident_id == incident_id,
                                                           orders.c.state.in_(OPEN_ORDER_STATES)))).all()
        out = []
        for r in rows:
            new_state = "completed" if (r.state == "acknowledged" and status == "closed") else "withdrawn"
            await conn.execute(orders.update().where(orders.c.id == r.id).values(
                state=new_state, closed_at=now, close_reason=f"incident {status}"))
            unit = (await conn.execute(sa.select(units.c.status).where(units.c.id == r.unit_id))).first()
            if new_state == "withdrawn" and unit and unit.status == "dispatched":
                await self._unit_status_tx(conn, r.unit_id, unit.status, "available", actor, "system",
                                           f"order withdrawn: incident {status}", now)
            out.append({"id": r.id, "unit_id": r.unit_id, "state": new_state})
        return out

    async def _after_settle(self, settled: Sequence[dict[str, Any]]) -> None:
        for o in settled:
            with contextlib.suppress(Exception):
                await self.bus.ack_order(o["unit_id"], o["id"])  # also drops its deadline
                if o["state"] == "withdrawn":
                    await self.bus.notify_unit(o["unit_id"], "withdrawn", o["id"])
            self._emit("order", o["id"], o["state"])
            self._emit("unit", o["unit_id"], "status")

    async def _row(self, table: sa.Table, noun: str, field: str, row_id: str, conn: AsyncConnection | None,
                   lock: bool, *, label: str = "") -> dict[str, Any]:
        """One row by id, optionally locked for update (PostgreSQL; SQLite serialises writers anyway)."""
        if not isinstance(row_id, str) or not row_id:
            raise InvalidInput(f"{label or noun + ' id'} must be a non-empty string", field=field)
        q = sa.select(table).where(table.c.id == row_id)
        if lock and not self._sqlite:
            q = q.with_for_update()
        if conn is None:
            async with self.engine.connect() as c:
                row = (await c.execute(q)).first()
        else:
            row = (await conn.execute(q)).first()
        if row is None:
            raise NotFound(f"no {noun} with id {row_id!r}")
        return dict(row._mapping)

    async def _incident_row(self, incident_id: str, conn: AsyncConnection | None = None,
                            lock: bool = False) -> dict[str, Any]:
        return await self._row(incidents, "incident", "incident_id", incident_id, conn, lock)

    async def get_incident(self, incident_id: str) -> dict[str, Any]:
        """The incident as API JSON, with its history, texts, duplicates, transcripts and orders."""
        row = await self._incident_row(incident_id)
        async with self.engine.connect() as conn:
            evs = (await conn.execute(sa.select(incident_events).where(incident_events.c.incident_id == incident_id)
                                      .order_by(incident_events.c.id))).all()
            ords = (await conn.execute(sa.select(orders).where(orders.c.incident_id == incident_id)
                                       .order_by(orders.c.created_at))).all()
        return self._incident_json(row, [dict(e._mapping) for e in evs],
                                   [self._order_json(dict(o._mapping)) for o in ords])

    async def unit_has_order_for(self, incident_id: str, unit_id: str) -> bool:
        """Whether the unit holds or held any order (in any state) for the incident: what lets an
        officer read the incident."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(orders.c.id).where(orders.c.incident_id == incident_id,
                                                                   orders.c.unit_id == unit_id).limit(1))).first()
        return row is not None

    def _incident_json(self, row: Mapping[str, Any], events: Sequence[Mapping[str, Any]] | None = None,
                       order_list: Sequence[dict[str, Any]] | None = None) -> dict[str, Any]:
        triage = row.get("triage") or {}
        out: dict[str, Any] = {
            "id": row["id"], "number": row["number"], "source": row["source"], "status": row["status"],
            "text": row["text"], "lang": row["lang"], "category": row["category"],
            "priority": row["priority"], "level": row["level"],
            "reasons": triage.get("reasons", []), "facts": triage.get("facts", {}),
            "triage": ({"category": triage.get("category"), "priority": triage.get("priority"),
                        "level": triage.get("level")} if triage else None),
            "priority_override": row["priority_override"],
            "location": {"text": row["location_text"], "lat": row["lat"], "lon": row["lon"]},
            "report": row["report"], "merged_into": row["merged_into"], "created_by": row["created_by"],
            "created_at": iso(row["created_at"]), "updated_at": iso(row["updated_at"]),
            "dispatched_at": iso(row["dispatched_at"]), "acknowledged_at": iso(row["acknowledged_at"]),
            "en_route_at": iso(row["en_route_at"]), "on_scene_at": iso(row["on_scene_at"]),
            "closed_at": iso(row["closed_at"]),
        }
        if events is not None:
            out["history"] = [{"at": iso(e["at"]), "from": e["data"].get("from"), "to": e["data"].get("to"),
                               "actor": e["actor"], "reason": e["data"].get("reason", "")}
                              for e in events if e["kind"] == "status"]
            out["texts"] = [{"at": iso(e["at"]), "text": e["data"]["text"], "source": e["data"].get("source"),
                             "actor": e["actor"]} for e in events if e["kind"] == "text"]
            dups: dict[str, dict[str, Any]] = {}
            for e in events:
                if e["kind"] == "duplicate":
                    d = e["data"]
                    if d.get("unlinked"):  # a dispatcher said "not a duplicate": the link is gone
                        dups.pop(d["incident_id"], None)
                        continue
                    dups[d["incident_id"]] = {"incident_id": d["incident_id"], "score": d.get("score"),
                                              "evidence": d.get("evidence", []), "merged": d.get("merged", False)}
            out["duplicates"] = list(dups.values())
            out["transcripts"] = [e["data"]["transcript_id"] for e in events if e["kind"] == "transcript"]
        if order_list is not None:
            out["orders"] = list(order_list)
        return out

    async def list_incidents(self, *, status: Sequence[str] | None = None, since: dt.datetime | None = None,
                             until: dt.datetime | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Incidents newest first, optionally filtered by status and creation time."""
        for s in status or ():
            if s not in INCIDENT_TRANSITIONS:
                raise InvalidInput(f"status must be among {', '.join(INCIDENT_TRANSITIONS)}, got {s!r}",
                                   field="status")
        q = sa.select(incidents).order_by(incidents.c.created_at.desc())
        if status:
            q = q.where(incidents.c.status.in_(list(status)))
        if since:
            q = q.where(incidents.c.created_at >= since)
        if until:
            q = q.where(incidents.c.created_at < until)
        q = q.limit(min(limit or self.settings.max_list, self.settings.max_list))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(q)).all()
        return [self._incident_json(dict(r._mapping)) for r in rows]

    async def incidents_between(self, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
        """Every incident created in [start, end), oldest first (analysis and the daily brief)."""
        async with self.engine.connect() as conn:
            rows = (await conn.execute(sa.select(incidents).where(incidents.c.created_at >= start,
                                                                  incidents.c.created_at < end)
                                       .order_by(incidents.c.created_at))).all()
        return [self._incident_json(dict(r._mapping)) for r in rows]

    async def response_intervals(self, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
        """Per-incident response intervals and their p50/p90 for incidents created in [start, end)."""
        result = summarize(await self.incidents_between(start, end))
        result.update(start=iso(start), end=iso(end))
        return result

    # ---- units ---------------------------------------------------------------------------------------
    async def create_unit(self, *, callsign: str, unit_type: str, capabilities: list[str], lat: Any = None,
                          lon: Any = None, actor: str, shift_start: dt.datetime | None = None,
                          shift_end: dt.datetime | None = None, status: str = "available") -> dict[str, Any]:
        """Register a patrol unit; its order Stream and consumer group are created at once."""
        callsign = _text_field(callsign, "callsign", max_chars=64)
        if unit_type not in self.table.unit_types:
            raise InvalidInput(f"unit_type must be one of {', '.join(sorted(self.table.unit_types))}, "
                               f"got {unit_type!r}", field="unit_type")
        if not isinstance(capabilities, list) or not all(isinstance(c, str) for c in capabilities):
            raise InvalidInput("capabilities must be a list of strings", field="capabilities")
        unknown = sorted(set(capabilities) - self.table.capabilities)
        if unknown:
            raise InvalidInput(f"unknown capabilities {unknown}; known: {', '.join(sorted(self.table.capabilities))}",
                               field="capabilities")
        if status not in UNIT_STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(UNIT_STATUSES)}, got {status!r}", field="status")
        la, lo = _coords(lat, lon)
        if shift_start and shift_end and shift_end <= shift_start:
            raise InvalidInput("shift_end must be after shift_start", field="shift_end")
        now = utcnow()
        unit_id = new_id()
        row = {"id": unit_id, "callsign": callsign, "unit_type": unit_type, "capabilities": sorted(set(capabilities)),
               "status": status, "lat": la, "lon": lo, "location_at": now if la is not None else None,
               "shift_start": shift_start, "shift_end": shift_end, "created_at": now, "updated_at": now}
        async with self._tx() as conn:
            exists = (await conn.execute(sa.select(units.c.id).where(units.c.callsign == callsign))).first()
            if exists:
                raise Conflict(f"a unit with callsign {callsign!r} already exists (id {exists.id})",
                               unit_id=exists.id)
            await conn.execute(units.insert().values(**row))
            await conn.execute(unit_events.insert().values(unit_id=unit_id, at=now, from_status=None,
                                                           to_status=status, actor=actor, source="dispatcher",
                                                           note="unit created"))
            await self._audit(conn, actor, "unit.create", f"unit:{unit_id}", None,
                              {k: (iso(v) if isinstance(v, dt.datetime) else v) for k, v in row.items()})
        await self.bus.ensure_group(unit_id)
        unit = await self.get_unit(unit_id)
        await self.publish_console({"type": "unit", "action": "created", "unit": unit})
        return unit

    async def _unit_row(self, unit_id: str, conn: AsyncConnection | None = None, lock: bool = False) -> dict[str, Any]:
        return await self._row(units, "unit", "unit_id", unit_id, conn, lock)

    @staticmethod
    def _unit_json(row: Mapping[str, Any]) -> dict[str, Any]:
        return {"id": row["id"], "callsign": row["callsign"], "unit_type": row["unit_type"],
                "capabilities": list(row["capabilities"] or []), "status": row["status"],
                "location": {"lat": row["lat"], "lon": row["lon"], "at": iso(row["location_at"])},
                "shift": {"start": iso(row["shift_start"]), "end": iso(row["shift_end"])},
                "created_at": iso(row["created_at"]), "updated_at": iso(row["updated_at"])}

    async def get_unit(self, unit_id: str) -> dict[str, Any]:
        return self._unit_json(await self._unit_row(unit_id))

    async def list_units(self, *, status: str | None = None) -> list[dict[str, Any]]:
        if status is not None and status not in UNIT_STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(UNIT_STATUSES)}, got {status!r}", field="status")
        q = sa.select(units).order_by(units.c.callsign)
        if status:
            q = q.where(units.c.status == status)
        async with self.engine.connect() as conn:
            return [self._unit_json(dict(r._mapping)) for r in (await conn.execute(q)).all()]

    async def unit_history(self, unit_id: str) -> list[dict[str, Any]]:
        """Every status change of a unit, each timestamped, oldest first."""
        await self._unit_row(unit_id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(sa.select(unit_events).where(unit_events.c.unit_id == unit_id)
                                       .order_by(unit_events.c.id))).all()
        return [{"at": iso(r.at), "from": r.from_status, "to": r.to_status, "actor": r.actor, "source": r.source,
                 "note": r.note} for r in rows]

    async def _unit_status_tx(self, conn: AsyncConnection, unit_id: str, current: str, status: str, actor: str,
                              source: str, note: str, now: dt.datetime) -> None:
        check_transition("unit", UNIT_TRANSITIONS, current, status)
        await conn.execute(units.update().where(units.c.id == unit_id).values(status=status, updated_at=now))
        await conn.execute(unit_events.insert().values(unit_id=unit_id, at=now, from_status=current,
                                                       to_status=status, actor=actor, source=source, note=note))

    async def correct_unit_status(self, unit_id: str, status: str, *, actor: str, note: str) -> dict[str, Any]:
        """Undo a wrong status (e.g. a mis-heard radio "on scene"): set it without the forward-only check.

        Live changes go through :meth:`set_unit_status`; a correction moves no order or incident (a
        dispatcher adjusts those) and is recorded as its own event (source ``correction``) and audit entry.
        """
        if status not in UNIT_STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(UNIT_STATUSES)}, got {status!r}", field="status")
        note = _text_field(note, "note", max_chars=1000, required=False)
        now = utcnow()
        async with self._tx() as conn:
            unit = await self._unit_row(unit_id, conn, lock=True)
            before = unit["status"]
            await conn.execute(units.update().where(units.c.id == unit_id).values(status=status, updated_at=now))
            await conn.execute(unit_events.insert().values(unit_id=unit_id, at=now, from_status=before,
                                                           to_status=status, actor=actor, source="correction",
                                                           note=note))
            await self._audit(conn, actor, "unit.status.correct", f"unit:{unit_id}", {"status": before},
                              {"status": status, "source": "correction", "note": note})
        unit_now = await self.get_unit(unit_id)
        await self.publish_console({"type": "unit", "action": "status", "unit": unit_now})
        return unit_now

    async def set_unit_status(self, unit_id: str, status: str, *, actor: str, source: str = "officer",
                              note: str = "") -> dict[str, Any]:
        """Change a unit's status (validated, timestamped) and move its order and incident along."""
        if status not in UNIT_STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(UNIT_STATUSES)}, got {status!r}", field="status")
        note = _text_field(note, "note", max_chars=1000, required=False)
        now = utcnow()
        touched_orders: list[tuple[str, str]] = []
        incident_ids: set[str] = set()
        settled: list[dict[str, Any]] = []
        async with self._tx() as conn:
            unit = await self._unit_row(unit_id, conn, lock=True)
            before = unit["status"]
            await self._unit_status_tx(conn, unit_id, before, status, actor, source, note, now)
            open_orders = (await conn.execute(sa.select(orders).where(
                orders.c.unit_id == unit_id, orders.c.state.in_(OPEN_ORDER_STATES)))).all()
            for o in open_orders:
                incident_ids.add(o.incident_id)
                if status in ("en_route", "on_scene") and o.state == "offered":
                    # Moving to the job proves the order arrived: treat it as acknowledged.
                    await self._ack_tx(conn, o.id, actor, now, via=f"status {status}")
                    touched_orders.append((o.id, o.incident_id))
                elif status in ("available", "returning", "out_of_service"):
                    state = "completed" if o.state == "acknowledged" and before == "on_scene" else "withdrawn"
                    await conn.execute(orders.update().where(orders.c.id == o.id).values(
                        state=state, closed_at=now, close_reason=f"unit {status}"))
                    settled.append({"id": o.id, "unit_id": unit_id, "state": state})
                if status in ("en_route", "on_scene"):
                    inc = await self._incident_row(o.incident_id, conn, lock=True)
                    order_of = ("dispatched", "en_route", "on_scene")
                    if inc["status"] in order_of and order_of.index(inc["status"]) < order_of.index(status):
                        stamp = f"{status}_at"
                        vals: dict[str, Any] = {"status": status, "updated_at": now}
                        if inc.get(stamp) is None:
                            vals[stamp] = now
                        await conn.execute(incidents.update().where(incidents.c.id == inc["id"]).values(**vals))
                        await self._event(conn, inc["id"], "status", actor,
                                          {"from": inc["status"], "to": status,
                                           "reason": f"unit {unit['callsign']} {status}"}, now)
            await self._audit(conn, actor, "unit.status", f"unit:{unit_id}", {"status": before},
                              {"status": status, "source": source, "note": note})
        for oid, iid in touched_orders:
            await self._after_ack(oid, unit_id, iid)
        await self._after_settle(settled)
        self._emit("unit", unit_id, "status")
        for iid in incident_ids:
            self._emit("incident", iid)
        return await self.get_unit(unit_id)

    async def update_unit_location(self, unit_id: str, *, lat: Any, lon: Any, actor: str,
                                   at: dt.datetime | None = None) -> dict[str, Any]:
        """Record a position fix (the fix time drives the stale-location cutoff)."""
        la, lo = _coords(lat, lon)
        if la is None:
            raise InvalidInput("a location needs lat and lon", field="lat")
        when = as_utc(at) or utcnow()
        async with self._tx() as conn:
            await self._unit_row(unit_id, conn)
            await conn.execute(units.update().where(units.c.id == unit_id).values(
                lat=la, lon=lo, location_at=when, updated_at=utcnow()))
        unit = await self.get_unit(unit_id)
        await self.publish_console({"type": "unit", "action": "location", "unit": unit})
        return unit

    # ---- recommendations -------------------------------------------------------------------------------
    async def recommend(self, incident_id: str, *, exclude_tried: bool = False) -> dict[str, Any]:
        """Rank available units for the incident, with the reasons for each place."""
        inc = await self._incident_row(incident_id)
        async with self.engine.connect() as conn:
            unit_rows = [dict(r._mapping) for r in (await conn.execute(sa.select(units))).all()]
            tried = set()
            if exclude_tried:
                tried = {r.unit_id for r in (await conn.execute(
                    sa.select(orders.c.unit_id).where(orders.c.incident_id == incident_id))).all()}
        ranked, excluded = rank_units({"category": inc["category"], "lat": inc["lat"], "lon": inc["lon"]},
                                      unit_rows, self.table, now=utcnow(),
                                      stale_after_s=self.settings.stale_location_s, exclude=frozenset(tried))
        return {"incident_id": incident_id, "category": inc["category"],
                "required_capabilities": list(self.table.required(inc["category"])),
                "stale_after_s": self.settings.stale_location_s,
                "recommendations": [r.to_dict() for r in ranked], "excluded": excluded}

    # ---- orders --------------------------------------------------------------------------------------
    def _order_json(self, row: Mapping[str, Any]) -> dict[str, Any]:
        return {"id": row["id"], "incident_id": row["incident_id"], "unit_id": row["unit_id"],
                "state": row["state"], "attempt": row["attempt"], "note": row["note"],
                "created_by": row["created_by"], "created_at": iso(row["created_at"]),
                "deadline_at": iso(row["deadline_at"]), "delivered_at": iso(row["delivered_at"]),
                "acknowledged_at": iso(row["acknowledged_at"]), "closed_at": iso(row["closed_at"]),
                "close_reason": row["close_reason"]}

    async def _order_row(self, order_id: str, conn: AsyncConnection | None = None) -> dict[str, Any]:
        return await self._row(orders, "order", "order_id", order_id, conn, lock=False, label="order_id")

    async def get_order(self, order_id: str) -> dict[str, Any]:
        return self._order_json(await self._order_row(order_id))

    async def orders_for_unit(self, unit_id: str, *, open_only: bool = False) -> list[dict[str, Any]]:
        await self._unit_row(unit_id)
        q = sa.select(orders).where(orders.c.unit_id == unit_id).order_by(orders.c.created_at.desc())
        if open_only:
            q = q.where(orders.c.state.in_(OPEN_ORDER_STATES))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(q.limit(self.settings.max_list))).all()
        return [self._order_json(dict(r._mapping)) for r in rows]

    def _order_message(self, order: dict[str, Any], inc: Mapping[str, Any],
                       committed_at: dt.datetime | None = None) -> dict[str, Any]:
        """What the officer's phone gets: the order plus what they need to go (no internal scoring data).

        ``committed_at`` (live pushes only) is the instant the order became durable: taken right after
        its transaction committed, before anything is sent. ``created_at`` is taken when that
        transaction starts."""
        extra = {"committed_at": iso(committed_at)} if committed_at is not None else {}
        return {**order, **extra, "incident": {
            "id": inc["id"], "number": inc["number"], "category": inc["category"], "priority": inc["priority"],
            "level": inc["level"], "text": inc["text"][-2000:],
            "location": {"text": inc["location_text"], "lat": inc["lat"], "lon": inc["lon"]}}}

    async def dispatch(self, incident_id: str, unit_id: str, *, actor: str, note: str = "",
                       attempt: int = 1) -> dict[str, Any]:
        """Offer the incident to a unit: one order, pushed on the unit's Stream, with an ack deadline.

        Idempotent: if the unit already holds an open order for this incident, that order is returned.
        """
        note = _text_field(note, "note", max_chars=1000, required=False)
        lock_key = keys.dispatch_lock(self.prefix, incident_id, unit_id)
        holder = new_id()
        locked = False
        for _ in range(50):  # two dispatchers clicking at once on two processes: one creates, one waits
            try:
                locked = await self.bus.lock(lock_key, holder, 5000)
            except RedisError:
                # Redis is down: the order must still be given. The transaction below locks the
                # incident and unit rows and checks for an open order, which keeps it idempotent.
                log.warning("Redis unreachable: dispatching without the Redis lock")
                break
            if locked:
                break
            await asyncio.sleep(0.05)
        else:
            raise Conflict("another dispatch of this unit to this incident is in progress; try again")
        try:
            return await self._dispatch_locked(incident_id, unit_id, actor=actor, note=note, attempt=attempt)
        finally:
            if locked:
                with contextlib.suppress(RedisError):
                    await self.bus.unlock(lock_key, holder)

    async def _dispatch_locked(self, incident_id: str, unit_id: str, *, actor: str, note: str,
                               attempt: int) -> dict[str, Any]:
        heads: list[tuple[int, str]] = []
        async with self._tx(heads) as conn:
            now = utcnow()
            # The unit's status and callsign and its open order for this incident, if any, come with
            # the incident (SQLite: one statement, its single writer serialises dispatches) or with
            # the locked unit row (PostgreSQL: the incident row is locked first, by its own statement,
            # so a concurrent dispatch of this incident has committed before the unit statement and
            # its snapshot start, and its order is seen).
            open_order = (sa.select(orders.c.id).where(orders.c.incident_id == incident_id,
                                                       orders.c.unit_id == unit_id,
                                                       orders.c.state.in_(OPEN_ORDER_STATES))
                          .limit(1).scalar_subquery().label("open_order_id"))
            unit_cols = (units.c.callsign, units.c.status, open_order)
            if self._sqlite:
                found = (await conn.execute(sa.select(incidents, *(c.label(f"unit_{c.name}") for c in unit_cols))
                                            .join_from(incidents, units, sa.true())
                                            .where(incidents.c.id == incident_id, units.c.id == unit_id))).first()
                if found is None:  # say which one is missing
                    await self._incident_row(incident_id, conn)
                    await self._unit_row(unit_id, conn)
                inc = dict(found._mapping) if found is not None else {}
            else:
                inc = await self._incident_row(incident_id, conn, lock=True)
                found = (await conn.execute(sa.select(*(c.label(f"unit_{c.name}") for c in unit_cols))
                                            .where(units.c.id == unit_id).with_for_update(of=units))).first()
                if found is None:
                    raise NotFound(f"no unit with id {unit_id!r}")
                inc.update(found._mapping)
            unit = {"id": unit_id, "callsign": inc["unit_callsign"], "status": inc["unit_status"]}
            if inc["unit_open_order_id"] is not None:
                existing = await self._order_row(inc["unit_open_order_id"], conn)
                return {**self._order_json(existing), "duplicate": True}
            if inc["status"] not in OPEN_INCIDENT_STATES:
                raise Conflict(f"incident {inc['number']} is {inc['status']}; only open incidents "
                               f"({', '.join(OPEN_INCIDENT_STATES)}) can be dispatched", current=inc["status"])
            if unit["status"] not in ("available", "returning"):
                raise Conflict(f"unit {unit['callsign']} is {unit['status']}; only available or returning "
                               "units can be dispatched", current=unit["status"])
            order_id = new_id()
            deadline = now + dt.timedelta(seconds=self.settings.ack_timeout_for(inc["level"]))
            row = {"id": order_id, "incident_id": incident_id, "unit_id": unit_id, "state": "offered",
                   "attempt": attempt, "note": note, "created_by": actor, "created_at": now,
                   "deadline_at": deadline, "delivered_at": None, "acknowledged_at": None, "closed_at": None,
                   "close_reason": None}
            await conn.execute(orders.insert().values(**row))
            await self._unit_status_tx(conn, unit_id, unit["status"], "dispatched", actor, "dispatcher",
                                       f"order {order_id} for incident {inc['number']}", now)
            vals: dict[str, Any] = {"updated_at": now}
            if inc["status"] in ("new", "triaged"):
                vals["status"] = "dispatched"
                await self._event(conn, incident_id, "status", actor,
                                  {"from": inc["status"], "to": "dispatched",
                                   "reason": f"unit {unit['callsign']} dispatched"}, now)
            if inc["dispatched_at"] is None:
                vals["dispatched_at"] = now
            await conn.execute(incidents.update().where(incidents.c.id == incident_id).values(**vals))
            await self._audit(conn, actor, "order.create", f"order:{order_id}", None,
                              {"incident_id": incident_id, "unit_id": unit_id, "attempt": attempt,
                               "deadline_at": iso(deadline), "note": note})
        committed = utcnow()  # the order is durable from here: what "created" means for delivery latency
        order = self._order_json(row)
        try:
            await self.bus.push_order(unit_id, self._order_message(order, inc, committed), deadline.timestamp(),
                                      audit_head=max(heads) if heads else None)
        except RedisError:
            # Committed, so not lost: push_unpushed() sends it as soon as Redis answers again.
            log.warning("Redis unreachable: order %s is kept in the database and sent when Redis is back",
                        order_id)
            order = {**order, "queued": True}
            if heads:
                with contextlib.suppress(Exception):  # the push would have recorded it
                    await self.bus.record_audit_head(*max(heads))
        self._emit("order", order_id, "offered")
        self._emit("unit", unit_id, "status")
        self._emit("incident", incident_id)
        return order

    async def _auto_dispatch(self, incident_id: str) -> None:
        rec = await self.recommend(incident_id)
        best = next((r for r in rec["recommendations"] if not r["missing_capabilities"] and not r["stale"]), None)
        if best is None:
            await self.raise_alert("auto_dispatch_failed", "severe",
                                   "P1 incident: no available unit with the required capabilities and a fresh "
                                   "location; dispatch by hand", incident_id=incident_id)
            return
        with contextlib.suppress(Conflict):
            await self.dispatch(incident_id, best["unit_id"], actor="auto-dispatch",
                                note="automatic P1 dispatch (JINGYUN_AUTO_DISPATCH_P1)")

    async def order_message(self, order_id: str) -> dict[str, Any]:
        """The message a unit gets for an order (used when re-sending pending orders)."""
        order = await self.get_order(order_id)
        inc = await self._incident_row(order["incident_id"])
        return self._order_message(order, inc)

    async def _ack_tx(self, conn: AsyncConnection, order_id: str, actor: str, now: dt.datetime, via: str, *,
                      unit_id: str | None = None) -> dict[str, Any] | None:
        """offered -> acknowledged (the idempotency point); the order as updated, or None if it is not
        an offered order (of ``unit_id``, when given): another ack, an expiry or a withdrawal won, or
        the caller may not acknowledge it."""
        q = orders.update().where(orders.c.id == order_id, orders.c.state == "offered")
        if unit_id is not None:
            q = q.where(orders.c.unit_id == unit_id)
        updated = (await conn.execute(q.values(state="acknowledged", acknowledged_at=now,
                                               delivered_at=sa.func.coalesce(orders.c.delivered_at, now))
                                      .returning(*orders.c))).first()
        if updated is None:
            return None
        await conn.execute(incidents.update().where(incidents.c.id == updated.incident_id,
                                                    incidents.c.acknowledged_at.is_(None))
                           .values(acknowledged_at=now, updated_at=now))
        await self._audit(conn, actor, "order.acknowledge", f"order:{order_id}", {"state": "offered"},
                          {"state": "acknowledged", "via": via})
        return dict(updated._mapping)

    async def _after_ack(self, order_id: str, unit_id: str, incident_id: str,
                         audit_head: tuple[int, str] | None = None) -> None:
        with contextlib.suppress(Exception):
            await self.bus.ack_order(unit_id, order_id, audit_head=audit_head)  # XACK, deadline, head
        self._emit("order", order_id, "acknowledged")
        self._emit("incident", incident_id)

    async def acknowledge(self, order_id: str, *, unit_id: str | None, actor: str,
                          via: str = "ws") -> dict[str, Any]:
        """Acknowledge an order. ``unit_id`` is the caller's unit (officers); None for dispatch roles.

        Repeating an acknowledgement is harmless: the order is returned with ``"duplicate": true``.
        """
        if not isinstance(order_id, str) or not order_id:
            raise InvalidInput("order_id must be a non-empty string", field="order_id")
        # The normal case first, in one statement: an offered order of the caller's unit.
        heads: list[tuple[int, str]] = []
        async with self._tx(heads) as conn:
            won = await self._ack_tx(conn, order_id, actor, utcnow(), via, unit_id=unit_id)
        if won is not None:
            await self._after_ack(order_id, won["unit_id"], won["incident_id"], max(heads) if heads else None)
            return self._order_json(won)
        # Not acknowledged: say why (not found, not yours, already acknowledged, expired or withdrawn).
        order = await self._order_row(order_id)
        if unit_id is not None and order["unit_id"] != unit_id:
            raise Forbidden(f"order {order_id} is not addressed to your unit; you may only acknowledge "
                            "your own unit's orders")
        if order["state"] in ("acknowledged", "completed"):
            return {**self._order_json(order), "duplicate": True}
        if order["state"] in ("expired", "withdrawn"):
            raise Conflict(f"order {order_id} is {order['state']} ({order['close_reason'] or 'no reason'}); "
                           "it can no longer be acknowledged", current=order["state"])
        raise Conflict(f"order {order_id} could not be acknowledged (state {order['state']}); try again",
                       current=order["state"])

    async def push_unpushed(self, min_age_s: float = 2.0, limit: int = 500) -> int:
        """Push offered orders that are in the database but on no unit's Stream: committed while
        Redis was down, lost with a Redis that came back empty, or the process died between commit
        and push. Orders younger than ``min_age_s`` are left to the request still pushing them (a
        rare double push is harmless: phones de-duplicate by order id). Returns orders pushed."""
        cutoff = utcnow() - dt.timedelta(seconds=min_age_s)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(sa.select(orders).where(orders.c.state == "offered",
                                                               orders.c.created_at <= cutoff)
                                       .order_by(orders.c.created_at).limit(limit))).all()
        if not rows:
            return 0
        known = await self.bus.order_entries([r.id for r in rows])
        pushed = 0
        for row, entry in zip(rows, known, strict=True):
            if entry is not None:
                continue
            order = self._order_json(dict(row._mapping))
            inc = await self._incident_row(row.incident_id)
            deadline = as_utc(row.deadline_at) or utcnow()
            await self.bus.push_order(row.unit_id, self._order_message(order, inc), deadline.timestamp())
            pushed += 1
        if pushed:
            log.warning("pushed %d orders that were only in the database (Redis was unavailable or lost them)",
                        pushed)
        return pushed

    async def mark_delivered(self, order_ids: Sequence[str]) -> None:
        """Remember first delivery to a unit's connection (for the response-interval record)."""
        if not order_ids:
            return
        async with self._tx() as conn:
            await conn.execute(orders.update().where(orders.c.id.in_(list(order_ids)),
                                                     orders.c.delivered_at.is_(None)).values(delivered_at=utcnow()))

    async def open_order_ids(self, order_ids: Sequence[str]) -> set[str]:
        """Which of these orders are still open (offered or acknowledged)."""
        if not order_ids:
            return set()
        async with self.engine.connect() as conn:
            rows = (await conn.execute(sa.select(orders.c.id).where(orders.c.id.in_(list(order_ids)),
                                                                    orders.c.state.in_(OPEN_ORDER_STATES)))).all()
        return {r.id for r in rows}

    # ---- timers: acknowledgement deadlines -----------------------------------------------------------
    async def expire_due(self, now: dt.datetime | None = None) -> list[str]:
        """Expire orders whose deadline passed and re-offer each to the next recommended unit.

        Safe with several processes: the conditional UPDATE (offered -> expired) is the claim, so
        exactly one process acts on each order even if two ran this at once. Returns expired ids.
        """
        now = now or utcnow()
        done: list[str] = []
        for order_id in await self.bus.due_orders(now.timestamp()):
            try:
                if await self._expire_one(order_id, now):
                    done.append(order_id)
            except Exception:
                log.exception("could not escalate order %s; will retry", order_id)
                continue
        return done

    async def _expire_one(self, order_id: str, now: dt.datetime) -> bool:
        try:
            order = await self._order_row(order_id)
        except NotFound:
            await self.bus.clear_deadline(order_id)
            return False
        if order["state"] != "offered":
            await self.bus.clear_deadline(order_id)
            return False
        async with self._tx() as conn:
            result = await conn.execute(orders.update().where(orders.c.id == order_id, orders.c.state == "offered")
                                        .values(state="expired", closed_at=now,
                                                close_reason="not acknowledged before the deadline"))
            if result.rowcount != 1:
                return False
            unit = await self._unit_row(order["unit_id"], conn, lock=True)
            if unit["status"] == "dispatched":
                await self._unit_status_tx(conn, unit["id"], "dispatched", "available", "system", "system",
                                           f"order {order_id} not acknowledged in time", now)
            await self._audit(conn, "system", "order.expire", f"order:{order_id}", {"state": "offered"},
                              {"state": "expired", "deadline_at": iso(order["deadline_at"])})
        await self.bus.clear_deadline(order_id)
        with contextlib.suppress(Exception):
            await self.bus.ack_order(order["unit_id"], order_id)
            await self.bus.notify_unit(order["unit_id"], "withdrawn", order_id,
                                       reason="acknowledgement deadline passed")
        inc = await self._incident_row(order["incident_id"])
        unit = await self.get_unit(order["unit_id"])
        await self.publish_console({"type": "order", "action": "expired", "order": await self.get_order(order_id)})
        await self.publish_console({"type": "unit", "action": "status", "unit": unit})
        next_unit = None
        if order["attempt"] <= self.settings.max_reoffers and inc["status"] in OPEN_INCIDENT_STATES:
            rec = await self.recommend(order["incident_id"], exclude_tried=True)
            for cand in rec["recommendations"]:
                try:
                    await self.dispatch(order["incident_id"], cand["unit_id"], actor="system:escalation",
                                        note=f"re-offered: unit {unit['callsign']} did not acknowledge in time",
                                        attempt=order["attempt"] + 1)
                except Conflict:
                    continue
                next_unit = cand
                break
        if next_unit:
            msg = (f"unit {unit['callsign']} did not acknowledge incident {inc['number']} in time; "
                   f"re-offered to {next_unit['callsign']}")
        else:
            msg = (f"unit {unit['callsign']} did not acknowledge incident {inc['number']} in time and no other "
                   "unit could be offered it; dispatch by hand")
            await self._back_to_triaged_if_unassigned(order["incident_id"])
        await self.raise_alert("ack_timeout", "severe" if inc["level"] in ("P1", "P2") else "moderate", msg,
                               incident_id=order["incident_id"], order_id=order_id,
                               reoffered_to=next_unit["unit_id"] if next_unit else None)
        return True

    async def _back_to_triaged_if_unassigned(self, incident_id: str) -> None:
        async with self._tx() as conn:
            inc = await self._incident_row(incident_id, conn, lock=True)
            still = (await conn.execute(sa.select(orders.c.id).where(
                orders.c.incident_id == incident_id, orders.c.state.in_(OPEN_ORDER_STATES)))).first()
            if still is None and inc["status"] in ("dispatched", "en_route"):
                await conn.execute(incidents.update().where(incidents.c.id == incident_id)
                                   .values(status="triaged", updated_at=utcnow()))
                await self._event(conn, incident_id, "status", "system",
                                  {"from": inc["status"], "to": "triaged", "reason": "no unit holds the job"})
        await self.publish_console({"type": "incident", "action": "updated",
                                    "incident": await self.get_incident(incident_id)})

    # ---- alerts ----------------------------------------------------------------------------------------
    async def raise_alert(self, kind: str, severity: str, message: str, *, incident_id: str | None = None,
                          order_id: str | None = None, **extra: Any) -> dict[str, Any]:
        """Store an alert for dispatchers and push it to every console."""
        now = utcnow()
        row = {"id": new_id(), "kind": kind, "severity": severity, "incident_id": incident_id,
               "order_id": order_id, "message": message, "created_at": now}
        async with self._tx() as conn:
            await conn.execute(alerts.insert().values(**row))
            await self._audit(conn, "system", "alert.raise", f"alert:{row['id']}", None,
                              {**row, "created_at": iso(now)})
        alert = {**self._alert_json(row), **extra}
        await self.publish_console({"type": "alert", "alert": alert})
        return alert

    @staticmethod
    def _alert_json(row: Mapping[str, Any]) -> dict[str, Any]:
        return {"id": row["id"], "kind": row["kind"], "severity": row["severity"],
                "incident_id": row["incident_id"], "order_id": row["order_id"], "message": row["message"],
                "created_at": iso(row["created_at"])}

    async def list_alerts(self, *, limit: int | None = None) -> list[dict[str, Any]]:
        q = sa.select(alerts).order_by(alerts.c.created_at.desc()).limit(
            min(limit or self.settings.max_list, self.settings.max_list))
        async with self.engine.connect() as conn:
            return [self._alert_json(dict(r._mapping)) for r in (await conn.execute(q)).all()]

    async def get_alert(self, alert_id: str) -> dict[str, Any]:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(alerts).where(alerts.c.id == alert_id))).first()
        if row is None:
            raise NotFound(f"no alert with id {alert_id!r}")
        return self._alert_json(dict(row._mapping))

    # ---- snapshot for console resync -----------------------------------------------------------------
    async def snapshot(self) -> dict[str, Any]:
        """Everything a console needs to redraw: open incidents, all units, open orders, recent alerts."""
        async with self.engine.connect() as conn:
            open_orders = [self._order_json(dict(r._mapping)) for r in (await conn.execute(
                sa.select(orders).where(orders.c.state.in_(OPEN_ORDER_STATES)))).all()]
        return {"at": iso(utcnow()), "incidents": await self.list_incidents(status=OPEN_INCIDENT_STATES),
                "units": await self.list_units(), "orders": open_orders,
                "alerts": await self.list_alerts(limit=50)}
