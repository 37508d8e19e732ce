"""The channel registry: id, name, talkgroup, language hint, hotwords and decode priority.

Priority is 0-10 (10 decoded first under load), the same scale dispatch uses for incidents, so
an emergency talkgroup outranks a routine one when the ASR engine is behind.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from common.db import transaction
from voice.radio.tables import channels

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
LANG_RE = re.compile(r"^[a-z]{2,3}$")
DEFAULT_PRIORITY = 5


class ChannelError(ValueError):
    """Bad channel fields; ``field`` names the one at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


@dataclass(frozen=True)
class Channel:
    id: str
    name: str
    system: str | None = None
    talkgroup: str | None = None
    language: str | None = None
    hotwords: str | None = None
    priority: int = DEFAULT_PRIORITY
    auto_created: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "system": self.system, "talkgroup": self.talkgroup,
                "language": self.language, "hotwords": self.hotwords, "priority": self.priority,
                "auto_created": self.auto_created}


def _opt_str(data: dict[str, Any], name: str, max_len: int) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or len(value) > max_len:
        raise ChannelError(name, f"{name} must be a string of at most {max_len} characters")
    return value.strip() or None


def check_channel(data: Any, *, channel_id: str | None = None, current: Channel | None = None) -> Channel:
    """Validate a JSON body into a Channel; on update, missing fields keep ``current`` values."""
    if not isinstance(data, dict):
        raise ChannelError("body", "the channel must be a JSON object")
    base = current.to_dict() if current else {}
    merged = {**base, **{k: v for k, v in data.items() if k != "id"}}
    cid = channel_id or data.get("id")
    if not isinstance(cid, str) or not ID_RE.match(cid):
        raise ChannelError("id", "id must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit")
    name = merged.get("name") or cid
    if not isinstance(name, str) or len(name) > 200:
        raise ChannelError("name", "name must be a string of at most 200 characters")
    language = _opt_str(merged, "language", 16)
    if language is not None and language != "auto" and not LANG_RE.match(language):
        raise ChannelError("language", f"language must be a code such as zh, en or yue (or auto), got {language!r}")
    if language == "auto":
        language = None
    priority = merged.get("priority", DEFAULT_PRIORITY)
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 10:
        raise ChannelError("priority", f"priority must be an integer from 0 (decoded last) to 10 (first), "
                                       f"got {priority!r}")
    system = _opt_str(merged, "system", 32)
    talkgroup = _opt_str(merged, "talkgroup", 32)
    for fname, val in (("system", system), ("talkgroup", talkgroup)):
        if val is not None and not val.isdigit():
            raise ChannelError(fname, f"{fname} must be the recorder's integer id, got {val!r}")
    hotwords = _opt_str(merged, "hotwords", 1000)
    if hotwords:
        from analytics.status_phrases import find_statuses

        echoed = find_statuses(hotwords)
        if echoed:
            # Whisper repeats its prompt on unclear audio ("到达现场 已到现场" from a fire report, measured
            # with the base model): a status phrase here would change a unit's status on words nobody said.
            raise ChannelError("hotwords", "hotwords must not contain status phrases ("
                               + ", ".join(sorted({m.evidence for m in echoed})) + "): the model can echo "
                               "hotwords on unclear audio, which would change a unit's status on words nobody said")
    return Channel(cid, name.strip() or cid, system, talkgroup, language, hotwords,
                   priority, bool(merged.get("auto_created", False)) if current else False)


def _row(row: Any) -> Channel:
    return Channel(row.id, row.name, row.system, row.talkgroup, row.language, row.hotwords, row.priority,
                   bool(row.auto_created))


class ChannelStore:
    """Channels in SQL."""

    def __init__(self, db: AsyncEngine) -> None:
        self.db = db

    async def get(self, channel_id: str) -> Channel | None:
        async with self.db.connect() as conn:
            row = (await conn.execute(sa.select(channels).where(channels.c.id == channel_id))).first()
        return _row(row) if row else None

    async def list(self) -> list[Channel]:
        async with self.db.connect() as conn:
            rows = (await conn.execute(sa.select(channels).order_by(sa.desc(channels.c.priority),
                                                                    channels.c.id))).all()
        return [_row(r) for r in rows]

    async def by_talkgroup(self, system: str, talkgroup: str) -> Channel | None:
        """The channel of a recorder's talkgroup: exact (system, talkgroup) first, then talkgroup alone."""
        async with self.db.connect() as conn:
            rows = (await conn.execute(sa.select(channels).where(channels.c.talkgroup == talkgroup))).all()
        exact = [r for r in rows if r.system == system]
        loose = [r for r in rows if r.system is None]
        pick = exact or loose
        return _row(sorted(pick, key=lambda r: r.id)[0]) if pick else None

    async def save(self, channel: Channel, *, create: bool) -> Channel:
        now = dt.datetime.now(dt.UTC)
        values = {k: v for k, v in channel.to_dict().items() if k != "id"}
        async with transaction(self.db) as conn:
            exists = (await conn.execute(sa.select(channels.c.id).where(channels.c.id == channel.id))).first()
            if create and exists:
                raise ChannelError("id", f"a channel with id {channel.id!r} already exists; PUT "
                                         f"/api/radio/channels/{channel.id} to change it")
            if exists:
                await conn.execute(channels.update().where(channels.c.id == channel.id).values(**values,
                                                                                               updated_at=now))
            else:
                await conn.execute(channels.insert().values(id=channel.id, **values, created_at=now, updated_at=now))
        return channel

    async def ensure_for_talkgroup(self, system: str, talkgroup: str, label: str) -> Channel:
        """The talkgroup's channel, created with default priority the first time a recorder sends it."""
        found = await self.by_talkgroup(system, talkgroup)
        if found:
            return found
        channel = Channel(f"tg-{system}-{talkgroup}", (label or f"talkgroup {talkgroup}")[:200], system, talkgroup,
                          auto_created=True)
        try:
            await self.save(channel, create=True)
        except (ChannelError, sa.exc.IntegrityError):
            # Two uploads of a new talkgroup at once: the other one created it.
            pass
        return await self.get(channel.id) or channel

    async def ensure(self, channel_id: str) -> Channel:
        """The channel, created with defaults the first time an authorised gateway streams on it
        (the rule recorder uploads follow). Raises ``ChannelError`` for an id that is not accepted."""
        found = await self.get(channel_id)
        if found:
            return found
        channel = dataclasses.replace(check_channel({"id": channel_id}), auto_created=True)
        try:
            await self.save(channel, create=True)
        except (ChannelError, sa.exc.IntegrityError):
            pass  # two gateways opened the new channel at once: the other one created it
        return await self.get(channel.id) or channel

    async def delete(self, channel_id: str) -> bool:
        async with transaction(self.db) as conn:
            res = await conn.execute(channels.delete().where(channels.c.id == channel_id))
        return bool(res.rowcount)
