"""Refuse new audio before the data disk fills up (the database lives there too).

Audio (radio recordings, interview recordings) is the only thing that grows by megabytes per
request. When the free space on the data directory's file system drops below the configured
minimum plus the incoming size, new audio is refused with 507 and a message an operator can act on,
and ``/readyz`` shows the ``disk`` component not ready; incidents, orders and transcripts (small
rows) keep being written, so dispatch is never starved by audio.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from aiohttp import web

from web import appkeys
from web.errors import ApiError

INSUFFICIENT_STORAGE = "insufficient_storage"


def free_bytes(path: Path) -> int:
    """Free bytes available to this process on the file system holding ``path``."""
    return int(shutil.disk_usage(path).free)


def room_for(path: Path, min_free_mb: float, incoming: int = 0) -> tuple[bool, int]:
    """(ok, free bytes): ok when ``incoming`` bytes still leave ``min_free_mb`` free."""
    free = free_bytes(path)
    return free - incoming >= min_free_mb * 1024 * 1024, free


def report(app: web.Application, min_free_mb: float) -> bool:
    """Set the ``disk`` component of /readyz from the data dir's free space; returns ok."""
    ok, free = room_for(app[appkeys.SETTINGS].data_dir, min_free_mb)
    detail = (f"{free // (1024 * 1024)} MB free" if ok else
              f"only {free // (1024 * 1024)} MB free, under the {min_free_mb:g} MB kept for the database "
              "(JINGYUN_AUDIO_MIN_FREE_MB): new audio is refused; free space or lower the audio retention")
    app[appkeys.READINESS].set("disk", ok, detail, free_mb=free // (1024 * 1024), min_free_mb=min_free_mb)
    return ok


def require_room(app: web.Application, min_free_mb: float, incoming: int, what: str = "audio") -> None:
    """Raise 507 (and mark /readyz) when storing ``incoming`` bytes would eat the reserve."""
    ok, free = room_for(app[appkeys.SETTINGS].data_dir, min_free_mb, incoming)
    report(app, min_free_mb)  # /readyz follows the disk both ways
    if ok:
        return
    raise ApiError(507, INSUFFICIENT_STORAGE,
                   f"the server's disk is nearly full ({free // (1024 * 1024)} MB free, "
                   f"{min_free_mb:g} MB are kept for the database): new {what} is refused; "
                   "the record itself is kept, retry after an operator frees space",
                   free_mb=free // (1024 * 1024), min_free_mb=min_free_mb)
