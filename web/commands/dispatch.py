"""`jingyun` sub-commands of the dispatch sub-system."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this sub-system's commands to the `jingyun` parser."""
