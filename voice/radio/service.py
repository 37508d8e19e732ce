"""RadioService: a transmission in, a filed transcript, a unit status and a suggested incident out.

For each transmission (gateway push-to-talk, VAD segment or recorder upload) it keeps the raw
audio (Opus), decodes the trimmed audio as one utterance through the shared engine in channel
priority order, files the transcript on its channel, and then acts on what was said:

* a status phrase from an identified unit ("on scene", "10-8", "到达现场") changes that unit's
  status through dispatch, shown to dispatchers as *from radio* with the transcript, undoable;
* a transmission that describes an incident (the intelligence scorer finds a category) becomes a
  *suggested* incident that a dispatcher accepts or dismisses; nothing is created unasked.

Dispatch is injected (duck-typed: ``get_unit``, ``list_units``, ``set_unit_status``,
``create_incident``, ``audit``, ``publish_console``), so this module does not import ``web``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from analytics.status_phrases import match_status
from common.db import transaction
from common.ids import new_id
from common.times import iso, parse_iso
from voice.audio import TARGET_RATE, StreamResampler, decode_file
from voice.engine import AsrResult, DecodeOptions, decode_spans, pause_cuts, transcribe_audio
from voice.radio.channels import Channel, ChannelStore
from voice.radio.ptt import Transmission
from voice.radio.recording import encode_opus, recording_bytes, store_recording
from voice.radio.scheduler import PriorityGate, Shed
from voice.radio.settings import RadioSettings
from voice.radio.tables import channels as channel_table
from voice.radio.tables import status_updates, suggestions, transmissions, unit_aliases

log = logging.getLogger("jingyun.radio")

SINGLE_CALL_SECONDS = 28.0  # Whisper sees 30 s; longer transmissions are cut at pauses
DEFERRED_PRIORITY = -100  # a channel over the stream limit decodes after every admitted channel
STALE_CLAIM = dt.timedelta(minutes=10)  # a catch-up claim this old belongs to a process that died
BUSY_REASON = "not transcribed (busy)"


class RadioError(Exception):
    """An action a dispatcher asked for cannot be done; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


def to_16k(audio: np.ndarray, rate: int) -> np.ndarray:
    """Whole-buffer resampling to the model's 16 kHz (a fresh filter per transmission)."""
    if rate == TARGET_RATE:
        return audio.astype(np.float32, copy=False)
    rs = StreamResampler(rate, TARGET_RATE)
    return np.concatenate([rs.process(audio), rs.flush()]).astype(np.float32)


def _parse_iso(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_iso(value)
    except ValueError:
        return None


def _squash(text: str) -> str:
    from analytics.status_phrases import normalize

    return "".join(ch for ch in normalize(text) if ch.isalnum())


def phrase_confidence(evidence: str, words: list[dict[str, Any]], fallback: float | None) -> float | None:
    """Mean probability of the words that spell ``evidence``; the transcript's confidence if not found."""
    target = _squash(evidence)
    pieces = [(_squash(str(w.get("word", ""))), float(w.get("probability", 0.0))) for w in words]
    joined, owners = "", []
    for i, (text, _p) in enumerate(pieces):
        joined += text
        owners += [i] * len(text)
    at = joined.find(target) if target else -1
    if at < 0:
        return fallback
    covered = sorted(set(owners[at:at + len(target)]))
    return sum(pieces[i][1] for i in covered) / len(covered)


def transmission_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "channel_id": row.channel_id, "system": row.system, "talkgroup": row.talkgroup,
            "unit_label": row.unit_label, "unit_id": row.unit_id, "trigger": row.trigger,
            "start_utc": iso(row.start_utc), "end_utc": iso(row.end_utc), "seconds": row.seconds,
            "tail_ms": row.tail_ms, "state": row.state, "reason": row.reason, "text": row.text,
            "language": row.language, "confidence": row.confidence, "words": row.words or [],
            "recording_id": row.recording_id, "meta": row.meta or {}, "created_at": iso(row.created_at),
            "late": bool(row.late)}


def status_update_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "transmission_id": row.transmission_id, "unit_id": row.unit_id,
            "from": row.from_status, "to": row.to_status, "phrase": row.phrase, "evidence": row.evidence,
            "confidence": row.confidence, "state": row.state, "reason": row.reason, "source": "radio",
            "created_at": iso(row.created_at), "undone_at": iso(row.undone_at), "undone_by": row.undone_by}


def suggestion_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "transmission_id": row.transmission_id, "channel_id": row.channel_id, "text": row.text,
            "language": row.language, "category": row.category, "priority": row.priority, "level": row.level,
            "triage": row.triage, "state": row.state, "incident_id": row.incident_id,
            "decided_by": row.decided_by, "decided_at": iso(row.decided_at), "reason": row.reason,
            "created_at": iso(row.created_at)}


@dataclass
class Outcome:
    transmission: dict[str, Any]
    duplicate: bool = False
    status_update: dict[str, Any] | None = None
    suggestion: dict[str, Any] | None = None
    waited: float = 0.0  # seconds it waited for the speech engine (in the priority gate)
    shed: Shed | None = None  # set when it was shed: kept as busy, transcribed later

    def to_dict(self) -> dict[str, Any]:
        return {"transmission": self.transmission, "duplicate": self.duplicate,
                "status_update": self.status_update, "suggestion": self.suggestion}


class RadioService:
    """One per process; built by ``web.api.radio``."""

    def __init__(self, db: AsyncEngine, settings: RadioSettings, *, engine_fn: Callable[[], Any],
                 dispatch: Any, executor: Executor | None = None,
                 triage_fn: Callable[..., Any] | None = None,
                 audio_ok: Callable[[int], bool] | None = None,
                 on_outcome: Callable[[str], None] | None = None) -> None:
        self.db = db
        self.settings = settings
        self.channels = ChannelStore(db)
        self.engine_fn = engine_fn  # returns the ASR engine or raises (503) when there is none
        self.dispatch = dispatch
        self.executor = executor
        self.gate = PriorityGate(settings.decode_concurrency, max_waiting=settings.max_waiting,
                                 max_wait_s=settings.max_wait_seconds)
        # Whether n more bytes of audio may be kept (the server passes a free-disk-space check).
        self.audio_ok: Callable[[int], bool] = audio_ok or (lambda _n: True)
        # How each transmission ended (transcribed, dropped, failed, busy, late): the server counts them.
        self.on_outcome: Callable[[str], None] = on_outcome or (lambda _state: None)
        if triage_fn is None:
            from analytics.triage import triage

            triage_fn = triage
        self.triage_fn: Callable[..., Any] = triage_fn

    async def _blocking(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, functools.partial(fn, *args))

    # ---- units ------------------------------------------------------------------------------
    async def resolve_unit(self, label: str | None) -> str | None:
        """The dispatch unit a radio names itself as: alias (radio id), unit id, or callsign."""
        if not label:
            return None
        async with self.db.connect() as conn:
            alias = (await conn.execute(sa.select(unit_aliases.c.unit_id)
                                        .where(unit_aliases.c.radio_id == label))).scalar()
        if alias:
            return str(alias)
        try:
            unit = await self.dispatch.get_unit(label)
            return str(unit["id"])
        except Exception as exc:
            if not hasattr(exc, "message"):
                log.exception("unit lookup failed for %r", label)
        wanted = label.casefold()
        for unit in await self.dispatch.list_units():
            if str(unit.get("callsign", "")).casefold() == wanted:
                return str(unit["id"])
        return None

    async def set_alias(self, radio_id: str, unit_id: str) -> None:
        await self.dispatch.get_unit(unit_id)  # raises NotFound for an unknown unit
        now = dt.datetime.now(dt.UTC)
        async with transaction(self.db) as conn:
            await conn.execute(unit_aliases.delete().where(unit_aliases.c.radio_id == radio_id))
            await conn.execute(unit_aliases.insert().values(radio_id=radio_id, unit_id=unit_id, created_at=now))

    # ---- transmissions ----------------------------------------------------------------------------
    async def existing_upload(self, upload_key: str) -> dict[str, Any] | None:
        async with self.db.connect() as conn:
            row = (await conn.execute(sa.select(transmissions).where(transmissions.c.upload_key == upload_key))).first()
        return transmission_json(row) if row else None

    async def get_transmission(self, tx_id: str) -> dict[str, Any] | None:
        return await self._one(transmissions, tx_id, transmission_json)

    async def list_transmissions(self, *, channel: str | None = None, unit_id: str | None = None,
                                 since: dt.datetime | None = None, limit: int = 100) -> list[dict[str, Any]]:
        q = sa.select(transmissions)
        if channel:
            q = q.where(transmissions.c.channel_id == channel)
        if unit_id:
            q = q.where(transmissions.c.unit_id == unit_id)
        if since:
            q = q.where(transmissions.c.start_utc >= since)
        q = q.order_by(sa.desc(transmissions.c.start_utc), sa.desc(transmissions.c.created_at)).limit(limit)
        async with self.db.connect() as conn:
            rows = (await conn.execute(q)).all()
        return [transmission_json(r) for r in rows]

    async def process(self, channel: Channel, tx: Transmission, *, system: str | None = None,
                      talkgroup: str | None = None, upload_key: str | None = None,
                      meta: dict[str, Any] | None = None, turn: Awaitable[Any] | None = None,
                      deferred: bool = False) -> Outcome:
        """File, keep, decode and act on one transmission. Idempotent on ``upload_key``.

        Transmissions of one channel are decoded concurrently (the engine batches them) but must be
        acted on in the order they were spoken: "on scene" then "10-8" must not land as "10-8" then
        "on scene". ``turn`` is awaited before acting; the caller resolves it when the previous
        transmission is done.

        Under load the priority gate may shed it (its audio is kept): it is filed ``busy`` and
        transcribed later by :meth:`catch_up_once`. ``deferred``: its channel is over the stream
        limit, so it decodes after every admitted channel.
        """
        if upload_key:
            existing = await self.existing_upload(upload_key)
            if existing:
                return Outcome(existing, duplicate=True)
        tx_id = new_id()
        unit_id = await self.resolve_unit(tx.unit)
        now = dt.datetime.now(dt.UTC)
        row = {"id": tx_id, "channel_id": channel.id, "system": system or channel.system,
               "talkgroup": talkgroup or channel.talkgroup, "unit_label": tx.unit, "unit_id": unit_id,
               "trigger": tx.trigger, "start_utc": tx.start_utc, "end_utc": tx.end_utc,
               "seconds": round(tx.raw.size / tx.sample_rate, 3), "tail_ms": tx.tail_ms, "state": "pending",
               "upload_key": upload_key, "meta": {**(meta or {}), "truncated": tx.truncated, "stream_start": tx.start,
                                            "stream_end": tx.end}, "created_at": now}
        try:
            async with transaction(self.db) as conn:
                await conn.execute(transmissions.insert().values(**row))
        except sa.exc.IntegrityError:
            if upload_key:
                existing = await self.existing_upload(upload_key)
                if existing:
                    return Outcome(existing, duplicate=True)
            raise
        # Evidence first: the raw transmission, squelch tail included, is kept whatever the model says.
        kept = False
        try:
            encoded = await self._blocking(encode_opus, tx.raw, tx.sample_rate, self.settings.opus_bitrate)
            if self.audio_ok(len(encoded.data)):
                rec_id = await store_recording(self.db, kind="radio", owner_id=tx_id, encoded=encoded,
                                               retention_days=self.settings.radio_retention_days)
                await self._update(tx_id, recording_id=rec_id)
                kept = True
            else:  # the disk is nearly full: the text still goes to dispatch, the audio is not kept
                log.warning("disk nearly full: the audio of transmission %s is not kept", tx_id)
        except Exception:
            log.exception("could not keep the audio of transmission %s", tx_id)
        audio16 = await self._blocking(to_16k, tx.audio, tx.sample_rate)
        priority = channel.priority + (DEFERRED_PRIORITY if deferred else 0)
        try:
            # Only a transmission whose audio is kept may be shed: it can be transcribed later.
            result = await self.gate.run(priority, functools.partial(self._decode, audio16, channel),
                                         label=(channel.id, tx_id), sheddable=kept)
        except Shed as shed:
            await self._update(tx_id, state="busy", reason=f"{BUSY_REASON}: {shed.reason}; queued for "
                                                            "transcription when the engine is idle")
            self.on_outcome("busy")
            if turn is not None:
                await turn
            out = Outcome(await self._tx(tx_id), waited=shed.waited, shed=shed)
            await self._publish({"type": "radio", "action": "transmission", "transmission": out.transmission})
            return out
        except Exception as exc:
            message = getattr(exc, "message", None) or f"{exc.__class__.__name__}: {exc}"
            await self._update(tx_id, state="failed", reason=f"decoding failed: {message}")
            self.on_outcome("failed")
            if turn is not None:
                await turn
            log.exception("decoding failed for transmission %s", tx_id) if not hasattr(exc, "message") else None
            out = Outcome(await self._tx(tx_id))
            await self._publish({"type": "radio", "action": "transmission", "transmission": out.transmission})
            return out
        waited = self.gate.last_wait
        await self._file_result(tx_id, result)
        if turn is not None:
            await turn
        out = Outcome(await self._tx(tx_id), waited=waited)
        await self._act(out, channel)
        return out

    async def _file_result(self, tx_id: str, result: AsrResult, **extra: Any) -> None:
        if result.text:
            await self._update(tx_id, state="transcribed", text=result.text, language=result.language,
                               confidence=round(result.confidence, 4),
                               words=[{"word": w.word, "start": w.start, "end": w.end, "probability": w.probability}
                                      for w in result.words], **extra)
        else:
            await self._update(tx_id, state="dropped", reason=result.dropped or "no words",
                               language=result.language, **extra)
        self.on_outcome("late" if extra.get("late") else "transcribed" if result.text else "dropped")

    async def _act(self, out: Outcome, channel: Channel) -> None:
        """Publish the filed transmission, then what it says: a unit status or a suggested incident."""
        await self._publish({"type": "radio", "action": "transmission", "transmission": out.transmission})
        if out.transmission["state"] != "transcribed":
            return
        if out.transmission["unit_id"] and self.settings.status_from_radio:
            out.status_update = await self._status_from_text(out.transmission, channel)
        if self.settings.suggest_incidents and out.status_update is None:
            out.suggestion = await self._suggest(out.transmission, channel)

    # ---- catching up on shed transmissions ------------------------------------------------------------
    async def catch_up_once(self) -> Outcome | None:
        """Transcribe one shed (``busy``) transmission, most urgent channel first, if the engine is idle.

        Safe with several processes: a transmission is claimed by a conditional update, and a claim
        left by a process that died is given back after STALE_CLAIM. Returns what was done, or None."""
        try:
            engine = self.engine_fn()
        except Exception:
            return None  # no engine (loading, failed): nothing can be transcribed now
        if not (self.gate.idle and getattr(engine, "idle", True)):
            return None
        now = dt.datetime.now(dt.UTC)
        async with transaction(self.db) as conn:
            await conn.execute(transmissions.update().where(transmissions.c.state == "catching_up",
                                                            transmissions.c.claimed_at < now - STALE_CLAIM)
                               .values(state="busy", claimed_at=None))
        q = (sa.select(transmissions.c.id, transmissions.c.channel_id)
             .select_from(transmissions.outerjoin(channel_table, channel_table.c.id == transmissions.c.channel_id))
             .where(transmissions.c.state == "busy")
             .order_by(sa.desc(sa.func.coalesce(channel_table.c.priority, 0)), transmissions.c.created_at).limit(1))
        async with self.db.connect() as conn:
            pick = (await conn.execute(q)).first()
        if pick is None:
            return None
        async with transaction(self.db) as conn:
            claimed = await conn.execute(transmissions.update().where(transmissions.c.id == pick.id,
                                                                      transmissions.c.state == "busy")
                                         .values(state="catching_up", claimed_at=now))
        if claimed.rowcount != 1:
            return None  # another process took it
        tx = await self._tx(pick.id)
        channel = await self.channels.get(tx["channel_id"]) or Channel(tx["channel_id"], tx["channel_id"])
        try:
            found = await recording_bytes(self.db, tx["recording_id"]) if tx["recording_id"] else None
            if found is None or found[1] is None:
                raise RadioError(410, "gone", "its audio is no longer kept")
            audio = await self._blocking(decode_file, found[1], self.settings.max_transmission_seconds + 5)
            keep = max(0, audio.size - int(tx["tail_ms"] * TARGET_RATE / 1000))  # the squelch tail again
            result = await self._decode(audio[:keep], channel)
        except Exception as exc:
            message = getattr(exc, "message", None) or f"{exc.__class__.__name__}: {exc}"
            log.warning("catching up transmission %s failed: %s", tx["id"], message)
            await self._update(tx["id"], state="failed", claimed_at=None,
                               reason=f"{BUSY_REASON}, then transcribing it later failed: {message}")
            self.on_outcome("failed")
            out = Outcome(await self._tx(tx["id"]))
            await self._publish({"type": "radio", "action": "transmission", "transmission": out.transmission})
            return out
        await self._file_result(tx["id"], result, late=True, claimed_at=None)
        out = Outcome(await self._tx(tx["id"]))
        await self._act(out, channel)
        return out


    async def _decode(self, audio: np.ndarray, channel: Channel) -> AsrResult:
        engine = self.engine_fn()
        language, _note = engine.resolve_language(channel.language)
        opts = DecodeOptions(language=language, hotwords=channel.hotwords or None, final=True,
                             priority=channel.priority)
        if audio.size <= SINGLE_CALL_SECONDS * TARGET_RATE:
            pieces = pause_cuts(audio, self.settings.split_seconds)
            if len(pieces) == 1:
                result: AsrResult = await engine.transcribe(audio, opts)
                return result
            decoded = await decode_spans(engine, audio, pieces, opts)
            parts = [p for p in decoded if p[2].text]
            if not parts:
                return decoded[0][2]  # every piece heard no speech: the first says why
        else:
            parts = await transcribe_audio(engine, audio, opts)
        if not parts:
            return AsrResult(text="", dropped="no speech in the transmission")
        sep = "" if (parts[0][2].language or "") in ("zh", "yue", "ja") else " "
        words = [w.__class__(w.word, round(s + w.start, 3), round(s + w.end, 3), w.probability)
                 for s, _e, r in parts for w in r.words]
        return AsrResult(text=sep.join(r.text for _, _, r in parts), language=parts[0][2].language,
                         words=words, confidence=float(np.mean([r.confidence for _, _, r in parts])))

    async def _update(self, tx_id: str, **values: Any) -> None:
        async with transaction(self.db) as conn:
            await conn.execute(transmissions.update().where(transmissions.c.id == tx_id).values(**values))

    async def _tx(self, tx_id: str) -> dict[str, Any]:
        found = await self.get_transmission(tx_id)
        assert found is not None
        return found

    async def _publish(self, event: dict[str, Any]) -> None:
        try:
            await self.dispatch.publish_console(event)
        except Exception:
            log.exception("could not publish a radio event")

    # ---- spoken status updates -------------------------------------------------------------------
    async def _status_from_text(self, tx: dict[str, Any], channel: Channel) -> dict[str, Any] | None:
        match = match_status(tx["text"])
        if match is None:
            return None
        unit_id = tx["unit_id"]
        unit = await self.dispatch.get_unit(unit_id)
        before = unit["status"]
        upd_id = new_id()
        state, reason = "applied", None
        last_change = await self._last_status_change(unit_id)
        spoken_at = _parse_iso(tx["start_utc"])
        confidence = phrase_confidence(match.evidence, tx.get("words") or [], tx.get("confidence"))
        if before == match.status:
            state, reason = "unchanged", f"unit was already {before}"
        elif confidence is not None and confidence < self.settings.status_min_confidence:
            # The model was unsure of exactly the words that would move a unit: a dispatcher confirms.
            state, reason = "unconfirmed", (f"the model's confidence in “{match.evidence}” is "
                                            f"{confidence:.2f}, below {self.settings.status_min_confidence:g}; "
                                            "confirm it to apply")
        elif last_change is not None and spoken_at is not None and last_change > spoken_at:
            # A late upload or a slow decode must not overwrite a newer status set by anyone.
            state, reason = "refused", (f"stale: the unit's status was changed by a message from "
                                        f"{iso(last_change)}, later than this transmission ({tx['start_utc']})")
        else:
            try:
                await self.dispatch.set_unit_status(
                    unit_id, match.status, actor=f"radio:{channel.id}", source="radio",
                    note=f"from radio ({channel.name}): {tx['text']}"[:1000])
            except Exception as exc:
                if not hasattr(exc, "message"):
                    log.exception("radio status update failed for unit %s", unit_id)
                state, reason = "refused", getattr(exc, "message", None) or "internal error"
        row = {"id": upd_id, "transmission_id": tx["id"], "unit_id": unit_id, "from_status": before,
               "to_status": match.status, "phrase": match.phrase, "evidence": match.evidence,
               "confidence": None if confidence is None else round(confidence, 4), "state": state,
               "reason": reason, "created_at": dt.datetime.now(dt.UTC)}
        async with transaction(self.db) as conn:
            await conn.execute(status_updates.insert().values(**row))
        update = await self.get_status_update(upd_id)
        assert update is not None
        update.update(callsign=unit.get("callsign"), transcript=tx["text"], channel_id=channel.id,
                      match=match.to_dict())
        await self._publish({"type": "radio_status", "action": state, "update": update})
        return update

    async def _last_status_change(self, unit_id: str) -> dt.datetime | None:
        """When the unit's current status was *stated*: set by hand, or spoken in a radio message.

        A radio change counts from when it was spoken, not when it was decoded, so a unit's
        transmissions in order never refuse each other; a dispatcher's or officer's change counts
        from when it was made.
        """
        times: list[dt.datetime] = []
        try:
            history = await self.dispatch.unit_history(unit_id)
        except Exception:
            log.exception("unit history unavailable for %s", unit_id)
            history = []
        manual = [h for h in history if h.get("source") != "radio" and h.get("from") is not None]
        if manual and (at := _parse_iso(manual[-1]["at"])):
            times.append(at)
        async with self.db.connect() as conn:
            spoken = (await conn.execute(
                sa.select(sa.func.max(transmissions.c.start_utc))
                .select_from(status_updates.join(transmissions,
                                                 transmissions.c.id == status_updates.c.transmission_id))
                .where(status_updates.c.unit_id == unit_id, status_updates.c.state == "applied"))).scalar()
        if spoken is not None:
            times.append(spoken if spoken.tzinfo else spoken.replace(tzinfo=dt.UTC))
        return max(times) if times else None

    async def _one(self, table: sa.Table, row_id: str,
                   to_json: Callable[[Any], dict[str, Any]]) -> dict[str, Any] | None:
        async with self.db.connect() as conn:
            row = (await conn.execute(sa.select(table).where(table.c.id == row_id))).first()
        return to_json(row) if row else None

    async def get_status_update(self, upd_id: str) -> dict[str, Any] | None:
        return await self._one(status_updates, upd_id, status_update_json)

    async def list_status_updates(self, *, unit_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        q = sa.select(status_updates).order_by(sa.desc(status_updates.c.created_at)).limit(limit)
        if unit_id:
            q = q.where(status_updates.c.unit_id == unit_id)
        async with self.db.connect() as conn:
            return [status_update_json(r) for r in (await conn.execute(q)).all()]

    async def _status_update_in(self, upd_id: str, state: str, verb: str) -> dict[str, Any]:
        """The status update, if it is in ``state`` (the only state from which it can be ``verb``)."""
        upd = await self.get_status_update(upd_id)
        if upd is None:
            raise RadioError(404, "not_found", f"no radio status update with id {upd_id!r}")
        if upd["state"] != state:
            raise RadioError(409, "conflict", f"this status update is {upd['state']}; only an {state} update "
                                              f"can be {verb}", state=upd["state"])
        return upd

    async def _unit_still(self, upd: dict[str, Any], status: str, why: str) -> None:
        """Refuse when the unit moved on since the update: a later change is never overwritten."""
        unit = await self.dispatch.get_unit(upd["unit_id"])
        if unit["status"] != status:
            raise RadioError(409, "conflict", f"unit {unit.get('callsign')} is now {unit['status']!r}, not "
                                              f"{status!r} {why}; set its status directly", current=unit["status"])

    async def confirm_status(self, upd_id: str, *, actor: str) -> dict[str, Any]:
        """Apply a status update the model was unsure of, now that a dispatcher has listened to it."""
        upd = await self._status_update_in(upd_id, "unconfirmed", "confirmed")
        await self._unit_still(upd, upd["from"], "as when this was said")
        try:
            await self.dispatch.set_unit_status(upd["unit_id"], upd["to"], actor=actor, source="radio",
                                                note=f"confirmed radio status update {upd_id} "
                                                     f"(“{upd['evidence']}”)")
        except Exception as exc:
            if not hasattr(exc, "message"):
                raise
            raise RadioError(409, "illegal_transition", exc.message,  # type: ignore[attr-defined]
                             **getattr(exc, "details", {})) from None
        async with transaction(self.db) as conn:
            await conn.execute(status_updates.update().where(status_updates.c.id == upd_id)
                               .values(state="applied", reason=f"confirmed by {actor}"))
        result = await self.get_status_update(upd_id)
        assert result is not None
        await self._publish({"type": "radio_status", "action": "applied", "update": result})
        return result

    async def undo_status(self, upd_id: str, *, actor: str) -> dict[str, Any]:
        """Put the unit back to its status before the radio update, unless it moved on since."""
        upd = await self._status_update_in(upd_id, "applied", "undone")
        await self._unit_still(upd, upd["to"], "as the radio update left it: undoing would overwrite a later change")
        note = f"undo of radio status update {upd_id} (“{upd['evidence']}”)"
        try:
            await self.dispatch.set_unit_status(upd["unit_id"], upd["from"], actor=actor, source="dispatcher",
                                                note=note)
        except Exception as exc:
            if "allowed" not in getattr(exc, "details", {}):
                raise
            # Forward-only rules refuse going back (on_scene -> en_route): an undo is a correction.
            await self.dispatch.correct_unit_status(upd["unit_id"], upd["from"], actor=actor, note=note)
        now = dt.datetime.now(dt.UTC)
        async with transaction(self.db) as conn:
            await conn.execute(status_updates.update().where(status_updates.c.id == upd_id)
                               .values(state="undone", undone_at=now, undone_by=actor))
        result = await self.get_status_update(upd_id)
        assert result is not None
        await self._publish({"type": "radio_status", "action": "undone", "update": result})
        return result

    # ---- suggested incidents -------------------------------------------------------------------------
    async def _suggest(self, tx: dict[str, Any], channel: Channel) -> dict[str, Any] | None:
        call = functools.partial(self.triage_fn, tx["text"], lang=tx.get("language"), source="radio")
        try:
            scored = await asyncio.get_running_loop().run_in_executor(self.executor, call)
            data: dict[str, Any] = scored.to_dict() if hasattr(scored, "to_dict") else dict(scored)
        except Exception:
            log.exception("triage failed on transmission %s", tx["id"])
            return None
        if data.get("category") in (None, "", "other"):
            return None  # nothing that describes an incident: routine traffic
        row = {"id": new_id(), "transmission_id": tx["id"], "channel_id": channel.id, "text": tx["text"],
               "language": data.get("lang") or tx.get("language"), "category": data.get("category"),
               "priority": data.get("priority"), "level": data.get("level"), "triage": data, "state": "suggested",
               "created_at": dt.datetime.now(dt.UTC)}
        async with transaction(self.db) as conn:
            await conn.execute(suggestions.insert().values(**row))
        sug = await self.get_suggestion(row["id"])
        assert sug is not None
        await self._publish({"type": "radio_suggestion", "action": "suggested", "suggestion": sug})
        return sug

    async def get_suggestion(self, sug_id: str) -> dict[str, Any] | None:
        return await self._one(suggestions, sug_id, suggestion_json)

    async def list_suggestions(self, *, state: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        q = sa.select(suggestions).order_by(sa.desc(suggestions.c.created_at)).limit(limit)
        if state:
            q = q.where(suggestions.c.state == state)
        async with self.db.connect() as conn:
            return [suggestion_json(r) for r in (await conn.execute(q)).all()]

    async def _claim(self, sug_id: str, state: str, actor: str, reason: str | None) -> dict[str, Any]:
        now = dt.datetime.now(dt.UTC)
        async with transaction(self.db) as conn:
            res = await conn.execute(suggestions.update().where(suggestions.c.id == sug_id,
                                                                suggestions.c.state == "suggested")
                                     .values(state=state, decided_by=actor, decided_at=now, reason=reason))
        if res.rowcount != 1:
            sug = await self.get_suggestion(sug_id)
            if sug is None:
                raise RadioError(404, "not_found", f"no suggested incident with id {sug_id!r}")
            raise RadioError(409, "conflict", f"this suggestion was already {sug['state']} by {sug['decided_by']}",
                             state=sug["state"], incident_id=sug["incident_id"])
        sug = await self.get_suggestion(sug_id)
        assert sug is not None
        return sug

    async def accept(self, sug_id: str, *, actor: str, text: str | None = None) -> dict[str, Any]:
        """Create the incident (scored by dispatch as any other) and link it to the suggestion."""
        sug = await self._claim(sug_id, "accepted", actor, None)
        try:
            incident = await self.dispatch.create_incident(text=text or sug["text"], source="radio", actor=actor,
                                                           lang=sug["language"])
        except Exception:
            async with transaction(self.db) as conn:
                await conn.execute(suggestions.update().where(suggestions.c.id == sug_id)
                                   .values(state="suggested", decided_by=None, decided_at=None))
            raise
        async with transaction(self.db) as conn:
            await conn.execute(suggestions.update().where(suggestions.c.id == sug_id)
                               .values(incident_id=incident["id"]))
        await self.dispatch.audit(actor, "radio.suggestion.accept", f"suggestion:{sug_id}",
                                  {"state": "suggested"}, {"state": "accepted", "incident_id": incident["id"]})
        result = await self.get_suggestion(sug_id)
        assert result is not None
        await self._publish({"type": "radio_suggestion", "action": "accepted", "suggestion": result})
        return {"suggestion": result, "incident": incident}

    async def dismiss(self, sug_id: str, *, actor: str, reason: str | None) -> dict[str, Any]:
        sug = await self._claim(sug_id, "dismissed", actor, reason)
        await self.dispatch.audit(actor, "radio.suggestion.dismiss", f"suggestion:{sug_id}",
                                  {"state": "suggested"}, {"state": "dismissed", "reason": reason})
        await self._publish({"type": "radio_suggestion", "action": "dismissed", "suggestion": sug})
        return sug
