"""Final transcript segments: stored in SQL, published on the console channel, listed back."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from common.db import transaction
from voice.stream import Final, Partial
from voice.tables import transcripts


@dataclass(frozen=True)
class StreamMeta:
    """Who and what a stream is: shown with every segment."""

    stream_id: str
    source: str = ""
    channel: str = ""
    model: str = ""


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def final_message(meta: StreamMeta, final: Final, row_id: int | None = None) -> dict[str, Any]:
    """The console/pub-sub JSON for a final segment."""
    msg: dict[str, Any] = {
        "type": "transcript", "final": True, "stream_id": meta.stream_id, "source": meta.source,
        "channel": meta.channel, "utterance": final.utterance, "text": final.text, "language": final.language,
        "language_probability": final.language_probability, "confidence": final.confidence,
        "start": final.start, "end": final.end, "start_utc": _iso(final.start_utc), "end_utc": _iso(final.end_utc),
        "words": final.words,
    }
    if row_id is not None:
        msg["id"] = str(row_id)
    return msg


def partial_message(meta: StreamMeta, partial: Partial) -> dict[str, Any]:
    """The console/pub-sub JSON for a partial (losable) hypothesis."""
    return {"type": "transcript", "final": False, "stream_id": meta.stream_id, "source": meta.source,
            "channel": meta.channel, "utterance": partial.utterance, "text": partial.text,
            "stable": partial.stable, "start": partial.start, "end": partial.end}


async def save_final(db: AsyncEngine, meta: StreamMeta, final: Final) -> int:
    """Insert one final segment; idempotent per (stream, utterance). Returns the row id."""
    now = dt.datetime.now(dt.UTC)
    start_utc = final.start_utc or now
    end_utc = final.end_utc or now
    values = {"stream_id": meta.stream_id, "utterance": final.utterance, "source": meta.source,
              "channel": meta.channel, "text": final.text, "language": final.language,
              "language_probability": final.language_probability, "confidence": final.confidence,
              "start_s": final.start, "end_s": final.end, "start_utc": start_utc, "end_utc": end_utc,
              "words": final.words, "model": meta.model, "created_at": now}
    async with transaction(db) as conn:
        existing = (await conn.execute(sa.select(transcripts.c.id).where(
            transcripts.c.stream_id == meta.stream_id, transcripts.c.utterance == final.utterance))).scalar()
        if existing is not None:
            return int(existing)
        result = await conn.execute(sa.insert(transcripts).values(**values).returning(transcripts.c.id))
        return int(result.scalar_one())


def row_message(row: Any) -> dict[str, Any]:
    """A stored row in the same shape as the published message."""
    return {"type": "transcript", "final": True, "id": str(row.id), "stream_id": row.stream_id,
            "source": row.source, "channel": row.channel, "utterance": row.utterance, "text": row.text,
            "language": row.language, "language_probability": row.language_probability,
            "confidence": row.confidence, "start": row.start_s, "end": row.end_s,
            "start_utc": _iso(_aware(row.start_utc)), "end_utc": _iso(_aware(row.end_utc)),
            "words": row.words or [], "model": row.model}


def _aware(value: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


async def list_transcripts(db: AsyncEngine, *, channel: str | None = None, since: dt.datetime | None = None,
                           stream_id: str | None = None, limit: int = 200,
                           exclude_sources: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Final segments, oldest first, filtered by channel, stream and start time (>= since);
    segments whose source is in ``exclude_sources`` are left out (interview speech for other roles)."""
    query = sa.select(transcripts)
    if exclude_sources:
        query = query.where(transcripts.c.source.not_in(exclude_sources))
    if channel is not None:
        query = query.where(transcripts.c.channel == channel)
    if stream_id is not None:
        query = query.where(transcripts.c.stream_id == stream_id)
    if since is not None:
        query = query.where(transcripts.c.start_utc >= since)
    query = query.order_by(transcripts.c.start_utc, transcripts.c.id).limit(limit)
    async with db.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [row_message(r) for r in rows]


def encode(message: dict[str, Any]) -> str:
    """JSON text for the wire and for pub/sub (UTF-8, Chinese kept readable)."""
    return json.dumps(message, ensure_ascii=False)
