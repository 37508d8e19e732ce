"""Streamed uploads that are kept whole or not at all.

Bytes go to a hidden temporary file in the destination directory while their count is checked against
the limit and their sha256 is computed as they pass. Only :meth:`StreamedUpload.commit` makes the file
visible, by an atomic hard link (or rename) to its final name; a cut-off, over-limit, empty or
hash-mismatched upload deletes the temporary file, so no partial file is ever registered. The
temporary file lives in the same directory so the final step is one atomic operation on one file
system. Kept files are made read-only: evidence is never rewritten in place.

The class is plain blocking file I/O; :func:`receive` drives it from an async chunk iterator (an
aiohttp ``request.content.iter_chunked(...)``) and can run the writes in an executor.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import os
import re
import tempfile
import time
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, TypeVar

from cases.errors import Conflict, IncompleteUpload, InvalidInput, TooLarge

TEMP_PREFIX = ".upload-"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-.]{0,127}$")
KEPT_MODE = 0o440
T = TypeVar("T")


@dataclass(frozen=True)
class StoredFile:
    path: Path
    sha256: str
    size: int


def fsync_dir(directory: Path) -> None:
    """Make a rename or link durable (the directory entry is data too)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class StreamedUpload:
    """One upload in progress. Use as a context manager: leaving it without :meth:`commit` aborts."""

    def __init__(self, directory: str | Path, name: str, *, max_bytes: int, expected_sha256: str | None = None,
                 expected_size: int | None = None) -> None:
        if not NAME_RE.match(name):
            raise ValueError(f"stored file name must be 1-128 letters, digits, '_', '-', '.', got {name!r}")
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        if expected_size is not None and expected_size > max_bytes:
            raise TooLarge(f"the file is {expected_size} bytes; at most {max_bytes} bytes are accepted",
                           limit=max_bytes, size=expected_size)
        self.directory = Path(directory)
        self.final_path = self.directory / name
        self.max_bytes = max_bytes
        self.expected_sha256 = expected_sha256.lower() if expected_sha256 else None
        self.expected_size = expected_size
        self.size = 0
        self._hash = hashlib.sha256()
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.final_path.exists():
            # Checked up front to fail before reading the body; commit() checks again atomically.
            raise Conflict(f"a file named {name} is already kept; kept files are never replaced", name=name)
        fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=self.directory)
        self.temp_path = Path(tmp)
        self._file: BinaryIO | None = os.fdopen(fd, "wb")
        self.done = False

    def write(self, chunk: bytes) -> None:
        """Add a chunk; past the limit the upload is aborted and :class:`TooLarge` raised."""
        if self.done:
            raise RuntimeError("upload already committed or aborted")
        if self.size + len(chunk) > self.max_bytes:
            self.abort()
            raise TooLarge(f"the file is larger than the {self.max_bytes} bytes accepted; nothing was kept",
                           limit=self.max_bytes)
        assert self._file is not None
        self._hash.update(chunk)
        self._file.write(chunk)
        self.size += len(chunk)

    def commit(self) -> StoredFile:
        """Check size and hash, flush to disk, and make the file visible under its final name."""
        if self.done:
            raise RuntimeError("upload already committed or aborted")
        digest = self._hash.hexdigest()
        problem: IncompleteUpload | None = None
        if self.size == 0:
            problem = IncompleteUpload("the file is empty; nothing was kept", field="file")
        elif self.expected_size is not None and self.size != self.expected_size:
            problem = IncompleteUpload(f"the upload ended after {self.size} of the {self.expected_size} bytes declared;"
                                       " nothing was kept, send the whole file again",
                                       field="file", received=self.size, declared=self.expected_size)
        elif self.expected_sha256 is not None and digest != self.expected_sha256:
            problem = IncompleteUpload(f"the file received has sha256 {digest}, not the {self.expected_sha256} "
                                       "declared; nothing was kept", field="file", actual=digest,
                                       expected=self.expected_sha256)
        if problem is not None:
            self.abort()
            raise problem
        published = False
        try:
            fh = self._file
            assert fh is not None
            fh.flush()
            os.fsync(fh.fileno())
            fh.close()
            self._file = None
            os.chmod(self.temp_path, KEPT_MODE)
            self._publish()
            published = True
            fsync_dir(self.directory)
        except BaseException:
            if published:
                # Not known to be durable, and the caller will not register it: take it back out, so a
                # retry is not refused as "already kept" and no unregistered file stays behind.
                with contextlib.suppress(OSError):
                    self.final_path.unlink()
            self.abort()
            raise
        self.done = True
        return StoredFile(self.final_path, digest, self.size)

    def _publish(self) -> None:
        try:
            # link() refuses to replace an existing name, atomically: two uploads racing for one
            # name cannot overwrite each other.
            os.link(self.temp_path, self.final_path)
        except FileExistsError:
            raise Conflict(f"a file named {self.final_path.name} is already kept; kept files are never replaced",
                           name=self.final_path.name) from None
        except OSError:
            # File systems without hard links: rename is still atomic, the name check above is not.
            if self.final_path.exists():
                raise Conflict(f"a file named {self.final_path.name} is already kept",
                               name=self.final_path.name) from None
            os.rename(self.temp_path, self.final_path)
            return
        # The file is published; a temporary name that cannot be removed is swept at start-up instead
        # of failing an upload that succeeded.
        with contextlib.suppress(OSError):
            self.temp_path.unlink()

    def abort(self) -> None:
        """Throw the partial file away. Safe to call twice."""
        if self.done:
            return
        self.done = True
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None
        with contextlib.suppress(FileNotFoundError):
            self.temp_path.unlink()

    def __enter__(self) -> StreamedUpload:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.abort()


async def receive(chunks: AsyncIterable[bytes], directory: str | Path, name: str, *, max_bytes: int,
                  expected_sha256: str | None = None, expected_size: int | None = None,
                  executor: concurrent.futures.Executor | None = None) -> StoredFile:
    """Stream ``chunks`` into ``directory/name``; on any error (the client went away mid-upload, too
    large, hash or size mismatch, cancellation) nothing is left behind and the error propagates.

    With ``executor``, the disk writes run there instead of on the event loop.
    """
    loop = asyncio.get_running_loop()

    async def call(fn: Callable[..., T], *args: object) -> T:
        if executor is None:
            return fn(*args)
        return await loop.run_in_executor(executor, fn, *args)

    upload = StreamedUpload(directory, name, max_bytes=max_bytes, expected_sha256=expected_sha256,
                            expected_size=expected_size)
    try:
        async for chunk in chunks:
            if chunk:
                await call(upload.write, chunk)
        stored = await call(upload.commit)
    except BaseException:
        upload.abort()
        raise
    return stored


def remove_stale_temps(directory: str | Path, *, older_than_s: float = 0.0) -> list[Path]:
    """Delete temporary files a crashed process left behind (call once at start-up, before serving).

    ``older_than_s``: only those not written to for that long. Several server processes share one
    evidence directory; a process starting must not delete the upload another one is receiving.
    """
    removed: list[Path] = []
    root = Path(directory)
    if not root.is_dir():
        return removed
    cutoff = time.time() - older_than_s
    for path in root.rglob(TEMP_PREFIX + "*"):
        with contextlib.suppress(FileNotFoundError):
            if older_than_s and path.stat().st_mtime > cutoff:
                continue
            path.unlink()
            removed.append(path)
    return removed


def check_declared_size(value: str | None, max_bytes: int) -> int | None:
    """A Content-Length (or declared size) header checked before reading: 413 at once when too big."""
    if value is None:
        return None
    if not value.isdigit():
        raise InvalidInput(f"Content-Length must be a whole number of bytes, got {value!r}", field="Content-Length")
    size = int(value)
    if size > max_bytes:
        raise TooLarge(f"the file is {size} bytes; at most {max_bytes} bytes are accepted", limit=max_bytes, size=size)
    return size
