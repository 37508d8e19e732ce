"""What an uploaded image really is, from its first bytes: a declared Content-Type is the client's word,
and photos are served back to consoles, so the kept type must be the one the bytes show."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable

# Enough for every signature below (the ISO-BMFF ``ftyp`` brand ends at byte 12).
SNIFF_BYTES = 12
# ISO-BMFF brands of HEIF/HEIC stills (phones' default camera format).
_HEIF_BRANDS = {b"heic": "image/heic", b"heix": "image/heic", b"hevc": "image/heic", b"heim": "image/heic",
                b"heis": "image/heic", b"mif1": "image/heif", b"msf1": "image/heif", b"heif": "image/heif"}


def sniff(head: bytes) -> str | None:
    """The image type the first bytes show (JPEG, PNG, WebP, GIF, HEIC/HEIF), or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return _HEIF_BRANDS.get(head[8:12])
    return None


class Sniffer:
    """Passes chunks through, deciding the image type from the first bytes; ``check(kind, head)`` raises
    (ending the upload) when that type is not acceptable. ``kind`` is the type once decided."""

    def __init__(self, chunks: AsyncIterable[bytes], check: Callable[[str | None, bytes], None]) -> None:
        self.chunks = chunks
        self.check = check
        self.kind: str | None = None
        self._head = b""
        self._decided = False

    def _decide(self) -> None:
        self._decided = True
        self.kind = sniff(self._head)
        self.check(self.kind, self._head[:SNIFF_BYTES])

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.chunks:
            if not self._decided and chunk:
                self._head += chunk[:SNIFF_BYTES]
                if len(self._head) >= SNIFF_BYTES:
                    self._decide()
            yield chunk
        if not self._decided and self._head:
            self._decide()  # a tiny body: decided on what there is
