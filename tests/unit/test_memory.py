"""web.memory: glibc's allocator calls that keep the server's RSS flat (no-ops elsewhere)."""

from __future__ import annotations

import platform

from web import memory


def test_glibc_calls_answer_on_linux() -> None:
    if platform.libc_ver()[0] != "glibc":
        assert memory.limit_arenas(2) is False and memory.trim() is False
        return
    assert memory.limit_arenas(0) is False  # 0 leaves glibc's default alone
    assert memory.limit_arenas(8) is True  # the default on this many cores: nothing changes for the tests
    released = bytearray(64 * 1024 * 1024)
    del released
    assert isinstance(memory.trim(), bool)
