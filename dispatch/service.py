"""DispatchService: the one object the rest of Jingyun calls for dispatch (``app[appkeys.DISPATCH]``).

A facade: it builds the shared :class:`~dispatch.context.Context` (SQL store, console events, Redis
bus, settings) once per process and hands each call to the module that holds it:

============================ ===========================================================
:mod:`dispatch.incidents`    create, add text, link transcripts, priority, status, lists
:mod:`dispatch.duplicates`   link possible duplicates of a new incident, unlink them
:mod:`dispatch.units`        register, status (moving orders and incidents), location
:mod:`dispatch.orders`       recommend, dispatch, acknowledge, settle, delivery records
:mod:`dispatch.expiry`       acknowledgement deadlines: expire, re-offer, alert
:mod:`dispatch.alerts`       alerts for dispatchers
:mod:`dispatch.model`        the decisions, pure (states, deadlines, escalation, validation)
============================ ===========================================================

SQL holds the records (the truth); Redis carries orders to units (a Stream per unit) and live
events to consoles (pub/sub). Every change is written to the hash-chained audit log in the same
transaction as the change itself. The service knows nothing of the live side (``dispatch.live.Hub``):
the Hub calls the service, never the other way round.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterable, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from cases.outcomes import OutcomeTable, load_outcomes
from dispatch import accountability, alerts, duplicates, expiry, fieldnotes, incidents, orders, units, views
from dispatch import audit as auditlog
from dispatch.bus import Bus
from dispatch.console import Console
from dispatch.context import Context, DuplicatesFn, TriageFn
from dispatch.errors import NotFound
from dispatch.model import OPEN_INCIDENT_STATES, iso, utcnow
from dispatch.recommend import CapabilityTable, load_table
from dispatch.settings import DispatchSettings
from dispatch.store import Store


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


class DispatchService:
    """The dispatch core. Public coroutines are what routes and the other sub-systems call."""

    def __init__(self, engine: AsyncEngine, redis: Redis, settings: DispatchSettings, prefix: str, *,
                 instance: str = "", executor: Executor | None = None, intel_settings: Any = None,
                 table: CapabilityTable | None = None, triage_fn: TriageFn | None = None,
                 duplicates_fn: DuplicatesFn | None = None, outcomes: OutcomeTable | None = None,
                 photos_dir: Path | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.instance = instance or f"dispatch-{uuid.uuid4().hex[:8]}"
        self.table = table or load_table(settings.capabilities_file or None)
        # A broken outcome table stops start-up with the row at fault (ValueError), like the capability table.
        self.outcomes = outcomes or load_outcomes(settings.outcomes_file or None)
        self.bus = Bus(redis, prefix)
        store = Store(engine, self.bus)
        self.ctx = Context(
            store=store, console=Console(self.bus, store, self.instance), bus=self.bus, settings=settings,
            prefix=prefix, table=self.table, executor=executor, intel_settings=intel_settings,
            triage=triage_fn if triage_fn is not None else _default_triage(),
            find_duplicates=duplicates_fn if duplicates_fn is not None else _default_duplicates(),
            outcomes=self.outcomes, photos_dir=photos_dir)

    # ---- audit log --------------------------------------------------------------------------------------
    async def audit(self, actor: str, action: str, target: str, before: Any, after: Any) -> None:
        """Append one audit entry in its own transaction (for callers outside dispatch)."""
        async with self.ctx.store.tx() as conn:
            await self.ctx.store.audit(conn, actor, action, target, before, after)

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

    # ---- console fan-out ----------------------------------------------------------------------------
    async def publish_console(self, event: dict[str, Any]) -> None:
        """Send a live event to every dispatcher console of every process (losable pub/sub)."""
        await self.ctx.console.publish(event)

    async def run_emitter(self) -> None:
        """Publish queued console events in order (started by the web layer)."""
        await self.ctx.console.run_emitter()

    async def close(self) -> None:
        """Stop console events still in flight (shutdown); the changes themselves are committed."""
        await self.ctx.console.close()

    async def snapshot(self) -> dict[str, Any]:
        """Everything a console needs to redraw: open incidents, all units, open orders, recent alerts."""
        open_orders = await orders.open_orders(self.ctx)
        return {"at": iso(utcnow()), "incidents": await self.list_incidents(status=OPEN_INCIDENT_STATES),
                "units": await self.list_units(), "orders": open_orders,
                "alerts": await self.list_alerts(limit=50)}

    # ---- incidents (dispatch.incidents, dispatch.duplicates) -------------------------------------------
    async def create_incident(self, *, text: str, source: str, actor: str, lang: str | None = None,
                              location_text: str | None = None, lat: float | None = None,
                              lon: float | None = None, report: dict[str, Any] | None = None,
                              created_at: dt.datetime | None = None) -> dict[str, Any]:
        """Store a new incident: score it, audit it, link possible duplicates, tell the consoles."""
        return await incidents.create(self.ctx, text=text, source=source, actor=actor, lang=lang,
                                      location_text=location_text, lat=lat, lon=lon, report=report,
                                      created_at=created_at)

    async def add_text(self, incident_id: str, *, text: str, source: str, actor: str) -> dict[str, Any]:
        """Append text (a later call, a radio update, a transcript) and score the whole text again."""
        return await incidents.add_text(self.ctx, incident_id, text=text, source=source, actor=actor)

    async def unit_updates(self, unit_id: str) -> list[dict[str, Any]]:
        """The current incident of each of the unit's open orders (sent to a phone as it connects)."""
        return await incidents.unit_updates(self.ctx, unit_id)

    async def link_transcript(self, incident_id: str, *, transcript_id: str, actor: str,
                              text: str | None = None) -> dict[str, Any]:
        """Link a voice transcript to an incident (and, when given, add its text)."""
        return await incidents.link_transcript(self.ctx, incident_id, transcript_id=transcript_id, actor=actor,
                                               text=text)

    async def override_priority(self, incident_id: str, *, priority: int, reason: str,
                                actor: str) -> dict[str, Any]:
        """A dispatcher sets the priority by hand; the reason is kept and later re-scoring won't undo it."""
        return await incidents.override_priority(self.ctx, incident_id, priority=priority, reason=reason,
                                                 actor=actor)

    async def set_incident_status(self, incident_id: str, status: str, *, actor: str, reason: str = "",
                                  merged_into: str | None = None, outcome_code: Any = None,
                                  outcome_note: Any = None) -> dict[str, Any]:
        """Move an incident through its states; closing or cancelling settles its open orders. Closing needs
        ``outcome_code`` (from the outcome table) and ``outcome_note``; cancelling or merging may give them."""
        return await incidents.set_status(self.ctx, incident_id, status, actor=actor, reason=reason,
                                          merged_into=merged_into, outcome_code=outcome_code,
                                          outcome_note=outcome_note)

    async def close_incident(self, incident_id: str, *, outcome_code: Any, note: Any, actor: str,
                             unit_id: str | None = None, reason: str = "") -> dict[str, Any]:
        """Close an incident with its outcome; ``unit_id`` (officers) must be a unit it was given to."""
        return await incidents.close(self.ctx, incident_id, outcome_code=outcome_code, note=note, actor=actor,
                                     unit_id=unit_id, reason=reason)

    async def confirm_level(self, incident_id: str, *, actor: str) -> dict[str, Any]:
        """A dispatcher confirms the level shown; it is recorded as the final level beside the scorer's."""
        return await incidents.confirm_priority_level(self.ctx, incident_id, actor=actor)

    def outcome_codes(self) -> list[dict[str, Any]]:
        """The outcome table: every code with its zh/en labels, group, EIDO code and whether it is retired."""
        return [o.to_dict() for o in self.outcomes]

    # ---- field notes (dispatch.fieldnotes) ----------------------------------------------------------------
    async def add_field_note(self, incident_id: str, *, text: Any, actor: str,
                             unit_id: str | None = None) -> dict[str, Any]:
        """Write a note on the incident (officers: only for an incident their unit was given to)."""
        return await fieldnotes.add(self.ctx, incident_id, text=text, actor=actor, unit_id=unit_id)

    async def field_notes(self, incident_id: str, *, unit_id: str | None = None) -> list[dict[str, Any]]:
        return await fieldnotes.list_for(self.ctx, incident_id, unit_id=unit_id)

    async def attach_field_photo(self, incident_id: str, note_id: str, chunks: AsyncIterable[bytes], *,
                                 content_type: str | None, content_length: str | None,
                                 expected_sha256: str | None, actor: str, unit_id: str | None = None) -> dict[str, Any]:
        """Stream a photo onto a note: kept whole and registered, or not kept at all."""
        return await fieldnotes.attach_photo(self.ctx, incident_id, note_id, chunks, content_type=content_type,
                                             content_length=content_length, expected_sha256=expected_sha256,
                                             actor=actor, unit_id=unit_id)

    async def field_photo(self, incident_id: str, note_id: str, *,
                          unit_id: str | None = None) -> tuple[dict[str, Any], Path]:
        """A note and the path of its kept photo (404 when it has none)."""
        if self.ctx.photos_dir is None:
            raise NotFound("this server process keeps no field photos")
        row = await fieldnotes.note_row(self.ctx, incident_id, note_id, unit_id=unit_id)
        return views.field_note_json(row), fieldnotes.photo_file(self.ctx.photos_dir, row)

    async def accountability(self, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
        """The AI accountability report for incidents created in [start, end)."""
        return await accountability.report(self.ctx, start, end)

    async def unlink_duplicate(self, incident_id: str, other_id: str, *, actor: str,
                               reason: str = "") -> dict[str, Any]:
        """A dispatcher says two incidents linked as possible duplicates are not: drop the link on both."""
        return await duplicates.unlink(self.ctx, incident_id, other_id, actor=actor, reason=reason)

    async def get_incident(self, incident_id: str) -> dict[str, Any]:
        """The incident as API JSON, with its history, texts, duplicates, transcripts and orders."""
        return await self.ctx.store.get_incident(incident_id)

    async def list_incidents(self, *, status: Sequence[str] | None = None, since: dt.datetime | None = None,
                             until: dt.datetime | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Incidents newest first, optionally filtered by status and creation time."""
        return await incidents.search(self.ctx, status=status, since=since, until=until, limit=limit)

    async def incidents_between(self, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
        """Every incident created in [start, end), oldest first (analysis and the daily brief)."""
        return await incidents.between(self.ctx, start, end)

    async def response_intervals(self, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
        """Per-incident response intervals and their p50/p90 for incidents created in [start, end)."""
        return await incidents.response_intervals(self.ctx, start, end)

    async def unit_has_order_for(self, incident_id: str, unit_id: str) -> bool:
        """Whether the unit holds or held any order for the incident (lets an officer read it)."""
        return await incidents.unit_has_order_for(self.ctx, incident_id, unit_id)

    # ---- units (dispatch.units) ----------------------------------------------------------------------------
    async def create_unit(self, *, callsign: str, unit_type: str, capabilities: list[str], lat: Any = None,
                          lon: Any = None, actor: str, shift_start: dt.datetime | None = None,
                          shift_end: dt.datetime | None = None, status: str = "available") -> dict[str, Any]:
        """Register a patrol unit; its order Stream and consumer group are created at once."""
        return await units.create(self.ctx, callsign=callsign, unit_type=unit_type, capabilities=capabilities,
                                  lat=lat, lon=lon, actor=actor, shift_start=shift_start, shift_end=shift_end,
                                  status=status)

    async def get_unit(self, unit_id: str) -> dict[str, Any]:
        return await self.ctx.store.get_unit(unit_id)

    async def list_units(self, *, status: str | None = None) -> list[dict[str, Any]]:
        return await units.search(self.ctx, status=status)

    async def unit_history(self, unit_id: str) -> list[dict[str, Any]]:
        """Every status change of a unit, each timestamped, oldest first."""
        return await units.history(self.ctx, unit_id)

    async def set_unit_status(self, unit_id: str, status: str, *, actor: str, source: str = "officer",
                              note: str = "") -> dict[str, Any]:
        """Change a unit's status (validated, timestamped) and move its order and incident along."""
        return await units.set_status(self.ctx, unit_id, status, actor=actor, source=source, note=note)

    async def correct_unit_status(self, unit_id: str, status: str, *, actor: str, note: str) -> dict[str, Any]:
        """Undo a wrong status without the forward-only check (moves no order or incident)."""
        return await units.correct_status(self.ctx, unit_id, status, actor=actor, note=note)

    async def update_unit_location(self, unit_id: str, *, lat: Any, lon: Any, actor: str,
                                   at: dt.datetime | None = None) -> dict[str, Any]:
        """Record a position fix (the fix time drives the stale-location cutoff)."""
        return await units.update_location(self.ctx, unit_id, lat=lat, lon=lon, actor=actor, at=at)

    # ---- orders (dispatch.orders, dispatch.expiry) -----------------------------------------------------------
    async def recommend(self, incident_id: str, *, exclude_tried: bool = False) -> dict[str, Any]:
        """Rank available units for the incident, with the reasons for each place."""
        return await orders.recommend(self.ctx, incident_id, exclude_tried=exclude_tried)

    async def dispatch(self, incident_id: str, unit_id: str, *, actor: str, note: str = "",
                       attempt: int = 1) -> dict[str, Any]:
        """Offer the incident to a unit (idempotent per incident and unit while the order is open)."""
        return await orders.dispatch(self.ctx, incident_id, unit_id, actor=actor, note=note, attempt=attempt)

    async def acknowledge(self, order_id: str, *, unit_id: str | None, actor: str,
                          via: str = "ws") -> dict[str, Any]:
        """Acknowledge an order (``unit_id``: the caller's unit, None for dispatch roles); repeats are
        answered with ``"duplicate": true``."""
        return await orders.acknowledge(self.ctx, order_id, unit_id=unit_id, actor=actor, via=via)

    async def get_order(self, order_id: str) -> dict[str, Any]:
        return await self.ctx.store.get_order(order_id)

    async def orders_for_unit(self, unit_id: str, *, open_only: bool = False) -> list[dict[str, Any]]:
        return await orders.for_unit(self.ctx, unit_id, open_only=open_only)

    async def order_message(self, order_id: str) -> dict[str, Any]:
        """The message a unit gets for an order (used when re-sending pending orders)."""
        return await orders.message(self.ctx, order_id)

    async def push_unpushed(self, min_age_s: float = 2.0, limit: int = 500) -> int:
        """Push offered orders that are in the database but on no unit's Stream; returns orders pushed."""
        return await orders.push_unpushed(self.ctx, min_age_s, limit)

    async def mark_delivered(self, order_ids: Sequence[str]) -> None:
        """Remember first delivery to a unit's connection (for the response-interval record)."""
        await orders.mark_delivered(self.ctx, order_ids)

    async def open_order_ids(self, order_ids: Sequence[str]) -> set[str]:
        """Which of these orders are still open (offered or acknowledged)."""
        return await orders.open_ids(self.ctx, order_ids)

    async def expire_due(self, now: dt.datetime | None = None) -> list[str]:
        """Expire orders whose deadline passed and re-offer each; returns the ids expired."""
        return await expiry.expire_due(self.ctx, now)

    # ---- alerts (dispatch.alerts) -------------------------------------------------------------------------
    async def raise_alert(self, kind: str, severity: str, message: str, *, message_zh: str | None = None,
                          incident_id: str | None = None, order_id: str | None = None,
                          **details: Any) -> dict[str, Any]:
        """Store an alert for dispatchers and push it to every console."""
        return await alerts.raise_alert(self.ctx, kind, severity, message, message_zh=message_zh,
                                        incident_id=incident_id, order_id=order_id, **details)

    async def list_alerts(self, *, limit: int | None = None) -> list[dict[str, Any]]:
        return await alerts.recent(self.ctx, limit=limit)

    async def get_alert(self, alert_id: str) -> dict[str, Any]:
        return await alerts.get(self.ctx, alert_id)
