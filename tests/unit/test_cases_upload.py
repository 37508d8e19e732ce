"""Streamed uploads: kept whole under the final name, or nothing left at all."""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cases.errors import Conflict, IncompleteUpload, InvalidInput, TooLarge
from cases.upload import (
    TEMP_PREFIX,
    StreamedUpload,
    check_declared_size,
    receive,
    remove_stale_temps,
)


async def chunks_of(*parts: bytes, fail_after: int | None = None) -> AsyncIterator[bytes]:
    for i, part in enumerate(parts):
        if fail_after is not None and i == fail_after:
            raise ConnectionResetError("client went away")
        await asyncio.sleep(0)
        yield part


def listing(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir())


async def test_whole_upload_is_kept_read_only_with_its_hash(tmp_path: Path) -> None:
    parts = [b"a" * 1000, b"b" * 10, b"c"]
    stored = await receive(chunks_of(*parts), tmp_path, "EV1", max_bytes=2000)
    data = b"".join(parts)
    assert stored.sha256 == hashlib.sha256(data).hexdigest() and stored.size == len(data)
    assert stored.path.read_bytes() == data
    assert listing(tmp_path) == ["EV1"]
    assert not os.stat(stored.path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


async def test_cut_off_upload_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(ConnectionResetError):
        await receive(chunks_of(b"x" * 100, b"y" * 100, b"z", fail_after=2), tmp_path, "EV1", max_bytes=2000)
    assert listing(tmp_path) == []


async def test_cancelled_upload_leaves_no_file(tmp_path: Path) -> None:
    gate = asyncio.Event()

    async def slow() -> AsyncIterator[bytes]:
        yield b"first"
        await gate.wait()
        yield b"never"

    task = asyncio.create_task(receive(slow(), tmp_path, "EV1", max_bytes=100))
    await asyncio.sleep(0.01)
    assert len(listing(tmp_path)) == 1 and listing(tmp_path)[0].startswith(TEMP_PREFIX)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert listing(tmp_path) == []


async def test_over_limit_upload_is_refused_and_removed(tmp_path: Path) -> None:
    with pytest.raises(TooLarge) as err:
        await receive(chunks_of(b"x" * 60, b"x" * 60), tmp_path, "EV1", max_bytes=100)
    assert err.value.status == 413 and "100 bytes" in err.value.message
    assert listing(tmp_path) == []


async def test_exactly_the_limit_is_accepted(tmp_path: Path) -> None:
    stored = await receive(chunks_of(b"x" * 50, b"x" * 50), tmp_path, "EV1", max_bytes=100)
    assert stored.size == 100


async def test_declared_size_too_big_is_refused_before_any_byte(tmp_path: Path) -> None:
    with pytest.raises(TooLarge):
        StreamedUpload(tmp_path, "EV1", max_bytes=100, expected_size=101)
    assert listing(tmp_path) == []


async def test_short_upload_against_declared_size_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(IncompleteUpload) as err:
        await receive(chunks_of(b"x" * 50), tmp_path, "EV1", max_bytes=100, expected_size=80)
    assert err.value.details == {"field": "file", "received": 50, "declared": 80}
    assert listing(tmp_path) == []


async def test_empty_upload_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IncompleteUpload, match="empty"):
        await receive(chunks_of(), tmp_path, "EV1", max_bytes=100)
    assert listing(tmp_path) == []


async def test_declared_hash_mismatch_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(IncompleteUpload, match="not the"):
        await receive(chunks_of(b"abc"), tmp_path, "EV1", max_bytes=100, expected_sha256="0" * 64)
    assert listing(tmp_path) == []
    ok = await receive(chunks_of(b"abc"), tmp_path, "EV1", max_bytes=100,
                       expected_sha256=hashlib.sha256(b"abc").hexdigest().upper())
    assert ok.size == 3


async def test_kept_file_is_never_replaced(tmp_path: Path) -> None:
    await receive(chunks_of(b"first"), tmp_path, "EV1", max_bytes=100)
    with pytest.raises(Conflict):
        await receive(chunks_of(b"second"), tmp_path, "EV1", max_bytes=100)
    assert (tmp_path / "EV1").read_bytes() == b"first"


def test_racing_uploads_for_one_name_keep_the_first_to_commit(tmp_path: Path) -> None:
    a = StreamedUpload(tmp_path, "EV1", max_bytes=100)
    b = StreamedUpload(tmp_path, "EV1", max_bytes=100)
    a.write(b"aaa")
    b.write(b"bbb")
    a.commit()
    with pytest.raises(Conflict):
        b.commit()
    assert (tmp_path / "EV1").read_bytes() == b"aaa"
    assert listing(tmp_path) == ["EV1"]


def test_context_manager_without_commit_aborts(tmp_path: Path) -> None:
    with StreamedUpload(tmp_path, "EV1", max_bytes=100) as up:
        up.write(b"partial")
    assert listing(tmp_path) == []
    with pytest.raises(RuntimeError):
        up.write(b"more")


async def test_writes_can_run_in_an_executor(tmp_path: Path) -> None:
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        stored = await receive(chunks_of(b"a" * 10, b"b" * 10), tmp_path, "EV1", max_bytes=100, executor=pool)
    assert stored.path.read_bytes() == b"a" * 10 + b"b" * 10


def test_bad_stored_names_are_a_programming_error(tmp_path: Path) -> None:
    for name in ("../x", "", ".hidden", "a/b"):
        with pytest.raises(ValueError):
            StreamedUpload(tmp_path, name, max_bytes=10)


def test_stale_temporary_files_are_swept(tmp_path: Path) -> None:
    (tmp_path / "ab").mkdir()
    (tmp_path / "ab" / f"{TEMP_PREFIX}k2j4x").write_bytes(b"a process died before commit")
    (tmp_path / "ab" / "kept").write_bytes(b"k")
    removed = remove_stale_temps(tmp_path)
    assert [p.name.startswith(TEMP_PREFIX) for p in removed] == [True]
    assert listing(tmp_path / "ab") == ["kept"]
    assert remove_stale_temps(tmp_path / "nowhere") == []


@pytest.mark.parametrize(("value", "result"), [(None, None), ("10", 10)])
def test_declared_size_header(value: str | None, result: int | None) -> None:
    assert check_declared_size(value, 100) == result


def test_declared_size_header_refusals() -> None:
    with pytest.raises(InvalidInput, match="whole number"):
        check_declared_size("-1", 100)
    with pytest.raises(TooLarge):
        check_declared_size("101", 100)


@settings(max_examples=40, deadline=None)
@given(parts=st.lists(st.binary(max_size=64), max_size=12), limit=st.integers(1, 400),
       cut=st.one_of(st.none(), st.integers(0, 12)))
def test_property_kept_whole_or_not_at_all(tmp_path_factory: pytest.TempPathFactory, parts: list[bytes], limit: int,
                                           cut: int | None) -> None:
    d = tmp_path_factory.mktemp("up")
    data = b"".join(parts if cut is None else parts[:cut])
    cut_short = cut is not None and cut < len(parts)
    try:
        stored = asyncio.run(receive(chunks_of(*parts, fail_after=cut), d, "EV1", max_bytes=limit))
    except (ConnectionResetError, TooLarge, IncompleteUpload):
        assert listing(d) == []
        assert cut_short or len(data) > limit or not data
    else:
        assert not cut_short and 0 < len(data) <= limit
        assert listing(d) == ["EV1"] and stored.path.read_bytes() == data
        assert stored.sha256 == hashlib.sha256(data).hexdigest()


def test_failure_after_publishing_takes_the_file_back_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cases.upload as upload

    def broken_fsync(directory: Path) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(upload, "fsync_dir", broken_fsync)
    up = StreamedUpload(tmp_path, "EV1", max_bytes=100)
    up.write(b"data")
    with pytest.raises(OSError):
        up.commit()
    assert listing(tmp_path) == []
