"""How every package declares a setting: a dataclass field whose metadata names its environment variable.

Only ``web.envparse`` reads the environment; the core packages declare their sections with
:func:`setting` without importing ``web``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any


def setting(default: Any, env: str, doc: str, *, lo: float | None = None, hi: float | None = None,
            choices: Sequence[str] | None = None, secret: bool = False) -> Any:
    """Declare a dataclass field read from environment variable ``env`` (``doc`` is its README line)."""
    meta = {"env": env, "doc": doc, "lo": lo, "hi": hi, "choices": tuple(choices) if choices else None,
            "secret": secret}
    if isinstance(default, list | dict | set):
        raise TypeError("use a tuple default for list settings")
    return dataclasses.field(default=default, metadata=meta)
