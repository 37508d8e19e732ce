"""The ``/ws/transcribe`` protocol: config validation, message builders and error codes.

Pure functions, so the rules (what a config may hold, what each event looks like) are tested
without a socket. The WebSocket handler in ``web.api.voice`` only moves data through them.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import asdict, dataclass
from typing import Any

from voice.audio import ENCODINGS
from voice.store import _iso
from voice.stream import SAMPLE_RATES, Dropped, Failed, Final, Partial
from voice.textnorm import SCRIPTS

# Error codes sent in {"type": "error", "code": ...}: clients branch on these.
BAD_CONFIG = "bad_config"
UNSUPPORTED_SAMPLE_RATE = "unsupported_sample_rate"
UNSUPPORTED_ENCODING = "unsupported_encoding"
BAD_AUDIO = "bad_audio"
FRAME_TOO_LARGE = "frame_too_large"
UNEXPECTED_TEXT = "unexpected_text"
STREAM_TOO_LONG = "stream_too_long"
LAGGING = "lagging"
TIMEOUT = "timeout"
UNAVAILABLE = "unavailable"
INTERNAL = "internal"
UTTERANCE_FAILED = "utterance_failed"  # one utterance could not be decoded; the stream goes on

CONFIG_KEYS = ("type", "sample_rate", "encoding", "language", "hotwords", "initial_prompt", "prompt", "script",
               "source", "channel", "partials", "kind", "caller")
MAX_TEXT_FIELD = 1000
MAX_META_FIELD = 200

# "call": the stream is a caller's voice (a 110 call); its finals are scored and can become an incident.
KINDS = ("stream", "call")
CALLER_KEYS = ("number", "location", "lat", "lon")
MAX_CALLER_NUMBER = 32
MAX_CALLER_LOCATION = 200
# What a telephone network hands over as a caller id: digits with an optional +, separators, * and #.
_NUMBER = re.compile(r"^\+?[0-9*#][0-9*# ()-]*$")


class ProtocolError(ValueError):
    """A client message that breaks the protocol; ``code`` is one of the constants above."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Caller:
    """Who is calling, as far as the telephone system or the call taker knows (every field optional)."""

    number: str | None = None
    location: str | None = None
    lat: float | None = None
    lon: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ClientConfig:
    """A validated ``config`` message."""

    sample_rate: int
    encoding: str
    language: str | None
    hotwords: str | None
    initial_prompt: str | None
    script: str
    source: str
    channel: str
    partials: bool
    kind: str = "stream"
    caller: Caller | None = None


def _text(cfg: dict[str, Any], key: str, limit: int) -> str | None:
    value = cfg.get(key)
    if value is None or value == "":
        return None
    if key == "hotwords" and isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = ", ".join(v.strip() for v in value if v.strip())
    if not isinstance(value, str):
        raise ProtocolError(BAD_CONFIG, f"config field {key!r} must be a string")
    if len(value) > limit:
        raise ProtocolError(BAD_CONFIG, f"config field {key!r} is longer than {limit} characters")
    return value.strip() or None


def parse_config(cfg: Any, *, default_script: str = "simplified",
                 known_languages: frozenset[str] | None = None) -> ClientConfig:
    """Validate the first message of a stream; raises :class:`ProtocolError` naming the problem."""
    if not isinstance(cfg, dict):
        raise ProtocolError(BAD_CONFIG, 'the first message must be a JSON object {"type": "config", ...}')
    if cfg.get("type") != "config":
        raise ProtocolError(BAD_CONFIG, 'the first message must have "type": "config"; got '
                            f"{cfg.get('type')!r}")
    unknown = sorted(set(cfg) - set(CONFIG_KEYS))
    if unknown:
        raise ProtocolError(BAD_CONFIG, f"unknown config field(s) {', '.join(unknown)}; accepted: "
                            + ", ".join(CONFIG_KEYS))
    rate = cfg.get("sample_rate", 16000)
    if isinstance(rate, bool) or not isinstance(rate, int) or rate not in SAMPLE_RATES:
        raise ProtocolError(UNSUPPORTED_SAMPLE_RATE, f"sample_rate {rate!r} is not supported; accepted: "
                            + ", ".join(map(str, SAMPLE_RATES)))
    encoding = cfg.get("encoding", "pcm_s16le")
    if encoding not in ENCODINGS:
        raise ProtocolError(UNSUPPORTED_ENCODING, f"encoding {encoding!r} is not supported; accepted: "
                            + ", ".join(ENCODINGS))
    language = cfg.get("language", "auto")
    if language in (None, "", "auto"):
        language = None
    elif not isinstance(language, str) or not (2 <= len(language) <= 14) or (
            known_languages is not None and language not in known_languages):
        raise ProtocolError(BAD_CONFIG, f"language {language!r} is not known; use \"auto\" or a Whisper "
                            "language code such as zh, en, yue")
    script = cfg.get("script", default_script)
    if script not in SCRIPTS:
        raise ProtocolError(BAD_CONFIG, f"script {script!r} is not supported; accepted: {', '.join(SCRIPTS)}")
    partials = cfg.get("partials", True)
    if not isinstance(partials, bool):
        raise ProtocolError(BAD_CONFIG, "config field 'partials' must be true or false")
    prompt = _text(cfg, "initial_prompt", MAX_TEXT_FIELD) or _text(cfg, "prompt", MAX_TEXT_FIELD)
    kind = cfg.get("kind", "stream")
    if kind not in KINDS:
        raise ProtocolError(BAD_CONFIG, f"config field 'kind' is {kind!r}; accepted: {', '.join(KINDS)} "
                            "(call: a caller's voice, scored and shown as a call card on the console)")
    caller = parse_caller(cfg["caller"]) if cfg.get("caller") is not None else None
    if caller is not None and kind != "call":
        raise ProtocolError(BAD_CONFIG, "config field 'caller' is only accepted with \"kind\": \"call\"")
    return ClientConfig(sample_rate=rate, encoding=str(encoding), language=language,
                        hotwords=_text(cfg, "hotwords", MAX_TEXT_FIELD), initial_prompt=prompt,
                        script=str(script), source=_text(cfg, "source", MAX_META_FIELD) or "",
                        channel=_text(cfg, "channel", MAX_META_FIELD) or "", partials=partials,
                        kind=str(kind), caller=caller)


def _coordinate(raw: dict[str, Any], key: str, limit: float) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not -limit <= value <= limit:
        raise ProtocolError(BAD_CONFIG, f"config field 'caller.{key}' must be a number from {-limit:g} to "
                            f"{limit:g} (WGS 84 degrees), got {value!r}")
    return float(value)


def parse_caller(raw: Any) -> Caller:
    """Validate ``caller``: ``{"number", "location", "lat", "lon"}``, each optional."""
    if not isinstance(raw, dict):
        raise ProtocolError(BAD_CONFIG, "config field 'caller' must be an object such as "
                            '{"number": "13800138000", "location": "深南大道1001号", "lat": 22.54, "lon": 114.06}')
    unknown = sorted(set(raw) - set(CALLER_KEYS))
    if unknown:
        raise ProtocolError(BAD_CONFIG, f"unknown field(s) in 'caller': {', '.join(map(str, unknown))}; accepted: "
                            + ", ".join(CALLER_KEYS))
    number = raw.get("number")
    if number is not None:
        if not isinstance(number, str):
            raise ProtocolError(BAD_CONFIG, f"config field 'caller.number' must be a string, got {number!r}")
        number = number.strip() or None
        if number is not None and (len(number) > MAX_CALLER_NUMBER or not _NUMBER.match(number)):
            raise ProtocolError(BAD_CONFIG, f"config field 'caller.number' {number[:40]!r} is not a phone number; "
                                f"accepted: up to {MAX_CALLER_NUMBER} characters of digits, a leading +, "
                                "spaces, - ( ) * #")
    location = raw.get("location")
    if location is not None:
        if not isinstance(location, str):
            raise ProtocolError(BAD_CONFIG, f"config field 'caller.location' must be a string, got {location!r}")
        if len(location) > MAX_CALLER_LOCATION:
            raise ProtocolError(BAD_CONFIG, "config field 'caller.location' is longer than "
                                f"{MAX_CALLER_LOCATION} characters")
        location = location.strip() or None
    lat, lon = _coordinate(raw, "lat", 90.0), _coordinate(raw, "lon", 180.0)
    if (lat is None) != (lon is None):
        raise ProtocolError(BAD_CONFIG, "config fields 'caller.lat' and 'caller.lon' go together: give both or "
                            "neither")
    return Caller(number=number, location=location, lat=lat, lon=lon)


def error_event(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message, **extra}


def partial_event(stream_id: str, p: Partial) -> dict[str, Any]:
    return {"type": "partial", "stream_id": stream_id, "utterance": p.utterance, "text": p.text,
            "stable": p.stable, "unstable": p.unstable, "start": round(p.start, 3), "end": round(p.end, 3)}


def final_event(stream_id: str, f: Final, row_id: int | None = None) -> dict[str, Any]:
    msg = {"type": "final", "stream_id": stream_id, "utterance": f.utterance, "text": f.text,
           "start": f.start, "end": f.end, "start_utc": _iso(f.start_utc), "end_utc": _iso(f.end_utc),
           "language": f.language, "language_probability": f.language_probability,
           "confidence": f.confidence, "words": f.words}
    if row_id is not None:
        msg["id"] = str(row_id)
    return msg


def dropped_event(stream_id: str, d: Dropped) -> dict[str, Any]:
    """An utterance the VAD took for speech but which held none (noise, a tone, a cough): no words are
    invented, and the client knows the utterance ended."""
    return {"type": "dropped", "stream_id": stream_id, "utterance": d.utterance, "start": round(d.start, 3),
            "end": round(d.end, 3), "reason": d.reason}


def utterance_error_event(stream_id: str, f: Failed, gap_id: str) -> dict[str, Any]:
    """An utterance that could not be decoded: its times, why, and the gap that keeps its audio for a re-run
    (``POST /api/transcripts/gaps/{gap_id}/retry``)."""
    return error_event(UTTERANCE_FAILED, f"the utterance from {f.start:.2f} s to {f.end:.2f} s could not be "
                       f"transcribed ({f.reason}); its audio is kept as gap {gap_id} and can be transcribed "
                       "again", stream_id=stream_id, utterance=f.utterance, start=round(f.start, 3),
                       end=round(f.end, 3), reason=f.reason, gap_id=gap_id)


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
