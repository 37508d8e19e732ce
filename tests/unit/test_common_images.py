"""An image's type from its first bytes (common/images.py): pure."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from common.images import Sniffer, sniff

HEADS = {
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01": "image/jpeg",
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR": "image/png",
    b"RIFF\x24\x00\x00\x00WEBPVP8 ": "image/webp",
    b"GIF89a\x01\x00\x01\x00\x00\x00": "image/gif",
    b"\x00\x00\x00\x18ftypheic\x00\x00": "image/heic",
    b"\x00\x00\x00\x18ftypmif1\x00\x00": "image/heif",
}


@pytest.mark.parametrize(("head", "kind"), HEADS.items())
def test_each_accepted_image_type_is_recognised_by_its_first_bytes(head: bytes, kind: str) -> None:
    assert sniff(head) == kind


@pytest.mark.parametrize("head", [b"<svg xmlns=", b"<html><script>", b"\x00\x00\x00\x18ftypisom\x00\x00",
                                  b"RIFF\x24\x00\x00\x00WAVEfmt ", b"%PDF-1.7", b""])
def test_anything_else_is_no_image(head: bytes) -> None:
    assert sniff(head) is None


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for p in parts:
        yield p


async def test_the_sniffer_decides_on_the_first_bytes_across_chunks_and_passes_everything_through() -> None:
    seen: list[tuple[str | None, bytes]] = []
    sniffer = Sniffer(_chunks(b"\x89PN", b"G\r\n\x1a\n", b"\x00\x00\x00\rIHDR...", b"rest"),
                      lambda kind, head: seen.append((kind, head)))
    assert b"".join([c async for c in sniffer]) == b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR...rest"
    assert sniffer.kind == "image/png" and seen == [("image/png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\r")]


async def test_the_sniffers_check_ends_the_upload_and_a_tiny_body_is_still_checked() -> None:
    def refuse(kind: str | None, head: bytes) -> None:
        raise ValueError(f"{kind} {head!r}")

    with pytest.raises(ValueError, match="None b'<svg/>'"):
        _ = [c async for c in Sniffer(_chunks(b"<svg/>"), refuse)]
    received: list[bytes] = []
    with pytest.raises(ValueError, match="None"):
        async for c in Sniffer(_chunks(b"<html><body>hello", b"more"), refuse):
            received.append(c)
    assert received == []  # refused before the first chunk went on
