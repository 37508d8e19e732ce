"""The ``jingyun`` command. Each sub-system adds its sub-commands in ``web/commands/<name>.py``
through a ``register(subparsers)`` function; this module only builds the parser and dispatches."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from web.envparse import SettingsError

COMMAND_MODULES = ("web.commands.core", "web.commands.dispatch", "web.commands.voice", "web.commands.intel",
                   "web.commands.cases",
                   "web.commands.radio")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jingyun",
                                     description="Jingyun (警云) dispatch and voice-intelligence server")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SettingsError as exc:
        print(f"jingyun: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
