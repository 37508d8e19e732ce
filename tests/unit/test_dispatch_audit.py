"""The audit hash chain: any modified, inserted or removed entry is found, and named."""

from __future__ import annotations

from typing import Any

from dispatch.audit import GENESIS, canonical, entry_hash, verify_chain


def make_chain(n: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    prev = GENESIS
    for seq in range(1, n + 1):
        row: dict[str, Any] = {
               "seq": seq, "at": f"2026-01-01T00:00:{seq:02d}Z", "actor": "dispatcher", "action": "unit.status",
               "target": f"unit:{seq}", "before": canonical({"status": "available"}),
               "after": canonical({"status": "dispatched", "n": seq}), "prev_hash": prev}
        row["hash"] = entry_hash(seq, row["at"], row["actor"], row["action"], row["target"], row["before"],
                                 row["after"], prev)
        rows.append(row)
        prev = row["hash"]
    return rows


def test_intact_chain_verifies_with_and_without_head() -> None:
    rows = make_chain(5)
    assert verify_chain(rows).ok
    result = verify_chain(rows, (5, rows[-1]["hash"]))
    assert result.ok and result.entries == 5


def test_modified_entry_is_named() -> None:
    rows = make_chain(5)
    rows[2]["after"] = canonical({"status": "closed"})
    result = verify_chain(rows)
    assert (result.ok, result.problem, result.seq) == (False, "modified", 3)
    assert "entry 3 was modified" in result.message


def test_rehashed_modification_breaks_the_next_link() -> None:
    rows = make_chain(5)
    r = rows[1]
    r["actor"] = "someone-else"
    r["hash"] = entry_hash(r["seq"], r["at"], r["actor"], r["action"], r["target"], r["before"], r["after"],
                           r["prev_hash"])
    result = verify_chain(rows)
    assert (result.problem, result.seq) == ("inserted_or_removed", 3)


def test_removed_entry_is_found_by_the_gap() -> None:
    rows = make_chain(5)
    del rows[1]
    result = verify_chain(rows)
    assert (result.ok, result.seq) == (False, 3)
    assert "expected entry 2" in result.message and "removed" in result.message


def test_removed_tail_is_found_only_with_the_head() -> None:
    rows = make_chain(5)
    head = (5, rows[-1]["hash"])
    assert verify_chain(rows[:3]).ok  # without an outside anchor a shorter chain looks complete
    result = verify_chain(rows[:3], head)
    assert (result.ok, result.problem, result.seq) == (False, "removed_at_end", 4)


def test_inserted_entry_is_found() -> None:
    rows = make_chain(3)
    fake = dict(rows[1])
    fake["seq"] = 2
    rows.insert(2, fake)
    result = verify_chain(rows)
    assert not result.ok and result.seq == 2 and result.problem == "inserted_or_removed"


def test_canonical_json_is_stable() -> None:
    assert canonical({"b": 1, "a": "警"}) == '{"a":"警","b":1}'
