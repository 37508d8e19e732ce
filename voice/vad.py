"""Voice activity detection: WebRTC VAD segments the stream, Silero (ONNX) confirms before Whisper.

WebRTC VAD is cheap enough to run on every 10/20/30 ms frame on the event loop; it decides
where utterances start and end, with a start hangover (several voiced frames in a window
before an utterance opens, so a click does not open one) and an end hangover (trailing
silence before it closes, so a pause between words does not split it). It is easily fooled by
tones and static, so every utterance is checked again by the Silero model bundled with
faster-whisper before it reaches Whisper, which otherwise invents text on noise.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

import numpy as np

from voice.audio import float_to_s16le

VAD_RATES = (8000, 16000, 32000, 48000)
VAD_FRAME_MS = (10, 20, 30)
SILERO_RATE = 16000
SILERO_WINDOW = 512


@dataclass(frozen=True)
class VadConfig:
    """WebRTC segmentation parameters (times in milliseconds)."""

    sample_rate: int = 16000
    frame_ms: int = 30
    aggressiveness: int = 2
    start_window_ms: int = 300  # look-back window for the start decision
    start_ratio: float = 0.6  # share of voiced frames in that window that opens an utterance
    end_silence_ms: int = 600  # trailing silence that closes an utterance
    pre_roll_ms: int = 300  # audio kept before the detected start (soft onsets)
    post_roll_ms: int = 200  # audio kept after the last voiced frame
    pause_ms: int = 300  # silence reported as a SpeechPause (when asked for); at least the post-roll
    # A long utterance ends at a shorter pause: a phrase boundary is a fine place to cut, and a
    # 20 s utterance decoded in one piece keeps its speaker waiting for every word of it.
    long_utterance_ms: int = 8000
    long_end_silence_ms: int = 300

    def __post_init__(self) -> None:
        if self.sample_rate not in VAD_RATES:
            raise ValueError(f"VAD sample rate {self.sample_rate} not supported; accepted: "
                             + ", ".join(map(str, VAD_RATES)))
        if self.frame_ms not in VAD_FRAME_MS:
            raise ValueError(f"VAD frame of {self.frame_ms} ms not supported; accepted: 10, 20, 30")
        if not 0 <= self.aggressiveness <= 3:
            raise ValueError("VAD aggressiveness must be 0..3")

    @property
    def frame_samples(self) -> int:
        return self.sample_rate * self.frame_ms // 1000


@dataclass(frozen=True)
class SpeechStart:
    """Speech began at ``sample`` (pre-roll included)."""

    sample: int


@dataclass(frozen=True)
class SpeechEnd:
    """Speech ended at ``sample`` (post-roll included)."""

    sample: int


@dataclass(frozen=True)
class SpeechPause:
    """Silence has lasted ``pause_ms``: if it goes on, the utterance will end at ``sample``.

    Reported only when asked for (``report_pauses``): a streaming transcriber can start decoding
    the final text now instead of after the whole end hangover, and drop that work on
    :class:`SpeechResume`.
    """

    sample: int


@dataclass(frozen=True)
class SpeechResume:
    """Speech came back after a :class:`SpeechPause`, before the utterance ended."""

    sample: int


VadEvent = SpeechStart | SpeechEnd | SpeechPause | SpeechResume


class WebRtcSegmenter:
    """Sans-I/O segmenter: feed float32 samples at ``config.sample_rate``, get start/end events."""

    def __init__(self, config: VadConfig | None = None, *, report_pauses: bool = False) -> None:
        import webrtcvad

        self.config = config or VadConfig()
        self.report_pauses = report_pauses
        self._paused = False
        self._vad = webrtcvad.Vad(self.config.aggressiveness)
        self._pending = np.zeros(0, np.float32)
        self._frames_seen = 0
        window = max(1, self.config.start_window_ms // self.config.frame_ms)
        self._window: collections.deque[bool] = collections.deque(maxlen=window)
        self._in_speech = False
        self._silent_frames = 0
        self._last_voiced_end = 0
        self._speech_start = 0

    @property
    def in_speech(self) -> bool:
        return self._in_speech

    @property
    def position(self) -> int:
        """Samples consumed into whole frames so far."""
        return self._frames_seen * self.config.frame_samples

    def is_speech(self, frame: np.ndarray) -> bool:
        """WebRTC decision for one frame of exactly ``frame_samples`` samples."""
        return bool(self._vad.is_speech(float_to_s16le(frame), self.config.sample_rate))

    def feed(self, samples: np.ndarray) -> list[VadEvent]:
        cfg = self.config
        n = cfg.frame_samples
        data = np.concatenate([self._pending, samples]) if self._pending.size else samples
        events: list[VadEvent] = []
        usable = data.size - data.size % n
        for off in range(0, usable, n):
            voiced = self.is_speech(data[off:off + n])
            start = self._frames_seen * n
            self._frames_seen += 1
            events.extend(self._step(voiced, start, start + n))
        self._pending = data[usable:].copy()
        return events

    def _step(self, voiced: bool, start: int, end: int) -> list[VadEvent]:
        cfg = self.config
        rate_ms = cfg.sample_rate // 1000
        self._window.append(voiced)
        if not self._in_speech:
            full = len(self._window) == self._window.maxlen
            if full and sum(self._window) >= cfg.start_ratio * len(self._window):
                self._in_speech = True
                self._silent_frames = 0
                self._last_voiced_end = end
                window_start = end - len(self._window) * cfg.frame_samples
                self._speech_start = max(0, window_start - cfg.pre_roll_ms * rate_ms)
                return [SpeechStart(self._speech_start)]
            return []
        if voiced:
            self._silent_frames = 0
            self._last_voiced_end = end
            if self._paused:
                self._paused = False
                return [SpeechResume(start)]
            return []
        self._silent_frames += 1
        silent_ms = self._silent_frames * cfg.frame_ms
        end_silence = cfg.end_silence_ms
        if (self._last_voiced_end - self._speech_start) * 1000 >= cfg.long_utterance_ms * cfg.sample_rate:
            end_silence = min(end_silence, cfg.long_end_silence_ms)
        if silent_ms >= end_silence:
            return [self._close()]
        if self.report_pauses and not self._paused and silent_ms >= max(cfg.pause_ms, cfg.post_roll_ms):
            # The end _close() would report if the silence lasts: the post-roll is all in already.
            self._paused = True
            return [SpeechPause(self._end_sample())]
        return []

    def _end_sample(self) -> int:
        cfg = self.config
        return min(self.position, self._last_voiced_end + cfg.post_roll_ms * (cfg.sample_rate // 1000))

    def _close(self) -> SpeechEnd:
        self._in_speech = False
        self._paused = False
        self._window.clear()
        self._silent_frames = 0
        return SpeechEnd(self._end_sample())

    def force_end(self) -> SpeechEnd | None:
        """End the current utterance now (push-to-talk released, stream finished)."""
        if not self._in_speech:
            return None
        return self._close()


class SileroGate:
    """Second opinion on an utterance: how many seconds Silero hears as speech (16 kHz input)."""

    def __init__(self, threshold: float = 0.5) -> None:
        from faster_whisper.vad import get_vad_model

        self.threshold = threshold
        self._model = get_vad_model()

    def speech_seconds(self, audio: np.ndarray) -> float:
        """Seconds of audio whose speech probability is at least ``threshold``."""
        if audio.size == 0:
            return 0.0
        pad = (-audio.size) % SILERO_WINDOW
        padded = np.pad(audio.astype(np.float32), (0, pad))
        probs = np.asarray(self._model(padded)).reshape(-1)
        return float((probs >= self.threshold).sum()) * SILERO_WINDOW / SILERO_RATE


def check_vad() -> tuple[bool, str, str]:
    """Check that webrtcvad imports and the bundled Silero ONNX model loads: (ok, detail, fix)."""
    try:
        import webrtcvad

        vad = webrtcvad.Vad(2)
        vad.is_speech(b"\x00\x00" * 480, 16000)
    except Exception as exc:
        return False, f"webrtcvad unavailable: {exc}", "pip install webrtcvad-wheels"
    try:
        from faster_whisper.utils import get_assets_path

        path = f"{get_assets_path()}/silero_vad_v6.onnx"
        gate = SileroGate()
        gate.speech_seconds(np.zeros(SILERO_WINDOW, np.float32))
    except Exception as exc:
        return False, f"Silero VAD model cannot be loaded: {exc}", \
            "pip install --force-reinstall faster-whisper onnxruntime"
    return True, f"webrtcvad and Silero ONNX ({path}) loaded", ""
