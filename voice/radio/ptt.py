"""Cutting a radio channel's audio into transmissions: push-to-talk events, or VAD without them.

Sans-I/O: the gateway connection feeds samples and PTT events (with the wall-clock time it
observed them, so this module reads no clock) and receives :class:`Transmission` values. A
transmission is what a dispatcher hears as one message: push-to-talk down ... up. It is decoded
as one utterance, which matters because Whisper pads every call to 30 s and a transmission's
words belong together (a unit id at the start, the status phrase at the end).

Without PTT events (a receiver feeding plain audio) WebRTC VAD segments the channel. The first
``ptt_down`` switches the stream to PTT mode for good: from then on only keyed audio counts,
so the noise a gateway sends between transmissions never reaches the model.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from voice.radio.squelch import squelch_tail
from voice.vad import SpeechEnd, SpeechStart, VadConfig, WebRtcSegmenter

SAMPLE_RATES = (8000, 16000)
MIN_TRANSMISSION_SECONDS = 0.2
MODES = ("auto", "ptt", "vad")


class PttError(ValueError):
    """A PTT event out of order or with bad fields; the message says what is accepted."""


@dataclass(frozen=True)
class Transmission:
    """One keyed transmission (or VAD segment) at the input rate, squelch tail already cut."""

    seq: int
    unit: str | None
    audio: np.ndarray  # float32 mono at ``sample_rate``, tail trimmed: what the model hears
    raw: np.ndarray = field(repr=False)  # the untrimmed transmission: what is kept as evidence
    sample_rate: int
    start: float  # seconds of audio from stream start
    end: float
    start_utc: dt.datetime
    end_utc: dt.datetime
    trigger: str  # "ptt" | "vad" | "upload"
    tail_ms: float = 0.0
    truncated: bool = False  # cut at the maximum length; the rest follows as the next transmission

    @property
    def seconds(self) -> float:
        return self.audio.size / self.sample_rate


@dataclass(frozen=True)
class SegmenterConfig:
    sample_rate: int = 16000
    max_seconds: float = 60.0
    squelch_max_tail_ms: int = 1200
    squelch_flatness: float = 0.42
    vad_aggressiveness: int = 2
    end_silence_ms: int = 700

    def __post_init__(self) -> None:
        if self.sample_rate not in SAMPLE_RATES:
            raise PttError(f"sample_rate {self.sample_rate} is not accepted; radio audio must be "
                           + " or ".join(f"{r} Hz" for r in SAMPLE_RATES))


def make_transmission(seq: int, unit: str | None, raw: np.ndarray, rate: int, start: float,
                      start_utc: dt.datetime, trigger: str, config: SegmenterConfig,
                      truncated: bool = False) -> Transmission:
    """Trim the squelch tail of ``raw`` and wrap it (also used for uploaded calls)."""
    trim = squelch_tail(raw, rate, max_tail_ms=0 if truncated else config.squelch_max_tail_ms,
                        flatness=config.squelch_flatness)
    seconds = raw.size / rate
    return Transmission(seq, unit, raw[:trim.keep].copy(), raw, rate, round(start, 3), round(start + seconds, 3),
                        start_utc, start_utc + dt.timedelta(seconds=seconds), trigger, trim.tail_ms, truncated)


class TransmissionSegmenter:
    """Feed samples and PTT events of one channel connection; get finished transmissions back."""

    def __init__(self, config: SegmenterConfig, started_at: dt.datetime, mode: str = "auto") -> None:
        if mode not in MODES:
            raise PttError(f"mode {mode!r} is not accepted; accepted: {', '.join(MODES)} (auto: VAD until the "
                           "first ptt_down)")
        self.config = config
        self.started_at = started_at
        # "auto" starts in VAD and switches for good at the first ptt_down.
        self.mode = "ptt" if mode == "ptt" else "vad"
        self.fixed = mode != "auto"
        self._rate = config.sample_rate
        self._seq = 0
        self._received = 0  # samples since stream start
        # PTT state
        self._keyed = False
        self._unit: str | None = None
        self._key_start = 0
        self._key_utc = started_at
        self._chunks: list[np.ndarray] = []
        self._chunk_samples = 0
        # VAD state: audio kept from ``_vad_base`` (a sample index) on.
        self._vad = WebRtcSegmenter(VadConfig(sample_rate=self._rate, frame_ms=30,
                                              aggressiveness=config.vad_aggressiveness,
                                              end_silence_ms=config.end_silence_ms))
        self._vad_buf = np.zeros(0, np.float32)
        self._vad_base = 0
        self._vad_start: int | None = None
        self.ignored_seconds = 0.0  # audio received while nobody was keyed (PTT mode)

    @property
    def keyed(self) -> bool:
        return self._keyed

    @property
    def keyed_unit(self) -> str | None:
        return self._unit if self._keyed else None

    def _utc_at(self, sample: int) -> dt.datetime:
        return self.started_at + dt.timedelta(seconds=sample / self._rate)

    # ---- events ----------------------------------------------------------------------------
    def ptt_down(self, unit: str | None, now: dt.datetime) -> list[Transmission]:
        """A unit keyed up. A second ``ptt_down`` without ``ptt_up`` closes the first (lost event)."""
        if unit is not None and (not isinstance(unit, str) or not unit.strip() or len(unit) > 64):
            raise PttError("ptt_down 'unit' must be a unit id, callsign or radio id of 1-64 characters")
        out: list[Transmission] = []
        if self.mode == "vad" and self.fixed:
            raise PttError("this stream was configured with mode 'vad'; PTT events are not accepted (use mode "
                           "'auto' or 'ptt')")
        if self.mode == "vad":
            out += self._vad_close(self._vad_base + self._vad_buf.size)
            self.mode = "ptt"
            self._vad_buf = np.zeros(0, np.float32)
        elif self._keyed:
            out += self._ptt_close(truncated=False)
        self._keyed, self._unit = True, unit.strip() if unit else None
        self._key_start, self._key_utc = self._received, now
        self._chunks, self._chunk_samples = [], 0
        return out

    def ptt_up(self) -> list[Transmission]:
        """The unit released the key: its transmission is complete."""
        if self.mode != "ptt" or not self._keyed:
            raise PttError("ptt_up without a ptt_down: send {\"type\": \"ptt_down\", \"unit\": ...} first")
        out = self._ptt_close(truncated=False)
        self._keyed = False
        return out

    def feed(self, samples: np.ndarray) -> list[Transmission]:
        """Audio at the configured rate (float32 mono)."""
        if samples.size == 0:
            return []
        start = self._received
        self._received += samples.size
        if self.mode == "ptt":
            if not self._keyed:
                self.ignored_seconds += samples.size / self._rate
                return []
            self._chunks.append(samples.astype(np.float32, copy=False))
            self._chunk_samples += samples.size
            if self._chunk_samples >= self.config.max_seconds * self._rate:
                # Keep the key down: the rest of this long transmission follows as the next one.
                out = self._ptt_close(truncated=True)
                self._key_start = self._received
                self._key_utc = self._key_utc + dt.timedelta(seconds=out[0].end - out[0].start) if out else \
                    self._key_utc
                self._chunks, self._chunk_samples = [], 0
                return out
            return []
        return self._vad_feed(samples, start)

    def finish(self) -> list[Transmission]:
        """End of stream: whatever is open is complete."""
        if self.mode == "ptt":
            out = self._ptt_close(truncated=False) if self._keyed else []
            self._keyed = False
            return out
        return self._vad_close(self._vad_base + self._vad_buf.size)

    # ---- PTT --------------------------------------------------------------------------------
    def _ptt_close(self, *, truncated: bool) -> list[Transmission]:
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)
        self._chunks, self._chunk_samples = [], 0
        if audio.size < MIN_TRANSMISSION_SECONDS * self._rate:
            return []  # a key-up click: nothing was said
        self._seq += 1
        return [make_transmission(self._seq, self._unit, audio, self._rate, self._key_start / self._rate,
                                  self._key_utc, "ptt", self.config, truncated)]

    # ---- VAD --------------------------------------------------------------------------------
    def _vad_feed(self, samples: np.ndarray, start: int) -> list[Transmission]:
        self._vad_buf = np.concatenate([self._vad_buf, samples.astype(np.float32, copy=False)])
        out: list[Transmission] = []
        for ev in self._vad.feed(samples.astype(np.float32, copy=False)):
            if isinstance(ev, SpeechStart):
                self._vad_start = max(ev.sample, self._vad_base)
            elif isinstance(ev, SpeechEnd):
                out += self._vad_close(ev.sample)
        end = self._vad_base + self._vad_buf.size
        if self._vad_start is not None and end - self._vad_start >= self.config.max_seconds * self._rate:
            cut = end
            out += self._vad_close(cut, truncated=True)
            self._vad_start = cut  # the segmenter is still in speech: carry on from here
        # Keep the open segment, or a second of history for the VAD pre-roll.
        keep_from = self._vad_start if self._vad_start is not None else end - self._rate
        drop = keep_from - self._vad_base
        if drop > 0:
            self._vad_buf = self._vad_buf[drop:]
            self._vad_base += drop
        return out

    def _vad_close(self, end: int, truncated: bool = False) -> list[Transmission]:
        if self._vad_start is None:
            return []
        start, self._vad_start = self._vad_start, None
        audio = self._vad_buf[start - self._vad_base: max(start, end) - self._vad_base]
        if audio.size < MIN_TRANSMISSION_SECONDS * self._rate:
            return []
        self._seq += 1
        return [make_transmission(self._seq, None, audio.copy(), self._rate, start / self._rate,
                                  self._utc_at(start), "vad", self.config, truncated)]
