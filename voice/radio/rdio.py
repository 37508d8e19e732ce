"""The rdio-scanner ``/api/call-upload`` form, parsed and checked without any I/O.

trunk-recorder's rdioscanner uploader (and rdio-scanner's own downstream feature) post a
multipart form: ``audio`` (the file), ``dateTime`` (RFC 3339 or unix seconds; ``timestamp`` in
milliseconds is more precise and preferred when present), ``frequency``, ``source`` (the radio
id that keyed up), ``sources`` (JSON list of ``{"pos", "src"}``), ``system``, ``talkgroup``,
``talkgroupLabel``, ``talkgroupTag``, ``talkgroupGroup``, ``systemLabel``, ``key`` and more.
Unknown fields are kept in ``extra`` so nothing the recorder sent is lost.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from common.times import iso

KNOWN_FIELDS = ("audio", "audioName", "audioType", "audioFileName", "audioMime", "dateTime", "timestamp",
                "frequency", "frequencies", "source", "sources", "system", "systemLabel", "talkgroup",
                "talkgroupLabel", "talkgroupTag", "talkgroupGroup", "talkgroupName", "patches", "site", "key")
SUCCESS_TEXT = "Call imported successfully."


class CallFormError(ValueError):
    """A field of the upload form is missing or malformed; names the field and what is accepted."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class CallMeta:
    """What the recorder says about one call."""

    system: str
    talkgroup: str
    started_at: dt.datetime
    date_key: str  # the dateTime as identity: the same call uploaded twice has the same key
    frequency: int | None = None
    source: str | None = None  # radio id of the unit that keyed up
    sources: tuple[dict[str, Any], ...] = ()
    talkgroup_label: str = ""
    talkgroup_tag: str = ""
    talkgroup_group: str = ""
    system_label: str = ""
    audio_name: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def upload_key(self) -> str:
        """Idempotency key: one call per (system, talkgroup, dateTime)."""
        return f"{self.system}:{self.talkgroup}:{self.date_key}"

    def to_dict(self) -> dict[str, Any]:
        return {"system": self.system, "talkgroup": self.talkgroup, "started_at": iso(self.started_at),
                "frequency": self.frequency, "source": self.source, "sources": list(self.sources),
                "talkgroup_label": self.talkgroup_label, "talkgroup_tag": self.talkgroup_tag,
                "talkgroup_group": self.talkgroup_group, "system_label": self.system_label,
                "audio_name": self.audio_name, "extra": self.extra}


def _int_id(form: Mapping[str, str], name: str, *, required: bool) -> str | None:
    raw = (form.get(name) or "").strip()
    if not raw:
        if required:
            raise CallFormError(name, f"form field {name!r} is required: a non-negative integer id")
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise CallFormError(name, f"form field {name!r} must be a non-negative integer id, got {raw[:40]!r}")
    return str(int(raw))


def parse_datetime(raw: str, timestamp_ms: str | None = None) -> tuple[dt.datetime, str]:
    """(UTC start time, identity key) from ``dateTime`` (RFC 3339 or unix seconds) and ``timestamp``."""
    if timestamp_ms and timestamp_ms.strip():
        ts = timestamp_ms.strip()
        if not ts.isdigit():
            raise CallFormError("timestamp", f"form field 'timestamp' must be unix milliseconds, got {ts[:40]!r}")
        when = dt.datetime.fromtimestamp(int(ts) / 1000, dt.UTC)
        return when, f"ms{int(ts)}"
    raw = raw.strip()
    if not raw:
        raise CallFormError("dateTime", "form field 'dateTime' is required: RFC 3339 (2024-05-01T12:00:00Z) "
                                        "or unix seconds (1714564800)")
    try:
        if raw.replace(".", "", 1).isdigit():
            when = dt.datetime.fromtimestamp(float(raw), dt.UTC)
        else:
            when = dt.datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise CallFormError("dateTime", f"form field 'dateTime' must be RFC 3339 (2024-05-01T12:00:00Z) or "
                                        f"unix seconds, got {raw[:40]!r}") from None
    if when.tzinfo is None:
        raise CallFormError("dateTime", f"form field 'dateTime' {raw[:40]!r} has no time zone; send UTC "
                                        "('...Z') or unix seconds")
    when = when.astimezone(dt.UTC)
    # Normalised so "1714564800" and "2024-05-01T12:00:00Z" are the same call.
    return when, f"ms{round(when.timestamp() * 1000)}"


def parse_sources(raw: str | None) -> tuple[dict[str, Any], ...]:
    if not raw or not raw.strip():
        return ()
    try:
        data = json.loads(raw)
    except ValueError:
        raise CallFormError("sources", "form field 'sources' must be a JSON list such as "
                                       "[{\"pos\": 0, \"src\": 4424000}]") from None
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise CallFormError("sources", "form field 'sources' must be a JSON list of objects "
                                       "{\"pos\": seconds, \"src\": radio id}")
    return tuple(data)


def parse_call_form(form: Mapping[str, str]) -> CallMeta:
    """Check the text fields of an upload (the audio part is read separately)."""
    system = _int_id(form, "system", required=True)
    talkgroup = _int_id(form, "talkgroup", required=True)
    assert system is not None and talkgroup is not None
    when, key = parse_datetime(form.get("dateTime", ""), form.get("timestamp"))
    freq_raw = (form.get("frequency") or "").strip()
    frequency = None
    if freq_raw:
        try:
            frequency = int(float(freq_raw))
        except ValueError:
            raise CallFormError("frequency", f"form field 'frequency' must be a number of hertz, "
                                             f"got {freq_raw[:40]!r}") from None
    sources = parse_sources(form.get("sources"))
    source = _int_id(form, "source", required=False)
    if source is None and sources:
        # The unit that keyed up first is the one the call is attributed to.
        first = min(sources, key=lambda s: float(s.get("pos", 0) or 0))
        src = first.get("src")
        if isinstance(src, int) and src >= 0:
            source = str(src)
    extra = {k: str(v)[:500] for k, v in form.items() if k not in KNOWN_FIELDS}
    return CallMeta(system=system, talkgroup=talkgroup, started_at=when, date_key=key, frequency=frequency,
                    source=source, sources=sources, talkgroup_label=(form.get("talkgroupLabel") or "")[:200],
                    talkgroup_tag=(form.get("talkgroupTag") or "")[:200],
                    talkgroup_group=(form.get("talkgroupGroup") or "")[:200],
                    system_label=(form.get("systemLabel") or "")[:200],
                    audio_name=(form.get("audioName") or form.get("audioFileName") or "")[:200], extra=extra)
