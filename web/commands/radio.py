"""`jingyun` sub-commands for radio channels (issue 6)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add radio commands to the `jingyun` parser."""
