"""Checks for the fields of a JSON request body, shared by ``cases`` and ``inspections``.

Each check returns the cleaned value or raises :class:`~cases.errors.InvalidInput` naming the field,
what was wrong and what is accepted. Unknown keys are refused rather than ignored, so a misspelt
field never silently loses what the caller meant to record.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from cases.errors import InvalidInput
from common.times import as_utc as as_utc  # re-exported for the case modules
from common.times import iso_exact, parse_iso

iso = iso_exact  # what the case-file hash chain holds; re-exported for the case modules

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-.:]{0,63}$")
# Seconds are required: custody times are kept to the second. A zone is required: a camera clock in
# local time and a server in UTC must never be confused.
INSTANT_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$")
INSTANT_EXAMPLE = "2026-01-31T08:15:42+08:00 or 2026-01-31T00:15:42Z"


def obj(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{field} must be a JSON object, got {type(value).__name__}", field=field)
    return value


def reject_unknown(body: Mapping[str, Any], allowed: Collection[str], where: str = "body") -> None:
    """Refuse keys the record has no place for (they would otherwise be dropped without a word)."""
    unknown = sorted(str(k) for k in body if k not in allowed)
    if unknown:
        raise InvalidInput(f"{where} has unknown field(s) {', '.join(unknown)}; accepted: "
                           f"{', '.join(sorted(allowed))}", field=unknown[0])


def text(value: Any, field: str, max_len: int, *, required: bool = True) -> str | None:
    """A trimmed string of 1..max_len characters; None when optional and absent or blank."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInput(f"{field} is required: a non-empty string of at most {max_len} characters",
                               field=field)
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string of at most {max_len} characters, got "
                           f"{type(value).__name__}", field=field)
    cleaned = value.strip()
    if len(cleaned) > max_len:
        raise InvalidInput(f"{field} is {len(cleaned)} characters long; at most {max_len} are accepted",
                           field=field)
    return cleaned


def required_text(value: Any, field: str, max_len: int) -> str:
    out = text(value, field, max_len)
    assert out is not None  # text() raises for a missing required value
    return out


def identifier(value: Any, field: str, *, required: bool = True) -> str | None:
    """An id: 1-64 letters, digits, ``_ - . :``, starting with a letter or digit."""
    if value is None and not required:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not ID_RE.match(value):
        raise InvalidInput(f"{field} must be an id of 1-64 letters, digits, '_', '-', '.' or ':' starting with a "
                           f"letter or digit, got {value!r}", field=field)
    return value


def choice(value: Any, field: str, accepted: Collection[str]) -> str:
    if not isinstance(value, str) or value not in accepted:
        raise InvalidInput(f"{field} must be one of {', '.join(accepted)}, got {value!r}", field=field,
                           accepted=list(accepted))
    return value


def integer(value: Any, field: str, lo: int, hi: int, *, required: bool = True) -> int | None:
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise InvalidInput(f"{field} must be a whole number from {lo} to {hi}, got {value!r}", field=field)
    return value


def number(value: Any, field: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise InvalidInput(f"{field} must be a number from {lo} to {hi}, got {value!r}", field=field)
    return float(value)


def coordinates(lat: Any, lon: Any, field: str) -> tuple[float, float] | tuple[None, None]:
    """Both or neither of lat/lon (WGS 84 degrees)."""
    if lat is None and lon is None:
        return None, None
    if lat is None or lon is None:
        raise InvalidInput(f"{field}: give both lat and lon (WGS 84 degrees) or neither", field=field)
    return number(lat, f"{field}.lat", -90, 90), number(lon, f"{field}.lon", -180, 180)


def sha256(value: Any, field: str) -> str:
    if not isinstance(value, str) or not SHA256_RE.match(value.lower()):
        raise InvalidInput(f"{field} must be a sha256 digest: 64 hexadecimal characters, got {value!r}", field=field)
    return value.lower()


def boolean_true(value: Any, field: str, meaning: str) -> None:
    """A confirmation box: only the JSON value true counts as ticked."""
    if value is not True:
        raise InvalidInput(f"{field} must be true: {meaning}", field=field)


def instant(value: Any, field: str, *, now: dt.datetime | None = None,
            max_future: dt.timedelta = dt.timedelta(minutes=5)) -> dt.datetime:
    """An ISO 8601 time with seconds and a zone, returned in UTC.

    With ``now``, a time more than ``max_future`` ahead is refused: a clock that far ahead is a typo
    or a wrong zone, and a custody record must not claim something happened later than it was told.
    """
    if not isinstance(value, str) or not INSTANT_RE.match(value.strip()):
        raise InvalidInput(f"{field} must be an ISO 8601 time with seconds and a time zone, such as "
                           f"{INSTANT_EXAMPLE}; got {value!r}", field=field)
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{field} is not a real date and time: {value!r}; e.g. {INSTANT_EXAMPLE}",
                           field=field) from None
    utc = parsed.astimezone(dt.UTC)
    if now is not None and utc > now + max_future:
        raise InvalidInput(f"{field} is in the future ({iso(utc)} is after {iso(now)}); check the clock and "
                           "the time zone", field=field)
    return utc


def duration(value: Any, field: str) -> dt.timedelta:
    """A duration as written in the data files: ``90m``, ``48h``, ``7d`` (or a number of hours)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return dt.timedelta(hours=float(value))
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([mhd])\s*", value) if isinstance(value, str) else None
    if not match or float(match.group(1)) <= 0:
        raise InvalidInput(f"{field} must be a positive duration such as 90m, 48h or 7d, got {value!r}",
                           field=field)
    amount, unit = float(match.group(1)), match.group(2)
    return {"m": dt.timedelta(minutes=amount), "h": dt.timedelta(hours=amount), "d": dt.timedelta(days=amount)}[unit]


def moment(value: Any) -> dt.datetime:
    """A stored time, as a datetime or ISO text, in UTC (rows from SQLite come back as either)."""
    if isinstance(value, dt.datetime):
        return as_utc(value)
    return parse_iso(str(value))


def read_table(path: str | Path | None, default: Path, what: str) -> tuple[Any, str]:
    """A YAML data table (the bundled ``default`` when ``path`` is empty) and its name for messages;
    an unreadable file raises ValueError with the reason."""
    source = Path(path) if path else default
    try:
        return yaml.safe_load(source.read_text(encoding="utf-8")), f"{what} {source}"
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read {what} {source}: {exc}") from None


def duration_table(doc: Mapping[str, Any], key: str, names: Sequence[str], what: str) -> dict[str, dt.timedelta]:
    """``doc[key]``: a mapping of every one of ``names`` (and nothing else) to a duration such as 3d."""
    table = doc.get(key)
    if not isinstance(table, Mapping):
        raise InvalidInput(f"{key} must map each {what} (" + ", ".join(names) + ") to a duration", field=key)
    reject_unknown(table, names, key)
    missing = [k for k in names if k not in table]
    if missing:
        raise InvalidInput(f"{key} lacks {', '.join(missing)}: every {what} needs a deadline", field=key)
    return {k: duration(table[k], f"{key}.{k}") for k in names}

