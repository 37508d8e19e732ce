"""Interview records in SQL: sessions, lines, versions, sign-off and verification.

Every change checks the session's state in the same transaction that makes it, so a line
cannot slip in after sign-off; on PostgreSQL the session row is locked (``FOR UPDATE``) and on
SQLite the single writer serialises. Each correction is a version row (who, when, field,
before, after, reason); the line keeps its current text, and version 1 is the text as first
recorded (for an ASR line, exactly what the model produced).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from common.db import transaction
from common.ids import new_id
from common.times import as_utc, iso
from common.times import parse_iso as parse_utc
from voice.interview import model
from voice.interview.model import InterviewError
from voice.interview.tables import line_versions, lines, sessions
from voice.radio.tables import recordings
from voice.tables import transcripts

AuditFn = Callable[[str, str, str, Any, Any], Awaitable[None]]


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def parse_iso(value: Any, field: str) -> dt.datetime:
    if not isinstance(value, str):
        raise model.invalid(f"{field} must be an ISO 8601 UTC time such as 2024-05-01T09:30:00Z", field)
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise model.invalid(f"{field} must be an ISO 8601 UTC time such as 2024-05-01T09:30:00Z, got {value!r}",
                            field) from None
    if parsed.tzinfo is None:
        raise model.invalid(f"{field} needs a time zone (end it with Z for UTC), got {value!r}", field)
    # Whole milliseconds: what the API shows is exactly what is stored and hashed.
    return parsed.astimezone(dt.UTC).replace(microsecond=parsed.microsecond // 1000 * 1000)


def gap_text(gap: dict[str, Any]) -> str:
    """What a gap line says in the record until it is re-run: plainly, that words are missing here."""
    return (f"〔未能转写 / not transcribed: {gap['start']:.1f}–{gap['end']:.1f} s, {gap['reason']}; "
            f"录音已保存 / audio kept〕")


def session_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "case_number": row.case_number, "title": row.title, "location": row.location,
            "language": row.language, "participants": row.participants, "state": row.state,
            "started_at": iso(row.started_at), "ended_at": iso(row.ended_at), "created_by": row.created_by,
            "created_at": iso(row.created_at), "updated_at": iso(row.updated_at), "signed_at": iso(row.signed_at),
            "signed_by": row.signed_by, "signature": row.signature}


def line_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "seq": row.seq, "speaker_role": row.speaker_role, "speaker": row.speaker,
            "text": row.text, "language": row.language, "start": row.start_s, "end": row.end_s,
            "source": row.source, "origin": row.origin, "confidence": row.confidence, "version": row.version,
            "created_by": row.created_by, "created_at": iso(row.created_at), "updated_at": iso(row.updated_at)}


def version_json(row: Any) -> dict[str, Any]:
    return {"line_id": row.line_id, "version": row.version, "field": row.field, "before": row.before,
            "after": row.after, "reason": row.reason, "by": row.by, "at": iso(row.at)}


class InterviewStore:
    def __init__(self, db: AsyncEngine, audit: AuditFn | None = None) -> None:
        self.db = db
        self.audit = audit

    async def _audit(self, actor: str, action: str, target: str, before: Any, after: Any) -> None:
        if self.audit is not None:
            await self.audit(actor, action, target, before, after)

    # ---- sessions -------------------------------------------------------------------------------
    async def create(self, body: dict[str, Any], *, actor: str) -> dict[str, Any]:
        case = model.check_case_number(body.get("case_number"))
        participants = model.check_participants(body.get("participants"))
        title = model._str(body.get("title"), "title", 200, required=False)
        location = model._str(body.get("location"), "location", 200, required=False)
        language = model.check_language(body.get("language"))
        now = now_utc()
        started = parse_iso(body["started_at"], "started_at") if body.get("started_at") else \
            now.replace(microsecond=now.microsecond // 1000 * 1000)
        sid = new_id()
        row = {"id": sid, "case_number": case, "title": title, "location": location, "language": language,
               "participants": [p.to_dict() for p in participants], "state": "open", "started_at": started,
               "created_by": actor, "created_at": now, "updated_at": now}
        async with transaction(self.db) as conn:
            await conn.execute(sessions.insert().values(**row))
        await self._audit(actor, "interview.create", f"interview:{sid}", None,
                          {"case_number": case, "participants": row["participants"]})
        return await self.get(sid)

    async def _row(self, sid: str, conn: AsyncConnection | None = None, lock: bool = False) -> Any:
        q = sa.select(sessions).where(sessions.c.id == sid)
        if lock and self.db.dialect.name != "sqlite":
            q = q.with_for_update()
        if conn is None:
            async with self.db.connect() as c:
                row = (await c.execute(q)).first()
        else:
            row = (await conn.execute(q)).first()
        if row is None:
            raise InterviewError(404, "not_found", f"no interview with id {sid!r}")
        return row

    async def get(self, sid: str, *, with_lines: bool = True) -> dict[str, Any]:
        out = session_json(await self._row(sid))
        if with_lines:
            out["lines"] = await self.lines(sid)
        return out

    async def list_sessions(self, *, case_number: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        q = sa.select(sessions).order_by(sa.desc(sessions.c.created_at)).limit(limit)
        if case_number:
            q = q.where(sessions.c.case_number == case_number)
        async with self.db.connect() as conn:
            return [session_json(r) for r in (await conn.execute(q)).all()]

    async def lines(self, sid: str) -> list[dict[str, Any]]:
        async with self.db.connect() as conn:
            rows = (await conn.execute(sa.select(lines).where(lines.c.session_id == sid)
                                       .order_by(lines.c.seq))).all()
        return [line_json(r) for r in rows]

    @staticmethod
    def _writable(row: Any, what: str) -> None:
        if row.state == "signed":
            raise InterviewError(409, "locked", f"interview {row.id} was signed at {iso(row.signed_at)} by "
                                                f"{row.signed_by}; a signed record cannot be changed ({what} refused)",
                                 signed_at=iso(row.signed_at))

    async def _open_for_change(self, conn: AsyncConnection, sid: str, what: str) -> Any:
        """The interview's row, locked, once it is known not to be signed (``what`` names the refused change)."""
        row = await self._row(sid, conn, lock=True)
        self._writable(row, what)
        return row

    @staticmethod
    async def _line(conn: AsyncConnection, sid: str, line_id: str) -> Any:
        return (await conn.execute(sa.select(lines).where(lines.c.id == line_id, lines.c.session_id == sid))).first()

    # ---- lines ----------------------------------------------------------------------------------
    async def add_line(self, sid: str, body: dict[str, Any], *, actor: str) -> dict[str, Any]:
        """A typed line, or an ASR line bound to a stored transcript segment (its text is copied, not trusted)."""
        role = model.check_role(body.get("speaker_role"))
        speaker = model._str(body.get("speaker"), "speaker", 200, required=False)
        source, origin, confidence = "typed", None, None
        if body.get("gap_id") is not None:
            # Speech that could not be transcribed stays in the record as a visible gap, re-runnable
            # from its kept audio (rerun_gap), never silently missing.
            gap = await self._gap(body.get("gap_id"))
            source, origin, language = "gap", f"gap:{gap['id']}", None
            text = gap_text(gap)
            start_utc = parse_utc(gap["start_utc"]) if gap["start_utc"] else None
            end_utc = parse_utc(gap["end_utc"]) if gap["end_utc"] else None
        elif body.get("stream_id") is not None or body.get("transcript_id") is not None:
            seg = await self._transcript(body)
            text, language = seg.text, seg.language
            source, origin, confidence = "asr", f"stream:{seg.stream_id}:{seg.utterance}", seg.confidence
            start_utc = as_utc(seg.start_utc)
            end_utc = as_utc(seg.end_utc)
            if body.get("text") is not None and body["text"] != text:
                raise model.invalid("an ASR line takes its text from the stored transcript; send the line "
                                    "without 'text' and correct it afterwards with PATCH (kept as a version)", "text")
        else:
            if body.get("source", "typed") != "typed":
                raise model.invalid("source must be 'typed' for a typed line; an ASR line is added with "
                                    "stream_id + utterance (or transcript_id) of a stored transcript", "source")
            text = model.check_text(body.get("text"))
            language = model.check_language(body.get("language"))
            start_utc = end_utc = None
        start = model.check_time(body.get("start"), "start")
        end = model.check_time(body.get("end"), "end")
        now = now_utc()
        async with transaction(self.db) as conn:
            row = await self._open_for_change(conn, sid, "adding a line")
            if start_utc is not None and start is None:
                started = as_utc(row.started_at)
                assert started is not None and end_utc is not None
                start = round(max(0.0, (start_utc - started).total_seconds()), 3)
                end = round(max(0.0, (end_utc - started).total_seconds()), 3)
            if start is not None and end is not None and end < start:
                raise model.invalid("end must not be before start", "end")
            if origin is not None:
                dup = (await conn.execute(sa.select(lines).where(lines.c.session_id == sid,
                                                                 lines.c.origin == origin))).first()
                if dup is not None:
                    return line_json(dup)  # binding the same segment twice is one line
            seq = int((await conn.execute(sa.select(sa.func.coalesce(sa.func.max(lines.c.seq), 0))
                                          .where(lines.c.session_id == sid))).scalar_one()) + 1
            lid = new_id()
            values = {"id": lid, "session_id": sid, "seq": seq, "speaker_role": role, "speaker": speaker,
                      "text": text, "language": language or row.language, "start_s": start, "end_s": end,
                      "source": source, "origin": origin, "confidence": confidence, "version": 1,
                      "created_by": actor, "created_at": now, "updated_at": now}
            await conn.execute(lines.insert().values(**values))
            await conn.execute(line_versions.insert().values(line_id=lid, session_id=sid, version=1, field="text",
                                                             before=None, after=text, reason=f"recorded ({source})",
                                                             by=actor, at=now))
            await conn.execute(sessions.update().where(sessions.c.id == sid).values(updated_at=now))
            created = (await conn.execute(sa.select(lines).where(lines.c.id == lid))).first()
        return line_json(created)

    async def _gap(self, raw: Any) -> dict[str, Any]:
        from voice.gaps import wait_for_gap

        if not isinstance(raw, str) or not raw:
            raise model.invalid("gap_id must be the gap_id of an utterance_failed error event of /ws/transcribe",
                                "gap_id")
        gap = await wait_for_gap(self.db, raw)
        if gap is None:
            raise InterviewError(409, "not_stored", f"transcription gap {raw!r} is not stored (yet); retry in a "
                                                    "moment, or check the gap_id")
        return gap

    async def fill_gap(self, sid: str, line_id: str, transcript: dict[str, Any], *, actor: str) -> dict[str, Any]:
        """A gap line becomes the ASR line its re-run produced (a new version; the gap stays in the history)."""
        now = now_utc()
        async with transaction(self.db) as conn:
            await self._open_for_change(conn, sid, "re-running a gap")
            line = await self._line(conn, sid, line_id)
            if line is None or line.source != "gap":
                raise InterviewError(404, "not_found", f"interview {sid} has no gap line {line_id!r}")
            version = line.version + 1
            text = transcript["text"]
            await conn.execute(line_versions.insert().values(
                line_id=line_id, session_id=sid, version=version, field="text", before=line.text, after=text,
                reason=f"re-run of {line.origin} from its kept audio", by=actor, at=now))
            await conn.execute(lines.update().where(lines.c.id == line_id).values(
                text=text, source="asr", origin=f"stream:{transcript['stream_id']}:{transcript['utterance']}",
                language=transcript.get("language") or line.language, confidence=transcript.get("confidence"),
                version=version, updated_at=now))
            await conn.execute(sessions.update().where(sessions.c.id == sid).values(updated_at=now))
            updated = (await conn.execute(sa.select(lines).where(lines.c.id == line_id))).first()
        return line_json(updated)

    async def gap_of_line(self, sid: str, line_id: str) -> str:
        """The gap id behind a gap line (404 when the line is not a gap)."""
        async with self.db.connect() as conn:
            line = await self._line(conn, sid, line_id)
        if line is None or line.source != "gap" or not str(line.origin or "").startswith("gap:"):
            raise InterviewError(404, "not_found", f"interview {sid} has no gap line {line_id!r}; only a line "
                                                   "recorded as a transcription gap can be re-run")
        return str(line.origin)[4:]

    async def _transcript(self, body: dict[str, Any]) -> Any:
        q = sa.select(transcripts)
        if body.get("transcript_id") is not None:
            raw = str(body["transcript_id"])
            if not raw.isdigit():
                raise model.invalid("transcript_id must be the id of a stored transcript segment", "transcript_id")
            q = q.where(transcripts.c.id == int(raw))
        else:
            stream, utt = body.get("stream_id"), body.get("utterance")
            if not isinstance(stream, str) or isinstance(utt, bool) or not isinstance(utt, int):
                raise model.invalid("bind an ASR segment with stream_id (string) and utterance (integer) from the "
                                    "final event of /ws/transcribe", "utterance")
            q = q.where(transcripts.c.stream_id == stream, transcripts.c.utterance == utt)
        # Finals are stored just after they are sent to the client: allow the store a moment.
        for _ in range(20):
            async with self.db.connect() as conn:
                seg = (await conn.execute(q)).first()
            if seg is not None:
                return seg
            await asyncio.sleep(0.1)
        raise InterviewError(409, "not_stored", "that transcript segment is not stored (yet); retry in a moment, "
                                                "or check stream_id and utterance")

    async def bind_stream(self, sid: str, stream_id: str, role: str, speaker: str | None, *,
                          actor: str) -> list[dict[str, Any]]:
        """Add every stored final of a transcription stream as a line (segments already bound are skipped)."""
        async with self.db.connect() as conn:
            segs = (await conn.execute(sa.select(transcripts.c.id).where(transcripts.c.stream_id == stream_id)
                                       .order_by(transcripts.c.utterance))).all()
        if not segs:
            raise InterviewError(404, "not_found", f"no stored transcript segments for stream {stream_id!r}")
        out = []
        for seg in segs:
            out.append(await self.add_line(sid, {"transcript_id": str(seg.id), "speaker_role": role,
                                                 "speaker": speaker}, actor=actor))
        return out

    async def edit_line(self, sid: str, line_id: str, body: dict[str, Any], *, actor: str) -> dict[str, Any]:
        """Correct text, speaker_role or speaker; ``version`` must be the line's current version."""
        expected = body.get("version")
        if isinstance(expected, bool) or not isinstance(expected, int):
            raise model.invalid("version must be the line's current version (an integer): edits based on an "
                                "older version are refused so no correction is silently lost", "version")
        changes: dict[str, Any] = {}
        if "text" in body:
            changes["text"] = model.check_text(body["text"])
        if "speaker_role" in body:
            changes["speaker_role"] = model.check_role(body["speaker_role"])
        if "speaker" in body:
            changes["speaker"] = model._str(body["speaker"], "speaker", 200, required=False)
        if not changes:
            raise model.invalid("nothing to change: send text, speaker_role and/or speaker", "text")
        reason = model._str(body.get("reason"), "reason", 500, required=False)
        now = now_utc()
        async with transaction(self.db) as conn:
            await self._open_for_change(conn, sid, "editing a line")
            line = await self._line(conn, sid, line_id)
            if line is None:
                raise InterviewError(404, "not_found", f"interview {sid} has no line {line_id!r}")
            if line.version != expected:
                raise InterviewError(409, "version_conflict", f"line {line_id} is at version {line.version}, not "
                                                              f"{expected}; reload it and apply the correction again",
                                     current_version=line.version)
            changed = {k: v for k, v in changes.items() if getattr(line, k) != v}
            if not changed:
                return line_json(line)
            version = line.version + 1
            for fname, after in changed.items():
                await conn.execute(line_versions.insert().values(line_id=line_id, session_id=sid, version=version,
                                                                 field=fname, before=getattr(line, fname),
                                                                 after=after, reason=reason, by=actor, at=now))
            await conn.execute(lines.update().where(lines.c.id == line_id)
                               .values(**changed, version=version, updated_at=now))
            await conn.execute(sessions.update().where(sessions.c.id == sid).values(updated_at=now))
            updated = (await conn.execute(sa.select(lines).where(lines.c.id == line_id))).first()
        return line_json(updated)

    async def versions(self, sid: str, line_id: str | None = None) -> list[dict[str, Any]]:
        await self._row(sid)
        q = sa.select(line_versions).where(line_versions.c.session_id == sid)
        if line_id:
            q = q.where(line_versions.c.line_id == line_id)
        async with self.db.connect() as conn:
            rows = (await conn.execute(q.order_by(line_versions.c.line_id, line_versions.c.version,
                                                  line_versions.c.id))).all()
        return [version_json(r) for r in rows]

    # ---- end, sign, verify -----------------------------------------------------------------------
    async def finish(self, sid: str, *, actor: str, ended_at: Any = None) -> dict[str, Any]:
        now = now_utc()
        end = parse_iso(ended_at, "ended_at") if ended_at else now.replace(microsecond=now.microsecond // 1000 * 1000)
        async with transaction(self.db) as conn:
            row = await self._open_for_change(conn, sid, "finishing")
            started = as_utc(row.started_at)
            assert started is not None
            if end < started:
                raise model.invalid(f"ended_at must not be before started_at ({iso(started)})", "ended_at")
            await conn.execute(sessions.update().where(sessions.c.id == sid)
                               .values(state="finished", ended_at=end, updated_at=now))
        return await self.get(sid)

    async def audio_of(self, sid: str) -> list[dict[str, Any]]:
        """Recordings of the session in order: (id, recorded hash, hash of the bytes now, deleted_at)."""
        async with self.db.connect() as conn:
            rows = (await conn.execute(sa.select(recordings).where(recordings.c.kind == "interview",
                                                                   recordings.c.owner_id == sid)
                                       .order_by(recordings.c.created_at, recordings.c.id))).all()
        return [{"id": r.id, "recorded_sha256": r.sha256,
                 "sha256": hashlib.sha256(bytes(r.data)).hexdigest() if r.data is not None else None,
                 "deleted_at": iso(r.deleted_at), "seconds": r.seconds, "bytes": r.bytes} for r in rows]

    async def _text_hash(self, sid: str) -> str:
        session = session_json(await self._row(sid))
        return model.sha256_hex(model.canonical_record(session, await self.lines(sid)))

    async def sign(self, sid: str, *, actor: str) -> dict[str, Any]:
        """Lock the record and store the hashes of its text and audio. Finishes it first if needed."""
        now = now_utc()
        async with transaction(self.db) as conn:
            row = await self._open_for_change(conn, sid, "signing again")
            count = (await conn.execute(sa.select(sa.func.count()).select_from(lines)
                                        .where(lines.c.session_id == sid))).scalar_one()
            if not count:
                raise InterviewError(409, "empty", "an interview without any line cannot be signed")
            ended = as_utc(row.ended_at) or now.replace(microsecond=now.microsecond // 1000 * 1000)
            # The state change and the hash are computed inside one transaction: nothing can slip between.
            await conn.execute(sessions.update().where(sessions.c.id == sid).values(ended_at=ended))
            session = session_json((await conn.execute(sa.select(sessions).where(sessions.c.id == sid))).first())
            line_rows = (await conn.execute(sa.select(lines).where(lines.c.session_id == sid))).all()
            text_sha = model.sha256_hex(model.canonical_record(session, [line_json(r) for r in line_rows]))
            recs = (await conn.execute(sa.select(recordings.c.id, recordings.c.sha256, recordings.c.deleted_at)
                                       .where(recordings.c.kind == "interview", recordings.c.owner_id == sid)
                                       .order_by(recordings.c.created_at, recordings.c.id))).all()
            if any(r.deleted_at is not None for r in recs):
                raise InterviewError(409, "audio_deleted", "some audio of this interview was already deleted; "
                                                           "it cannot be signed over")
            audio = [{"id": r.id, "sha256": r.sha256} for r in recs]
            signature = {"scheme": model.HASH_SCHEME, "algorithm": "sha256", "text_sha256": text_sha,
                         "audio": audio, "record_sha256": model.record_hash(text_sha, [a["sha256"] for a in audio]),
                         "signed_at": iso(now), "signed_by": actor, "lines": len(line_rows)}
            await conn.execute(sessions.update().where(sessions.c.id == sid).values(
                state="signed", signed_at=now, signed_by=actor, signature=signature, updated_at=now))
        await self._audit(actor, "interview.sign", f"interview:{sid}", {"state": row.state},
                          {"state": "signed", "record_sha256": signature["record_sha256"],
                           "text_sha256": text_sha, "audio": audio})
        return await self.get(sid)

    async def verify(self, sid: str) -> dict[str, Any]:
        row = await self._row(sid)
        if row.state != "signed" or not row.signature:
            raise InterviewError(409, "not_signed", f"interview {sid} is {row.state}; only a signed record has "
                                                    "hashes to verify (POST /api/interviews/{id}/sign)")
        result = model.verify_signature(row.signature, await self._text_hash(sid), await self.audio_of(sid))
        return {"id": sid, "case_number": row.case_number, "signed_at": iso(row.signed_at),
                "signed_by": row.signed_by, **result}

    async def add_recording(self, sid: str, encoded: Any, *, retention_days: float, actor: str) -> str:
        """Keep the interview's audio; refused once signed, checked in the same transaction as the insert."""
        now = now_utc()
        rec_id = new_id()
        async with transaction(self.db) as conn:
            await self._open_for_change(conn, sid, "adding audio")
            await conn.execute(recordings.insert().values(
                id=rec_id, kind="interview", owner_id=sid, codec="opus/ogg", sample_rate=encoded.sample_rate,
                seconds=encoded.seconds, bytes=len(encoded.data), sha256=encoded.sha256, data=encoded.data,
                created_at=now, expires_at=now + dt.timedelta(days=retention_days) if retention_days > 0 else None))
            await conn.execute(sessions.update().where(sessions.c.id == sid).values(updated_at=now))
        await self._audit(actor, "interview.audio", f"interview:{sid}", None,
                          {"recording_id": rec_id, "sha256": encoded.sha256, "seconds": encoded.seconds})
        return rec_id

    async def add_asr_segment(self, sid: str, recording_id: str, start: float, end: float, text: str,
                              language: str | None, confidence: float, role: str, *, actor: str) -> dict[str, Any]:
        """A line transcribed from the session's own uploaded recording (origin: recording id + start)."""
        origin = f"recording:{recording_id}:{start:.3f}"
        now = now_utc()
        async with transaction(self.db) as conn:
            row = await self._open_for_change(conn, sid, "adding a line")
            dup = (await conn.execute(sa.select(lines).where(lines.c.session_id == sid,
                                                             lines.c.origin == origin))).first()
            if dup is not None:
                return line_json(dup)
            seq = int((await conn.execute(sa.select(sa.func.coalesce(sa.func.max(lines.c.seq), 0))
                                          .where(lines.c.session_id == sid))).scalar_one()) + 1
            lid = new_id()
            await conn.execute(lines.insert().values(
                id=lid, session_id=sid, seq=seq, speaker_role=role, speaker=None, text=text,
                language=language or row.language, start_s=round(start, 3), end_s=round(end, 3), source="asr",
                origin=origin, confidence=round(confidence, 4), version=1, created_by=actor, created_at=now,
                updated_at=now))
            await conn.execute(line_versions.insert().values(line_id=lid, session_id=sid, version=1, field="text",
                                                             before=None, after=text, reason="recorded (asr)",
                                                             by=actor, at=now))
            created = (await conn.execute(sa.select(lines).where(lines.c.id == lid))).first()
        return line_json(created)
