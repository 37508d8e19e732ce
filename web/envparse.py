"""Read a settings dataclass from environment variables, with validation.

A settings dataclass declares each field with :func:`common.settings.setting`, which stores the
environment variable name, the documentation line and the accepted range in the field metadata.
Every package declares its section this way without importing ``web``; only this module reads the
environment.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from common.settings import setting as setting  # re-exported: web's own sections declare with it too

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingsError(ValueError):
    """A setting has a value that is not accepted. Names the variable, the value and what is accepted."""

    def __init__(self, name: str, value: str, accepted: str) -> None:
        self.name, self.value, self.accepted = name, value, accepted
        super().__init__(f"bad setting {name}={value!r}: expected {accepted}")


def _describe(f: dataclasses.Field[Any], kind: type) -> str:
    m = f.metadata
    if m.get("choices"):
        return "one of " + ", ".join(m["choices"])
    if kind is bool:
        return "a boolean (1/0, true/false, yes/no, on/off)"
    if kind in (int, float):
        noun = "an integer" if kind is int else "a number"
        lo, hi = m.get("lo"), m.get("hi")
        if lo is not None and hi is not None:
            return f"{noun} from {lo:g} to {hi:g}"
        if lo is not None:
            return f"{noun} >= {lo:g}"
        return noun
    if kind is tuple:
        return "a comma-separated list"
    return "a string"


def _base_type(hint: Any) -> tuple[type, bool]:
    """Return (scalar type, optional?) for a field annotation."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return _base_type(args[0])[0], True
    if origin is tuple:
        return tuple, False
    return hint, False


def parse_value(f: dataclasses.Field[Any], hint: Any, raw: str) -> Any:
    """Convert and check one raw environment value for field ``f``."""
    name = f.metadata["env"]
    kind, optional = _base_type(hint)
    raw = raw.strip()
    shown = "(hidden)" if f.metadata.get("secret") else raw
    if optional and raw == "":
        return None
    try:
        if kind is bool:
            low = raw.lower()
            if low not in _TRUE | _FALSE:
                raise ValueError
            value: Any = low in _TRUE
        elif kind is int:
            value = int(raw)
        elif kind is float:
            value = float(raw)
            if value != value:  # NaN is never a sensible limit
                raise ValueError
        elif kind is tuple:
            value = tuple(part.strip() for part in raw.split(",") if part.strip())
        elif kind is Path:
            value = Path(raw).expanduser()
        else:
            value = raw
    except ValueError:
        raise SettingsError(name, shown, _describe(f, kind)) from None
    choices = f.metadata.get("choices")
    if choices and value not in choices:
        raise SettingsError(name, shown, _describe(f, kind))
    lo, hi = f.metadata.get("lo"), f.metadata.get("hi")
    if kind in (int, float) and ((lo is not None and value < lo) or (hi is not None and value > hi)):
        raise SettingsError(name, shown, _describe(f, kind))
    return value


def load_settings(cls: type[T], env: Mapping[str, str], overrides: Mapping[str, Any] | None = None) -> T:
    """Build ``cls`` from ``env``; fields without a ``setting`` declaration keep their defaults.

    ``overrides`` (e.g. command-line flags) replace environment values but are checked the same way.
    """
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if "env" not in f.metadata:
            continue
        if overrides and overrides.get(f.name) is not None:
            raw = overrides[f.name]
            values[f.name] = parse_value(f, hints[f.name], str(raw)) if not isinstance(raw, Path) else raw
        elif f.metadata["env"] in env:
            values[f.name] = parse_value(f, hints[f.name], env[f.metadata["env"]])
    return cls(**values)


def describe_settings(cls: type) -> list[tuple[str, str, str]]:
    """(variable, default, meaning) rows for documentation."""
    rows = []
    for f in dataclasses.fields(cls):
        if "env" not in f.metadata:
            continue
        default = f.default
        if isinstance(default, tuple):
            default = ",".join(default)
        rows.append((f.metadata["env"], "" if default is None else str(default), f.metadata["doc"]))
    return rows
