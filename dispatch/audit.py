"""The audit log: append-only, each entry chained to the previous one by sha256.

``entry_hash`` covers seq, time, actor, action, target, before, after and the previous hash, so
changing any field of any entry, inserting one or removing one breaks the chain at that point.
Removing entries from the end is caught by comparing with the head kept in Redis
(:func:`dispatch.keys.audit_head`). :func:`verify_chain` is pure and reports the first break.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dispatch.model import iso
from dispatch.tables import audit_log

GENESIS = "0" * 64


def canonical(value: Any) -> str:
    """The exact JSON text that is stored and hashed (sorted keys, no spaces, UTF-8 kept)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(seq: int, at: str, actor: str, action: str, target: str, before: str, after: str,
               prev_hash: str) -> str:
    """sha256 over the entry's fields and the previous entry's hash."""
    body = canonical([seq, at, actor, action, target, before, after, prev_hash])
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    problem: str = ""          # modified | inserted_or_removed | removed_at_end | ""
    seq: int | None = None     # the first entry where the chain breaks
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "problem": self.problem, "seq": self.seq,
                "message": self.message}


def verify_chain(rows: Iterable[Mapping[str, Any]], head: tuple[int, str] | None = None) -> VerifyResult:
    """Walk the entries in ``seq`` order and report the first modified, inserted or removed one.

    ``head`` is the (seq, hash) recorded when the last entry was written; without it, entries
    removed from the very end cannot be told apart from entries never written.
    """
    prev_hash, expected_seq, count = GENESIS, 1, 0
    last: tuple[int, str] | None = None
    for row in rows:
        count += 1
        seq = int(row["seq"])
        recomputed = entry_hash(seq, row["at"], row["actor"], row["action"], row["target"],
                                row["before"], row["after"], row["prev_hash"])
        if recomputed != row["hash"]:
            return VerifyResult(False, count, "modified", seq,
                                f"entry {seq} was modified: its content no longer matches its hash")
        if seq != expected_seq:
            what = "removed" if seq > expected_seq else "inserted"
            return VerifyResult(False, count, "inserted_or_removed", seq,
                                f"entry {seq}: expected entry {expected_seq} here; entries were {what} "
                                f"before it")
        if row["prev_hash"] != prev_hash:
            return VerifyResult(False, count, "inserted_or_removed", seq,
                                f"entry {seq} does not chain to entry {seq - 1}: an entry before it was "
                                "inserted, removed or rewritten")
        prev_hash, expected_seq, last = row["hash"], seq + 1, (seq, row["hash"])
    if head is not None and head != (last or (0, GENESIS)):
        have = last[0] if last else 0
        if head[0] > have:
            return VerifyResult(False, count, "removed_at_end", have + 1,
                                f"entries {have + 1}..{head[0]} were removed from the end of the log")
        return VerifyResult(False, count, "modified", head[0],
                            f"entry {head[0]} differs from the recorded head of the log")
    return VerifyResult(True, count, message=f"{count} entries, chain intact")


async def append(conn: AsyncConnection, *, actor: str, action: str, target: str, before: Any, after: Any,
                 at: dt.datetime | None = None) -> tuple[int, str]:
    """Append one entry inside the caller's transaction; returns (seq, hash).

    The caller serialises appends (a PostgreSQL advisory lock or the SQLite writer lock), so
    ``seq`` is gap-free and each entry chains to the true previous one.
    """
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.text("SELECT pg_advisory_xact_lock(7420802)"))
    last = (await conn.execute(sa.select(audit_log.c.seq, audit_log.c.hash)
                               .order_by(audit_log.c.seq.desc()).limit(1))).first()
    seq = (last.seq + 1) if last else 1
    prev = last.hash if last else GENESIS
    when = iso(at or dt.datetime.now(dt.UTC))  # dispatch's format: the hash covers these exact characters
    b, a = canonical(before), canonical(after)
    digest = entry_hash(seq, when, actor, action, target, b, a, prev)
    await conn.execute(audit_log.insert().values(seq=seq, at=when, actor=actor, action=action, target=target,
                                                 before=b, after=a, prev_hash=prev, hash=digest))
    return seq, digest


async def read_all(conn: AsyncConnection) -> list[dict[str, Any]]:
    """Every entry in seq order, as stored."""
    result = await conn.execute(sa.select(audit_log).order_by(audit_log.c.seq))
    return [dict(r._mapping) for r in result]
