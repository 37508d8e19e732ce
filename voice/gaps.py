"""Gaps: utterances the VAD accepted that could not be decoded, kept so nothing is lost silently.

A stream's :class:`~voice.stream.Failed` event becomes a gap row with the utterance's times, the
reason and the stream's decode options, plus its audio as an Opus recording (kind ``gap``). The
client was told at once (an ``error`` event naming the utterance and the gap id). Anyone allowed to
read the stream may transcribe the gap again later (:func:`retry_gap`); a success stores the text
as the utterance's final transcript segment, as if it had come live.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from concurrent.futures import Executor
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from common.db import transaction
from voice.audio import decode_file
from voice.radio.recording import Encoded, recording_bytes, store_recording
from voice.store import StreamMeta, _aware, _iso, row_message, save_final
from voice.stream import Failed, Final
from voice.tables import gaps, transcripts
from voice.types import AsrBackend, DecodeOptions

STATES = ("open", "resolved", "no_speech")


class GapError(Exception):
    """A re-run that cannot be done; ``status`` is the HTTP status that fits."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def new_gap_id() -> str:
    return uuid.uuid4().hex[:16]


def gap_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "stream_id": row.stream_id, "utterance": row.utterance, "source": row.source,
            "channel": row.channel, "start": row.start_s, "end": row.end_s,
            "start_utc": _iso(_aware(row.start_utc)) if row.start_utc else None,
            "end_utc": _iso(_aware(row.end_utc)) if row.end_utc else None, "reason": row.reason,
            "recording_id": row.recording_id, "state": row.state, "transcript_id": row.transcript_id,
            "created_at": _iso(_aware(row.created_at)),
            "resolved_at": _iso(_aware(row.resolved_at)) if row.resolved_at else None,
            "resolved_by": row.resolved_by}


def _options_json(options: DecodeOptions) -> dict[str, Any]:
    return {"language": options.language, "hotwords": options.hotwords, "initial_prompt": options.initial_prompt,
            "script": options.script}


async def save_gap(db: AsyncEngine, meta: StreamMeta, failed: Failed, gap_id: str,
                   recording_id: str | None, started_at: dt.datetime | None = None) -> str:
    """Insert the gap; idempotent per (stream, utterance). Returns the stored gap's id."""
    now = dt.datetime.now(dt.UTC)
    start_utc = started_at + dt.timedelta(seconds=failed.start) if started_at else None
    end_utc = started_at + dt.timedelta(seconds=failed.end) if started_at else None
    async with transaction(db) as conn:
        existing = (await conn.execute(sa.select(gaps.c.id).where(
            gaps.c.stream_id == meta.stream_id, gaps.c.utterance == failed.utterance))).scalar()
        if existing is not None:
            return str(existing)
        await conn.execute(gaps.insert().values(
            id=gap_id, stream_id=meta.stream_id, utterance=failed.utterance, source=meta.source,
            channel=meta.channel, start_s=failed.start, end_s=failed.end, start_utc=start_utc, end_utc=end_utc,
            reason=failed.reason[:2000], options=_options_json(failed.options), recording_id=recording_id,
            state="open", model=meta.model, created_at=now))
    return gap_id


async def keep_gap_audio(db: AsyncEngine, gap_id: str, encoded: Encoded, retention_days: float) -> str:
    return await store_recording(db, kind="gap", owner_id=gap_id, encoded=encoded, retention_days=retention_days)


async def get_gap(db: AsyncEngine, gap_id: str) -> dict[str, Any] | None:
    async with db.connect() as conn:
        row = (await conn.execute(sa.select(gaps).where(gaps.c.id == gap_id))).first()
    return gap_json(row) if row else None


async def wait_for_gap(db: AsyncEngine, gap_id: str, seconds: float = 2.0) -> dict[str, Any] | None:
    """The gap, allowing the stream's writer a moment: the client hears of a gap before it is stored."""
    for _ in range(max(1, int(seconds / 0.1))):
        gap = await get_gap(db, gap_id)
        if gap is not None:
            return gap
        await asyncio.sleep(0.1)
    return None


async def list_gaps(db: AsyncEngine, *, stream_id: str | None = None, state: str | None = None,
                    exclude_sources: tuple[str, ...] = (), limit: int = 200) -> list[dict[str, Any]]:
    query = sa.select(gaps)
    if stream_id is not None:
        query = query.where(gaps.c.stream_id == stream_id)
    if state is not None:
        query = query.where(gaps.c.state == state)
    if exclude_sources:
        query = query.where(gaps.c.source.not_in(exclude_sources))
    query = query.order_by(gaps.c.created_at, gaps.c.id).limit(limit)
    async with db.connect() as conn:
        return [gap_json(r) for r in (await conn.execute(query)).all()]


async def retry_gap(db: AsyncEngine, backend: AsrBackend, gap_id: str, *, actor: str,
                    executor: Executor | None = None) -> dict[str, Any]:
    """Decode a gap's kept audio again. Returns ``{"gap": ..., "transcript": row or None}``.

    Raises :class:`GapError` when there is no such gap, it is already resolved, or its audio is gone.
    A decoding error propagates (``DecodeError``): the gap stays open for another try."""
    async with db.connect() as conn:
        row = (await conn.execute(sa.select(gaps).where(gaps.c.id == gap_id))).first()
    if row is None:
        raise GapError(404, "not_found", f"no transcription gap {gap_id!r}")
    if row.state == "resolved":
        raise GapError(409, "conflict", f"gap {gap_id} was already transcribed (transcript {row.transcript_id})")
    found = await recording_bytes(db, row.recording_id) if row.recording_id else None
    if found is None or found[1] is None:
        raise GapError(410, "gone", f"the audio of gap {gap_id} is not kept (disk full when it happened, or "
                                    "deleted by retention); it cannot be transcribed again")
    loop = asyncio.get_running_loop()
    audio: np.ndarray = await loop.run_in_executor(executor, decode_file, found[1], 60.0)
    opts = row.options or {}
    options = DecodeOptions(language=opts.get("language"), hotwords=opts.get("hotwords"),
                            initial_prompt=opts.get("initial_prompt"), script=opts.get("script") or "simplified")
    result = await backend.transcribe(audio, options)
    now = dt.datetime.now(dt.UTC)
    transcript: dict[str, Any] | None = None
    if result.text:
        words = [{"word": w.word, "start": round(row.start_s + w.start, 3), "end": round(row.start_s + w.end, 3),
                  "probability": w.probability} for w in result.words]
        final = Final(row.utterance, result.text, row.start_s, row.end_s, _aware(row.start_utc) if row.start_utc
                      else None, _aware(row.end_utc) if row.end_utc else None, result.language,
                      result.language_probability, round(result.confidence, 4), words, result.avg_logprob,
                      result.no_speech_prob)
        meta = StreamMeta(stream_id=row.stream_id, source=row.source, channel=row.channel, model=row.model or "")
        transcript_id = await save_final(db, meta, final)
        async with db.connect() as conn:
            stored = (await conn.execute(sa.select(transcripts).where(transcripts.c.id == transcript_id))).first()
        transcript = row_message(stored)
        values: dict[str, Any] = {"state": "resolved", "transcript_id": transcript_id}
    else:
        values = {"state": "no_speech", "reason": f"{row.reason}; re-run: {result.dropped or 'no words'}"[:2000]}
    async with transaction(db) as conn:
        await conn.execute(gaps.update().where(gaps.c.id == gap_id)
                           .values(**values, resolved_at=now, resolved_by=actor))
    gap = await get_gap(db, gap_id)
    assert gap is not None
    return {"gap": gap, "transcript": transcript, "dropped": None if result.text else result.dropped}

