"""``jingyun evidence verify``: re-hash every kept file and compare with the hash taken on receipt.

The store hands over plain rows (``id``, ``sha256``, ``size``, ``path`` relative to the evidence
directory); each one yields a :class:`FileCheck`. Every row is reported, including the ones that pass,
so a run's total always equals the number of kept items and nothing is skipped without a word.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHUNK = 1 << 20
STATUSES = ("ok", "mismatch", "size_changed", "missing", "unreadable")


def hash_file(path: str | Path) -> tuple[str, int]:
    """sha256 and size of a file, read in 1 MiB pieces (evidence video can be gigabytes)."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


@dataclass(frozen=True)
class FileCheck:
    id: str
    status: str                 # one of STATUSES
    expected_sha256: str
    actual_sha256: str | None = None
    expected_size: int | None = None
    actual_size: int | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class VerifyReport:
    checks: list[FileCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def problems(self) -> list[FileCheck]:
        return [c for c in self.checks if not c.ok]

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        for c in self.checks:
            out[c.status] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "files": len(self.checks), "counts": self.counts(),
                "problems": [vars(c) | {"ok": c.ok} for c in self.problems]}


def check_file(root: Path, row: Mapping[str, Any]) -> FileCheck:
    ident, expected = str(row["id"]), str(row["sha256"])
    expected_size = row.get("size")
    path = root / str(row["path"])
    # A path that climbs out of the evidence directory is treated as missing, never followed.
    if not path.resolve().is_relative_to(root.resolve()):
        return FileCheck(ident, "missing", expected, expected_size=expected_size,
                         message=f"evidence {ident}: stored path {row['path']!r} is outside the evidence directory")
    try:
        actual, size = hash_file(path)
    except FileNotFoundError:
        return FileCheck(ident, "missing", expected, expected_size=expected_size,
                         message=f"evidence {ident}: file {path} is missing")
    except OSError as exc:
        return FileCheck(ident, "unreadable", expected, expected_size=expected_size,
                         message=f"evidence {ident}: file {path} cannot be read: {exc.strerror or exc}")
    if actual != expected:
        return FileCheck(ident, "mismatch", expected, actual, expected_size, size,
                         f"evidence {ident}: file {path} has sha256 {actual}, but {expected} was recorded on receipt")
    if expected_size is not None and size != expected_size:
        # Same hash, other size cannot happen for sha256 in practice; reported anyway rather than assumed.
        return FileCheck(ident, "size_changed", expected, actual, expected_size, size,
                         f"evidence {ident}: file {path} is {size} bytes, {expected_size} were recorded")
    return FileCheck(ident, "ok", expected, actual, expected_size, size)


def iter_checks(root: str | Path, rows: Iterable[Mapping[str, Any]]) -> Iterator[FileCheck]:
    """One check per row, as it is done (a CLI can print progress on a long run)."""
    base = Path(root)
    for row in rows:
        yield check_file(base, row)


def verify_files(root: str | Path, rows: Iterable[Mapping[str, Any]]) -> VerifyReport:
    return VerifyReport(list(iter_checks(root, rows)))
