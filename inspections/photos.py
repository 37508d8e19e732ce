"""Inspection photos on disk: streamed in through ``cases.upload`` (size limit, sha256 measured on
receipt, kept whole or not at all), checked to be a JPEG, PNG or WebP image by their first bytes.

The store registers a photo only after the file is complete and durable; a photo whose registration
fails is deleted again, so there is never a file without its row nor a row without its file.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterable
from pathlib import Path
from typing import ClassVar

from cases.errors import InvalidInput
from common import images

# Image types accepted. The file is kept under the photo's id; its type is in its row.
TYPES = ("image/jpeg", "image/png", "image/webp")
# What a client may declare: the image's own type, or "some bytes" (the first bytes decide).
DECLARED = (*TYPES, "application/octet-stream")
CHUNK = 64 * 1024


class UnsupportedPhoto(InvalidInput):
    """The body is not an image of an accepted type (HTTP 415)."""

    status: ClassVar[int] = 415
    code: ClassVar[str] = "unsupported_media_type"


def accepted_text() -> str:
    return "a JPEG, PNG or WebP image sent as the request body (Content-Type " + ", ".join(DECLARED) + ")"


def check_declared(content_type: str) -> None:
    if content_type not in DECLARED:
        raise UnsupportedPhoto(f"Content-Type {content_type or '(none)'!r} is not accepted; send {accepted_text()}",
                               field="Content-Type", accepted=list(DECLARED))


class Sniffer(images.Sniffer):
    """Passes chunks through, deciding the image type from the first bytes (refusing anything but
    JPEG, PNG or WebP)."""

    def __init__(self, chunks: AsyncIterable[bytes]) -> None:
        super().__init__(chunks, _check)


def _check(kind: str | None, head: bytes) -> None:
    if kind not in TYPES:
        raise UnsupportedPhoto(f"the body is not {accepted_text()}: its first bytes are "
                               f"{head.hex(' ') or '(none)'}", field="body", accepted=list(TYPES))


def relative_dir(building_id: str) -> Path:
    """Where a building's photos are kept, relative to the data dir."""
    return Path("inspections") / "photos" / building_id


def discard(path: Path) -> None:
    """Delete a kept photo that is not (or no longer to be) registered."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
