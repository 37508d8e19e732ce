"""Pure parts of a call: the audio kept (bounded), the transcript, the JSON the API and consoles get."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from voice.audio import pcm_to_float
from voice.stream import Final

STATES = ("live", "ended", "incident", "attached")
DECIDED = ("incident", "attached")
_CJK = ("\u3400", "\u9fff")


def iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class AudioBuffer:
    """The caller's audio as int16 PCM, up to ``max_seconds``; what comes after is counted, not kept.

    int16 rather than float32: half the memory for the half hour a call may be kept in memory
    (1800 s at 16 kHz is 57.6 MB as int16).
    """

    def __init__(self, sample_rate: int, max_seconds: float) -> None:
        self.sample_rate = sample_rate
        self.max_samples = int(max_seconds * sample_rate)
        self.chunks: list[np.ndarray] = []
        self.kept = 0
        self.received = 0

    def feed(self, data: bytes, encoding: str) -> None:
        """Add one frame (already accepted by the stream, so it decodes)."""
        samples = pcm_to_float(data, encoding)
        self.received += samples.size
        room = self.max_samples - self.kept
        if room <= 0:
            return
        part = samples[:room]
        self.chunks.append((np.clip(part, -1.0, 1.0) * 32767.0).astype(np.int16))
        self.kept += part.size

    @property
    def truncated(self) -> bool:
        return self.received > self.kept

    @property
    def received_seconds(self) -> float:
        return round(self.received / self.sample_rate, 3)

    @property
    def kept_seconds(self) -> float:
        return round(self.kept / self.sample_rate, 3)

    def samples(self) -> np.ndarray:
        """Everything kept as float32 in [-1, 1] (for the Opus encoder)."""
        if not self.chunks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(self.chunks).astype(np.float32) / 32768.0

    def clear(self) -> None:
        self.chunks = []


def final_entry(final: Final, transcript_id: int | None) -> dict[str, Any]:
    """One final as kept on the call: its text and times and the stored transcript row it is."""
    return {"utterance": final.utterance, "transcript_id": None if transcript_id is None else str(transcript_id),
            "text": final.text, "start": round(final.start, 3), "end": round(final.end, 3),
            "start_utc": iso(final.start_utc), "language": final.language,
            "confidence": None if final.confidence is None else round(final.confidence, 4)}


def _cjk(ch: str) -> bool:
    return _CJK[0] <= ch <= _CJK[1]


def transcript_text(finals: list[dict[str, Any]]) -> str:
    """The caller's words so far, in order: Chinese phrases run on, other languages get a space."""
    out = ""
    for f in sorted(finals, key=lambda x: x["utterance"]):
        text = str(f.get("text") or "").strip()
        if not text:
            continue
        if out and not (_cjk(out[-1]) or _cjk(text[0]) or out[-1] in "。，！？；：、"):
            out += " "
        out += text
    return out


def main_language(finals: list[dict[str, Any]], requested: str | None) -> str | None:
    """The language most of the call was spoken in (by characters), else the one asked for."""
    weight: dict[str, int] = {}
    for f in finals:
        if f.get("language"):
            weight[f["language"]] = weight.get(f["language"], 0) + len(str(f.get("text") or ""))
    return max(weight, key=lambda k: weight[k]) if weight else requested


def call_json(row: Any) -> dict[str, Any]:
    """A stored call as API and console JSON."""
    finals = sorted(row.finals or [], key=lambda f: f["utterance"])
    triage = row.triage or None
    return {
        "id": row.id, "stream_id": row.stream_id, "state": row.state, "live": bool(row.live),
        "caller": {"number": row.caller_number, "location": row.caller_location, "lat": row.caller_lat,
                   "lon": row.caller_lon},
        "language": row.language, "opened_by": row.opened_by,
        "started_at": iso(row.started_at), "ended_at": iso(row.ended_at), "end_reason": row.end_reason,
        "transcript": transcript_text(finals), "finals": finals,
        "category": row.category, "priority": row.priority, "level": row.level,
        "reasons": (triage or {}).get("reasons", []), "facts": (triage or {}).get("facts", {}), "triage": triage,
        "incident_id": row.incident_id, "decided_by": row.decided_by, "decided_at": iso(row.decided_at),
        "audio": {"recording_id": row.recording_id, "received_seconds": row.audio_seconds,
                  "kept_seconds": row.audio_kept_seconds, "note": row.audio_note,
                  "url": f"/api/calls/{row.id}/audio" if row.recording_id else None},
        "updated_at": iso(row.updated_at),
    }
