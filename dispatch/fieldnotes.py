"""Notes from the field: an officer of a unit the incident was given to writes what was seen or done and
may attach one photo to each note. Dispatchers may write notes too (without a unit).

A photo is streamed to disk through ``cases.upload.receive`` (size limit, sha256 as it passes, no partial
file ever visible) under ``<photos_dir>/<id[:2]>/<note id>.<ext>`` and only then registered on its note, in
one conditional UPDATE with its audit entry. If registering fails the file is deleted again, and a refused
or cut-off upload is itself audited (``incident.field_photo_refused``), so nothing is lost without a word.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from cases import fields
from cases.upload import StoredFile, check_declared_size, receive
from common import images
from common.ids import new_id
from dispatch import views
from dispatch.closing import PHOTO_TYPES, check_note_text, photo_type
from dispatch.context import Context
from dispatch.errors import Conflict, Forbidden, InvalidInput, NotFound
from dispatch.incidents import unit_assigned
from dispatch.model import iso, utcnow
from dispatch.tables import field_notes

log = logging.getLogger("jingyun.dispatch")
_background: set[asyncio.Task[None]] = set()  # refusal records still being written


async def _check_unit(ctx: Context, incident_id: str, unit_id: str | None) -> None:
    """Officers: only a unit the incident was given to. Checked before anything is read, so another unit
    learns nothing about the incident, not even whether it exists."""
    if unit_id is not None and not await unit_assigned(ctx, incident_id, unit_id):
        raise Forbidden(f"field notes of incident {incident_id} are for the units it was given to; your unit "
                        f"({unit_id}) holds no order for it")


async def add(ctx: Context, incident_id: str, *, text: Any, actor: str, unit_id: str | None = None) -> dict[str, Any]:
    """Write a note on the incident (``unit_id``: the officer's unit, None for dispatchers)."""
    await _check_unit(ctx, incident_id, unit_id)
    text = check_note_text(text)
    now = utcnow()
    note_id = new_id()
    row = {"id": note_id, "incident_id": incident_id, "unit_id": unit_id, "author": actor, "text": text,
           "created_at": now, "photo_path": None, "photo_type": None, "photo_size": None, "photo_sha256": None,
           "photo_at": None}
    async with ctx.store.tx() as conn:
        inc = await ctx.store.incident_row(incident_id, conn, lock=True)
        count = (await conn.execute(sa.select(sa.func.count()).select_from(field_notes)
                                    .where(field_notes.c.incident_id == incident_id))).scalar_one()
        if count >= ctx.settings.max_field_notes:
            raise Conflict(f"incident {inc['number']} already holds {count} field notes, the most "
                           f"JINGYUN_MAX_FIELD_NOTES allows", limit=ctx.settings.max_field_notes)
        await conn.execute(field_notes.insert().values(**row))
        await ctx.store.audit(conn, actor, "incident.field_note", f"incident:{incident_id}", None,
                              {"note_id": note_id, "unit_id": unit_id, "text": text})
    ctx.console.emit("incident", incident_id)
    return views.field_note_json(row)


async def list_for(ctx: Context, incident_id: str, *, unit_id: str | None = None) -> list[dict[str, Any]]:
    """The incident's notes, oldest first."""
    await _check_unit(ctx, incident_id, unit_id)
    await ctx.store.incident_row(incident_id)
    async with ctx.store.engine.connect() as conn:
        rows = (await conn.execute(sa.select(field_notes).where(field_notes.c.incident_id == incident_id)
                                   .order_by(field_notes.c.created_at, field_notes.c.id))).all()
    return [views.field_note_json(dict(r._mapping)) for r in rows]


async def note_row(ctx: Context, incident_id: str, note_id: str, *, unit_id: str | None = None) -> dict[str, Any]:
    """One note of the incident (404 for a note of another incident)."""
    await _check_unit(ctx, incident_id, unit_id)
    async with ctx.store.engine.connect() as conn:
        row = (await conn.execute(sa.select(field_notes).where(field_notes.c.id == note_id,
                                                               field_notes.c.incident_id == incident_id))).first()
    if row is None:
        raise NotFound(f"incident {incident_id} has no field note {note_id!r}")
    return dict(row._mapping)


def photo_file(photos_dir: Path, row: dict[str, Any]) -> Path:
    """Where a note's kept photo is; 404 when the note has none (or the path would leave the directory)."""
    if not row["photo_path"]:
        raise NotFound(f"field note {row['id']} has no photo")
    root = photos_dir.resolve()
    path = (root / row["photo_path"]).resolve()
    if root not in path.parents:
        raise NotFound(f"field note {row['id']} has no photo")
    return path


async def attach_photo(ctx: Context, incident_id: str, note_id: str, chunks: AsyncIterable[bytes], *,
                       content_type: str | None, content_length: str | None, expected_sha256: str | None,
                       actor: str, unit_id: str | None = None) -> dict[str, Any]:
    """Stream one photo onto a note and register it; kept whole or not at all.

    Officers may add a photo only to a note their own unit wrote; a note keeps its first photo (409 for a
    second: a new photo is a new note). ``content_length`` (the request header) over the limit is a 413
    before any byte is read, and the body must then be exactly that long. Errors of ``cases.upload`` (413
    too large, 400 cut off / empty / hash mismatch) propagate after the refusal is audited, as does a
    body whose first bytes are not the declared image type (400).
    """
    if ctx.photos_dir is None:
        raise Conflict("this server process keeps no field photos (no photo directory configured)")
    row = await note_row(ctx, incident_id, note_id, unit_id=unit_id)
    if unit_id is not None and row["unit_id"] != unit_id:
        raise Forbidden(f"field note {note_id} was written by another unit; add your photo to a note of your own")
    if row["photo_path"]:
        raise Conflict(f"field note {note_id} already has its photo (sha256 {row['photo_sha256']}); a kept photo "
                       "is never replaced: write a new note for another photo", sha256=row["photo_sha256"])
    media, ext = photo_type(content_type)
    if expected_sha256 is not None:
        expected_sha256 = fields.sha256(expected_sha256, "X-Content-SHA256")
    declared_size = check_declared_size(content_length, ctx.settings.field_photo_max_bytes)
    rel = f"{note_id[:2]}/{note_id}.{ext}"

    def check(kind: str | None, head: bytes) -> None:
        # The photo is served back with its kept type: the bytes must be what the client declared.
        if kind != media:
            shown = f"a {kind} image" if kind else f"no image type Jingyun knows (first bytes {head.hex(' ')})"
            raise InvalidInput(f"the body was declared {media} but is {shown}; send the photo with its own "
                               f"Content-Type (one of {', '.join(PHOTO_TYPES)})", field="body",
                               accepted=list(PHOTO_TYPES))

    try:
        stored = await receive(images.Sniffer(chunks, check), ctx.photos_dir / note_id[:2], f"{note_id}.{ext}",
                               max_bytes=ctx.settings.field_photo_max_bytes, expected_sha256=expected_sha256,
                               expected_size=declared_size, executor=ctx.executor)
    except asyncio.CancelledError:
        # The client went away and the server cancelled the request (aiohttp's handler_cancellation):
        # the record of the attempt is written by a task of its own, as this one may no longer wait.
        task = asyncio.get_running_loop().create_task(
            _refused(ctx, incident_id, note_id, actor, ConnectionResetError("the client went away mid-upload"),
                     declared_size))
        _background.add(task)
        task.add_done_callback(_background.discard)
        raise
    except Exception as exc:
        await _refused(ctx, incident_id, note_id, actor, exc, declared_size)
        raise
    try:
        return await _register(ctx, incident_id, note_id, stored, rel, media, actor)
    except BaseException:
        # Not registered: the file must not stay behind as an orphan nobody can account for.
        with contextlib.suppress(OSError):
            stored.path.unlink()
        raise


async def _register(ctx: Context, incident_id: str, note_id: str, stored: StoredFile, rel: str, media: str,
                    actor: str) -> dict[str, Any]:
    now = utcnow()
    values = {"photo_path": rel, "photo_type": media, "photo_size": stored.size, "photo_sha256": stored.sha256,
              "photo_at": now}
    async with ctx.store.tx() as conn:
        done = await conn.execute(field_notes.update().where(field_notes.c.id == note_id,
                                                             field_notes.c.photo_path.is_(None)).values(**values))
        if done.rowcount != 1:
            raise Conflict(f"field note {note_id} got another photo meanwhile; a kept photo is never replaced")
        await ctx.store.audit(conn, actor, "incident.field_photo", f"incident:{incident_id}", None,
                              {"note_id": note_id, "sha256": stored.sha256, "size": stored.size,
                               "content_type": media, "path": rel, "at": iso(now)})
    ctx.console.emit("incident", incident_id)
    return views.field_note_json(await note_row(ctx, incident_id, note_id))


async def _refused(ctx: Context, incident_id: str, note_id: str, actor: str, exc: Exception,
                   declared_size: int | None) -> None:
    """Audit an upload that was not kept (too large, cut off, hash mismatch): a record that it was tried."""
    reason = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}" or type(exc).__name__
    try:
        async with ctx.store.tx() as conn:
            await ctx.store.audit(conn, actor, "incident.field_photo_refused", f"incident:{incident_id}", None,
                                  {"note_id": note_id, "reason": str(reason)[:500], "declared_size": declared_size})
    except Exception:  # the upload's own error is what the caller must see
        log.exception("could not audit the refused photo upload for note %s", note_id)
