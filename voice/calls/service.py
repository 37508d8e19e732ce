"""CallService: a caller's live transcript scored as it grows, kept with its audio, made an incident.

A ``/ws/transcribe`` stream opened with ``"kind": "call"`` gets a :class:`LiveCall`. Every final
(with its stored ``voice_transcripts`` row id) is added to the call in order and the whole
transcript so far is triaged again, so the console's call card shows the category, the facts and
the priority with its reasons changing as the caller speaks. The caller's audio is buffered (up to
``JINGYUN_CALL_MAX_AUDIO_SECONDS``) and kept as Opus when the call ends.

A dispatcher turns the call into an incident, or attaches it to an open one (duplicate suggestions
come from ``analytics.duplicates``). Either may happen while the caller is still talking: what is
said afterwards is added to the incident too, every final exactly once (see :meth:`_add_final` and
:meth:`_decide`).

Dispatch is injected (duck-typed: ``create_incident``, ``add_text``, ``link_transcript``,
``get_incident``, ``list_incidents``, ``audit``, ``publish_console``), so this module imports
neither ``web`` nor ``dispatch``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Executor
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from common.db import transaction
from common.ids import new_id
from voice.calls.model import AudioBuffer, call_json, final_entry, main_language, transcript_text
from voice.calls.settings import CallSettings
from voice.calls.tables import calls
from voice.protocol import Caller
from voice.radio.recording import encode_opus, store_recording
from voice.stream import Final

log = logging.getLogger("jingyun.calls")

LOCK_STRIPES = 64
MAX_SUGGESTIONS = 5
MIN_ROOM = 80  # an incident with less room left than this gets the transcripts linked but no more text
# A live call's row is touched this often; one untouched for LOST_AFTER_S lost its server process
# (crash, kill -9) and is ended by whichever process sweeps first (docs/voice.md).
HEARTBEAT_S = 30.0
LOST_AFTER_S = 120.0


def fit_text(text: str, limit: int, call_id: str) -> str:
    """The transcript, cut to ``limit`` characters with a pointer to the call when it is longer."""
    if len(text) <= limit:
        return text
    note = f" … (the full transcript is on call {call_id})"
    return text[:max(0, limit - len(note))].rstrip() + note


# Who may open a call stream: the telephony gateway (service) and call takers.
CALLER_ROLES = ("dispatcher", "admin", "service")


class CallError(Exception):
    """An action a dispatcher asked for cannot be done; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class LiveCall:
    """The live side of one call: audio in, finals in (handled in order, off the stream's path), end."""

    def __init__(self, service: CallService, call_id: str, buffer: AudioBuffer, language: str | None) -> None:
        self.service, self.id, self.buffer, self.language = service, call_id, buffer, language
        self.queue: asyncio.Queue[tuple[Final, int | None] | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        self.task = loop.create_task(self._run(), name=f"call-{call_id}")
        self.beat = loop.create_task(self._beat(), name=f"call-beat-{call_id}")
        self.ended = False

    def audio(self, data: bytes, encoding: str) -> None:
        """A PCM frame the stream accepted."""
        self.buffer.feed(data, encoding)

    def final(self, final: Final, transcript_id: int | None) -> None:
        """A stored final (``transcript_id`` None when storing failed: the text still counts)."""
        if final.text.strip():
            self.queue.put_nowait((final, transcript_id))

    async def _run(self) -> None:
        while True:
            item = await self.queue.get()
            if item is None:
                return
            try:
                await self.service._add_final(self.id, final_entry(*item), self.language)
            except Exception:
                log.exception("call %s: could not add utterance %s", self.id, item[0].utterance)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            try:
                await self.service.heartbeat(self.id)
            except Exception:
                log.warning("call %s: heartbeat not written", self.id, exc_info=True)

    async def end(self, reason: str) -> None:
        """The stream closed: finish the finals still queued, keep the audio, mark the call ended."""
        if self.ended:
            return
        self.ended = True
        self.beat.cancel()
        self.queue.put_nowait(None)
        with contextlib.suppress(Exception):
            await self.task
        await self.service._end(self.id, self.buffer, reason)


class CallService:
    """One per process; built by ``web.api.calls``."""

    def __init__(self, db: AsyncEngine, settings: CallSettings, *, dispatch: Any, executor: Executor | None = None,
                 opus_bitrate: int = 24000, open_states: Sequence[str] = (),
                 duplicate_limits: tuple[float, float, float] = (30.0, 500.0, 0.55), max_text_chars: int = 20000,
                 triage_fn: Callable[..., Any] | None = None, duplicates_fn: Callable[..., Any] | None = None,
                 audio_ok: Callable[[int], bool] | None = None) -> None:
        self.db = db
        self.settings = settings
        self.dispatch = dispatch
        self.executor = executor
        self.opus_bitrate = opus_bitrate
        self.open_states = tuple(open_states)
        self.duplicate_limits = duplicate_limits
        self.max_text_chars = max_text_chars  # dispatch's longest incident text (JINGYUN_MAX_INCIDENT_TEXT)
        # Whether n more bytes of audio may be kept (the server passes a free-disk-space check).
        self.audio_ok: Callable[[int], bool] = audio_ok or (lambda _n: True)
        if triage_fn is None:
            from analytics.triage import triage

            triage_fn = triage
        if duplicates_fn is None:
            from analytics.duplicates import find_duplicates

            duplicates_fn = find_duplicates
        self.triage_fn: Callable[..., Any] = triage_fn
        self.duplicates_fn: Callable[..., Any] = duplicates_fn
        self._sqlite = db.dialect.name == "sqlite"
        # One writer at a time per call in this process (SQLite has no row locks; PostgreSQL also
        # locks the row, so another process deciding the call waits too).
        self._stripes = [asyncio.Lock() for _ in range(LOCK_STRIPES)]

    # ---- helpers ---------------------------------------------------------------------------------
    async def _blocking(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, functools.partial(fn, *args, **kwargs))

    @contextlib.asynccontextmanager
    async def _locked(self, call_id: str) -> AsyncIterator[tuple[AsyncConnection, Any]]:
        """The call's row, locked, in a transaction."""
        async with self._stripes[hash(call_id) % LOCK_STRIPES], transaction(self.db) as conn:
            q = sa.select(calls).where(calls.c.id == call_id)
            if not self._sqlite:
                q = q.with_for_update()
            row = (await conn.execute(q)).first()
            if row is None:
                raise CallError(404, "not_found", f"no call with id {call_id!r}")
            yield conn, row

    async def _publish(self, action: str, call: dict[str, Any]) -> None:
        try:
            await self.dispatch.publish_console({"type": "call", "action": action, "call": call})
        except Exception:
            log.exception("could not publish a call event")

    async def get(self, call_id: str) -> dict[str, Any] | None:
        async with self.db.connect() as conn:
            row = (await conn.execute(sa.select(calls).where(calls.c.id == call_id))).first()
        return call_json(row) if row else None

    async def require(self, call_id: str) -> dict[str, Any]:
        found = await self.get(call_id)
        if found is None:
            raise CallError(404, "not_found", f"no call with id {call_id!r}")
        return found

    async def list_calls(self, *, state: str | None = None, since: dt.datetime | None = None,
                         incident_id: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Live calls first, then the most recent; optionally those that made or joined an incident."""
        q = sa.select(calls)
        if incident_id:
            q = q.where(calls.c.incident_id == incident_id)
        if state == "live":
            q = q.where(calls.c.live.is_(True))
        elif state:
            q = q.where(calls.c.state == state)
        if since:
            q = q.where(calls.c.started_at >= since)
        q = q.order_by(sa.desc(calls.c.live), sa.desc(calls.c.started_at)).limit(limit)
        async with self.db.connect() as conn:
            return [call_json(r) for r in (await conn.execute(q)).all()]

    # ---- the live call ---------------------------------------------------------------------------------
    async def open_for_stream(self, cfg: Any, meta: Any, *, role: str, subject: str) -> LiveCall:
        """Start the call record of a ``"kind": "call"`` stream (``cfg``: its ClientConfig, ``meta``: its
        StreamMeta), opened by a token of ``role``.

        Raises ``ProtocolError`` (bad_config) when the stream may not be a call: an interviewer's stream
        is confidential interview speech and never reaches the consoles. The connection tells the client.
        """
        from voice import protocol as proto
        from voice.connections.deps import INTERVIEW_SOURCE

        if role not in CALLER_ROLES:
            raise proto.ProtocolError(proto.BAD_CONFIG, "\"kind\": \"call\" needs a dispatcher, admin or service "
                                      f"token; this one is {role}")
        if meta.source == INTERVIEW_SOURCE:  # says it is interview speech: private, never on a console
            raise proto.ProtocolError(proto.BAD_CONFIG, "a call cannot have \"source\": \"interview\" (interview "
                                      "speech is confidential to the interview record); leave source out or name "
                                      "the telephony gateway")
        return await self.start(stream_id=meta.stream_id, caller=cfg.caller, language=cfg.language,
                                opened_by=subject, sample_rate=cfg.sample_rate)

    async def start(self, *, stream_id: str, caller: Caller | None, language: str | None, opened_by: str,
                    sample_rate: int) -> LiveCall:
        """File a new live call and tell the consoles."""
        call_id = new_id()
        now = _now()
        c = caller or Caller()
        async with transaction(self.db) as conn:
            await conn.execute(calls.insert().values(
                id=call_id, stream_id=stream_id, caller_number=c.number, caller_location=c.location,
                caller_lat=c.lat, caller_lon=c.lon, language=language, state="live", live=True,
                opened_by=opened_by, started_at=now, finals=[], updated_at=now))
        await self._publish("started", await self.require(call_id))
        return LiveCall(self, call_id, AudioBuffer(sample_rate, self.settings.max_audio_seconds), language)

    async def _triage(self, text: str, lang: str | None) -> dict[str, Any] | None:
        try:
            scored = await self._blocking(self.triage_fn, text, lang=lang, source="call")
            return scored.to_dict() if hasattr(scored, "to_dict") else dict(scored)
        except Exception:
            log.exception("triage failed on a call transcript; the card shows the text unscored")
            return None

    async def _add_final(self, call_id: str, entry: dict[str, Any], requested: str | None) -> None:
        """Add one final in order, score the whole transcript again, and follow a decided call.

        Exactly once into the incident: a final added before a dispatcher's decision is in the
        text the decision used; one added while the decision is being made (state decided, no
        incident id yet) is linked by the decision itself once the incident exists
        (:meth:`_decide`); one added after is linked here.
        """
        async with self._locked(call_id) as (conn, row):
            finals = [f for f in (row.finals or []) if f["utterance"] != entry["utterance"]] + [entry]
            finals.sort(key=lambda f: f["utterance"])
            await conn.execute(calls.update().where(calls.c.id == call_id).values(finals=finals, updated_at=_now()))
            incident_id = row.incident_id
        scored = await self._triage(transcript_text(finals), main_language(finals, requested))
        if scored is not None:
            async with transaction(self.db) as conn:
                await conn.execute(calls.update().where(calls.c.id == call_id).values(
                    triage=scored, category=scored.get("category"), priority=scored.get("priority"),
                    level=scored.get("level"), updated_at=_now()))
        if incident_id:
            await self._follow(incident_id, entry, actor=f"call:{call_id}")
        await self._publish("updated", await self.require(call_id))

    async def _follow(self, incident_id: str, entry: dict[str, Any], actor: str) -> None:
        """A final said after the call was decided: link it to the incident, its text added."""
        try:
            if entry.get("transcript_id"):
                await self.dispatch.link_transcript(incident_id, transcript_id=entry["transcript_id"], actor=actor,
                                                    text=entry["text"])
            else:
                await self.dispatch.add_text(incident_id, text=entry["text"], source="call", actor=actor)
        except Exception as exc:
            # A closed incident takes no more text; the call card still has it.
            log.warning("call text not added to incident %s: %s", incident_id, getattr(exc, "message", exc))

    async def _end(self, call_id: str, buffer: AudioBuffer, reason: str) -> None:
        """Keep the audio (Opus) and mark the call ended; a decided call keeps its state."""
        rec_id, note = None, None
        max_s = self.settings.max_audio_seconds
        try:
            if max_s <= 0:
                note = "call audio is not kept on this server (JINGYUN_CALL_MAX_AUDIO_SECONDS=0)"
            elif buffer.kept:
                encoded = await self._blocking(encode_opus, buffer.samples(), buffer.sample_rate, self.opus_bitrate)
                if self.audio_ok(len(encoded.data)):
                    rec_id = await store_recording(self.db, kind="call", owner_id=call_id, encoded=encoded,
                                                   retention_days=self.settings.audio_retention_days)
                else:
                    note = "the disk is nearly full (JINGYUN_AUDIO_MIN_FREE_MB): the call audio was not kept"
            if rec_id and buffer.truncated:
                note = (f"only the first {max_s:g} s of {buffer.received_seconds:g} s were kept "
                        "(JINGYUN_CALL_MAX_AUDIO_SECONDS)")
        except Exception:
            log.exception("could not keep the audio of call %s", call_id)
            note = "the call audio could not be stored (see the server log)"
        finally:
            buffer.clear()
        async with transaction(self.db) as conn:
            await conn.execute(calls.update().where(calls.c.id == call_id).values(
                live=False, state=sa.case((calls.c.state == "live", "ended"), else_=calls.c.state),
                ended_at=_now(), end_reason=reason[:200], recording_id=rec_id,
                audio_seconds=buffer.received_seconds, audio_kept_seconds=buffer.kept_seconds if rec_id else 0.0,
                audio_note=note, updated_at=_now()))
        await self._publish("ended", await self.require(call_id))

    async def heartbeat(self, call_id: str) -> None:
        """The call is still held by this process (see LOST_AFTER_S)."""
        async with transaction(self.db) as conn:
            await conn.execute(calls.update().where(calls.c.id == call_id, calls.c.live.is_(True))
                               .values(updated_at=_now()))

    async def end_lost(self, older_than_s: float = LOST_AFTER_S) -> list[str]:
        """End the live calls no process has touched for ``older_than_s``: their stream is gone.

        Safe from any number of processes at once (a conditional update: one of them ends each).
        """
        cutoff = _now() - dt.timedelta(seconds=older_than_s)
        async with self.db.connect() as conn:
            ids = (await conn.execute(sa.select(calls.c.id).where(calls.c.live.is_(True),
                                                                  calls.c.updated_at < cutoff))).scalars().all()
        ended = []
        for call_id in ids:
            async with transaction(self.db) as conn:
                res = await conn.execute(calls.update().where(
                    calls.c.id == call_id, calls.c.live.is_(True), calls.c.updated_at < cutoff).values(
                    live=False, state=sa.case((calls.c.state == "live", "ended"), else_=calls.c.state),
                    ended_at=_now(), end_reason="lost: the server process holding the call stopped",
                    audio_note="the call audio was lost with the server process holding the call",
                    updated_at=_now()))
            if res.rowcount == 1:
                ended.append(call_id)
                await self._publish("ended", await self.require(call_id))
        return ended

    # ---- a dispatcher decides ------------------------------------------------------------------------------
    async def create_incident(self, call_id: str, *, actor: str) -> dict[str, Any]:
        """Make the call an incident: the transcript is its text, every final's transcript linked."""
        return await self._decide(call_id, "incident", actor, None)

    async def attach(self, call_id: str, incident_id: str, *, actor: str) -> dict[str, Any]:
        """Add the call to an open incident (a second caller about the same event)."""
        if not isinstance(incident_id, str) or not incident_id:
            raise CallError(400, "bad_request", "incident_id must be the id of an open incident")
        return await self._decide(call_id, "attached", actor, incident_id)

    async def _decide(self, call_id: str, state: str, actor: str, target: str | None) -> dict[str, Any]:
        if target is not None:
            await self.dispatch.get_incident(target)  # NotFound (404) for an unknown incident
        async with self._locked(call_id) as (conn, row):
            if row.state in ("incident", "attached"):
                done = "made an incident" if row.state == "incident" else "attached to an incident"
                raise CallError(409, "conflict", f"this call was already {done} by {row.decided_by}",
                                state=row.state, incident_id=row.incident_id)
            snapshot = sorted(row.finals or [], key=lambda f: f["utterance"])
            text = transcript_text(snapshot)
            if not text:
                raise CallError(409, "empty", "nothing the caller said has been transcribed yet; wait for the "
                                "first line of the transcript")
            await conn.execute(calls.update().where(calls.c.id == call_id).values(
                state=state, decided_by=actor, decided_at=_now(), updated_at=_now()))
        lang = main_language(snapshot, row.language)
        try:
            if target is None:
                incident = await self.dispatch.create_incident(
                    text=fit_text(text, self.max_text_chars, call_id), source="call", actor=actor, lang=lang,
                    location_text=row.caller_location,
                    lat=row.caller_lat, lon=row.caller_lon,
                    report={"call": {"id": call_id, "stream_id": row.stream_id, "caller_number": row.caller_number,
                                     "audio_url": f"/api/calls/{call_id}/audio"}})
            else:
                # The incident's text has a limit too: what does not fit stays on the call (and in the
                # linked transcripts), the incident says where.
                current = await self.dispatch.get_incident(target)
                room = self.max_text_chars - len(current["text"]) - 1
                incident = (await self.dispatch.add_text(target, text=fit_text(text, room, call_id), source="call",
                                                         actor=actor) if room >= MIN_ROOM else current)
        except Exception:
            async with transaction(self.db) as conn:  # undecided again: the dispatcher may retry
                await conn.execute(calls.update().where(calls.c.id == call_id).values(
                    state=sa.case((calls.c.live.is_(True), "live"), else_="ended"), decided_by=None,
                    decided_at=None, updated_at=_now()))
            raise
        incident_id = str(incident["id"])
        try:
            for f in snapshot:
                if f.get("transcript_id"):
                    await self.dispatch.link_transcript(incident_id, transcript_id=f["transcript_id"], actor=actor)
        finally:
            # The incident exists: the call records it whatever happens to the links (never decided
            # without saying which incident).
            async with self._locked(call_id) as (conn, row):
                await conn.execute(calls.update().where(calls.c.id == call_id).values(incident_id=incident_id,
                                                                                      updated_at=_now()))
                late = [f for f in row.finals or [] if f["utterance"] not in {s["utterance"] for s in snapshot}]
        for f in sorted(late, key=lambda x: x["utterance"]):
            await self._follow(incident_id, f, actor=actor)
        await self.dispatch.audit(actor, f"call.{'incident' if target is None else 'attach'}", f"call:{call_id}",
                                  {"state": "live" if row.live else "ended"},
                                  {"state": state, "incident_id": incident_id,
                                   "transcripts": [f["transcript_id"] for f in snapshot if f.get("transcript_id")]})
        call = await self.require(call_id)
        await self._publish(state, call)
        return {"call": call, "incident": await self.dispatch.get_incident(incident_id)}

    async def duplicates(self, call_id: str) -> list[dict[str, Any]]:
        """Open incidents this call may be about, best first, with the evidence (analytics.duplicates)."""
        call = await self.require(call_id)
        if not call["transcript"]:
            return []
        lat, lon = call["caller"]["lat"], call["caller"]["lon"]
        loc = (call["facts"] or {}).get("location") or {}
        if lat is None and isinstance(loc.get("lat"), int | float) and isinstance(loc.get("lon"), int | float):
            lat, lon = loc["lat"], loc["lon"]
        incidents = await self.dispatch.list_incidents(status=self.open_states)
        others = [{"id": i["id"], "text": i["text"], "category": i["category"], "lat": i["location"]["lat"],
                   "lon": i["location"]["lon"], "created_at": i["created_at"]}
                  for i in incidents if i["id"] != call["incident_id"]]
        if not others:
            return []
        max_minutes, max_meters, min_similarity = self.duplicate_limits
        candidate = {"id": f"call:{call_id}", "text": call["transcript"], "category": call["category"],
                     "lat": lat, "lon": lon, "created_at": call["started_at"]}
        matches = await self._blocking(self.duplicates_fn, candidate, others, max_minutes=max_minutes,
                                       max_meters=max_meters, min_similarity=min_similarity)
        by_id = {i["id"]: i for i in incidents}
        return [{"incident_id": m.incident_id, "score": m.score, "evidence": list(m.evidence),
                 "number": by_id[m.incident_id]["number"], "text": by_id[m.incident_id]["text"],
                 "category": by_id[m.incident_id]["category"], "level": by_id[m.incident_id]["level"],
                 "priority": by_id[m.incident_id]["priority"], "status": by_id[m.incident_id]["status"],
                 "created_at": by_id[m.incident_id]["created_at"]}
                for m in list(matches)[:MAX_SUGGESTIONS]]


__all__ = ["CallError", "CallService", "LiveCall"]
