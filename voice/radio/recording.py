"""Kept audio: Opus in OGG (PyAV), its sha256, stored in SQL, deleted after the retention period.

The hash is over the stored OGG bytes, the file a court or an auditor receives; a download can
be checked against it with ``sha256sum``. Deleting for retention clears the bytes but keeps the
row (hash, length, when and why deleted), so a signed interview can still show which audio it
was signed over.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import av
import numpy as np
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from common.db import transaction
from voice.radio.tables import recordings

CODEC = "opus/ogg"
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
KINDS = ("radio", "interview", "call", "gap")  # gap: an utterance kept for a re-run


@dataclass(frozen=True)
class Encoded:
    data: bytes
    sha256: str
    sample_rate: int
    seconds: float


def encode_opus(samples: np.ndarray, sample_rate: int, bitrate: int = 24000) -> Encoded:
    """float32 mono → Opus in OGG. Blocking (a few ms per second of audio): call it in an executor."""
    if sample_rate not in OPUS_RATES:
        raise ValueError(f"Opus takes {', '.join(map(str, OPUS_RATES))} Hz audio, not {sample_rate} Hz")
    buf = io.BytesIO()
    container = av.open(buf, "w", format="ogg")
    try:
        stream = container.add_stream("libopus", rate=sample_rate)
        stream.layout = "mono"  # type: ignore[union-attr]
        stream.bit_rate = bitrate  # type: ignore[union-attr]
        if samples.size:
            frame = av.AudioFrame.from_ndarray(np.clip(samples, -1, 1).astype(np.float32).reshape(1, -1),
                                               format="flt", layout="mono")
            frame.sample_rate = sample_rate
            frame.pts = 0
            for packet in stream.encode(frame):  # type: ignore[union-attr]
                container.mux(packet)
        for packet in stream.encode(None):  # type: ignore[union-attr]
            container.mux(packet)
    finally:
        container.close()
    data = buf.getvalue()
    return Encoded(data, hashlib.sha256(data).hexdigest(), sample_rate, round(samples.size / sample_rate, 3))


def new_id() -> str:
    return uuid.uuid4().hex[:16]


async def store_recording(db: AsyncEngine, *, kind: str, owner_id: str, encoded: Encoded,
                          retention_days: float, now: dt.datetime | None = None) -> str:
    """Insert one recording; returns its id. ``retention_days == 0`` keeps it until deleted by hand."""
    if kind not in KINDS:
        raise ValueError(f"recording kind must be one of {KINDS}")
    now = now or dt.datetime.now(dt.UTC)
    rec_id = new_id()
    expires = now + dt.timedelta(days=retention_days) if retention_days > 0 else None
    async with transaction(db) as conn:
        await conn.execute(recordings.insert().values(
            id=rec_id, kind=kind, owner_id=owner_id, codec=CODEC, sample_rate=encoded.sample_rate,
            seconds=encoded.seconds, bytes=len(encoded.data), sha256=encoded.sha256, data=encoded.data,
            created_at=now, expires_at=expires))
    return rec_id


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _iso(value: dt.datetime | None) -> str | None:
    value = _aware(value)
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z") if value else None


def recording_json(row: Any) -> dict[str, Any]:
    """Metadata of a recording (never the bytes)."""
    return {"id": row.id, "kind": row.kind, "owner_id": row.owner_id, "codec": row.codec,
            "sample_rate": row.sample_rate, "seconds": row.seconds, "bytes": row.bytes, "sha256": row.sha256,
            "created_at": _iso(row.created_at), "expires_at": _iso(row.expires_at),
            "deleted_at": _iso(row.deleted_at), "deleted_reason": row.deleted_reason}


async def recording_meta(db: AsyncEngine, rec_id: str) -> dict[str, Any] | None:
    cols = [c for c in recordings.c if c.name != "data"]
    async with db.connect() as conn:
        row = (await conn.execute(sa.select(*cols).where(recordings.c.id == rec_id))).first()
    return recording_json(row) if row else None


async def recordings_of(db: AsyncEngine, kind: str, owner_id: str) -> list[dict[str, Any]]:
    cols = [c for c in recordings.c if c.name != "data"]
    async with db.connect() as conn:
        rows = (await conn.execute(sa.select(*cols).where(recordings.c.kind == kind, recordings.c.owner_id == owner_id)
                                   .order_by(recordings.c.created_at, recordings.c.id))).all()
    return [recording_json(r) for r in rows]


async def recording_bytes(db: AsyncEngine, rec_id: str) -> tuple[dict[str, Any], bytes | None] | None:
    """(metadata, bytes or None when deleted) or None when there is no such recording."""
    async with db.connect() as conn:
        row = (await conn.execute(sa.select(recordings).where(recordings.c.id == rec_id))).first()
    if row is None:
        return None
    return recording_json(row), (bytes(row.data) if row.data is not None else None)


AuditFn = Callable[[str, str, str, Any, Any], Awaitable[None]]


async def sweep_expired(db: AsyncEngine, audit: AuditFn | None, *, now: dt.datetime | None = None,
                        limit: int = 500) -> list[str]:
    """Delete the audio of every recording past its expiry; one audit entry per recording deleted."""
    now = now or dt.datetime.now(dt.UTC)
    async with db.connect() as conn:
        due = (await conn.execute(sa.select(recordings.c.id, recordings.c.kind, recordings.c.owner_id,
                                            recordings.c.sha256, recordings.c.expires_at)
                                  .where(recordings.c.expires_at.is_not(None), recordings.c.expires_at <= now,
                                         recordings.c.deleted_at.is_(None)).limit(limit))).all()
    deleted = []
    for row in due:
        reason = f"retention period ended {_iso(row.expires_at)}"
        async with transaction(db) as conn:
            res = await conn.execute(recordings.update().where(recordings.c.id == row.id,
                                                               recordings.c.deleted_at.is_(None))
                                     .values(data=None, deleted_at=now, deleted_reason=reason))
        if res.rowcount != 1:
            continue  # another process got there first
        deleted.append(row.id)
        if audit is not None:
            await audit("retention", "audio.delete", f"recording:{row.id}",
                        {"kind": row.kind, "owner_id": row.owner_id, "sha256": row.sha256},
                        {"deleted_at": _iso(now), "reason": reason})
    return deleted
