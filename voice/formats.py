"""Response bodies of the OpenAI-compatible transcription endpoint: json, text, srt, vtt, verbose_json."""

from __future__ import annotations

from typing import Any

from voice.types import AsrResult

Segments = list[tuple[float, float, AsrResult]]


def _clock(seconds: float, sep: str) -> str:
    ms = round(max(seconds, 0.0) * 1000)
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _joined(segments: Segments) -> str:
    texts = [r.text for _, _, r in segments]
    # Chinese segments join without spaces; spaced scripts with one.
    out = ""
    for t in texts:
        if out and not (ord(out[-1]) > 0x2E80 and ord(t[0]) > 0x2E80):
            out += " "
        out += t
    return out


def to_srt(segments: Segments) -> str:
    blocks = [f"{i}\n{_clock(s, ',')} --> {_clock(e, ',')}\n{r.text}\n" for i, (s, e, r) in enumerate(segments, 1)]
    return "\n".join(blocks)


def to_vtt(segments: Segments) -> str:
    blocks = [f"{_clock(s, '.')} --> {_clock(e, '.')}\n{r.text}\n" for s, e, r in segments]
    return "WEBVTT\n\n" + "\n".join(blocks)


def render_transcription(fmt: str, segments: Segments, *, duration: float,
                         language: str | None) -> tuple[dict[str, Any] | str, str]:
    """(body, content type) for ``response_format``; a dict body is sent as JSON."""
    text = _joined(segments)
    if fmt == "text":
        return text + "\n", "text/plain"
    if fmt == "srt":
        return to_srt(segments), "application/x-subrip"
    if fmt == "vtt":
        return to_vtt(segments), "text/vtt"
    detected = language or next((r.language for _, _, r in segments if r.language), None) or "unknown"
    if fmt == "json":
        return {"text": text, "language": detected, "duration": round(duration, 3)}, "application/json"
    words = [{"word": w.word, "start": round(s + w.start, 3), "end": round(s + w.end, 3),
              "probability": w.probability} for s, _, r in segments for w in r.words]
    return {
        "task": "transcribe", "language": detected, "duration": round(duration, 3), "text": text,
        "segments": [{"id": i, "seek": int(s * 100), "start": round(s, 3), "end": round(e, 3), "text": r.text,
                      "tokens": [], "temperature": r.temperature, "avg_logprob": r.avg_logprob,
                      "compression_ratio": r.compression_ratio, "no_speech_prob": r.no_speech_prob,
                      "language": r.language, "confidence": r.confidence}
                     for i, (s, e, r) in enumerate(segments)],
        "words": words,
    }, "application/json"
