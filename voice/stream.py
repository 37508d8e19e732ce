"""The streaming transcriber: a sans-I/O core. PCM in, decode requests out, results in, events out.

It owns no sockets, threads or clocks, so radio push-to-talk, interview rooms, the WebSocket
endpoints and the tests drive the same logic::

    core = StreamTranscriber(StreamConfig(sample_rate=8000, language="zh"))
    core.feed_pcm(chunk, "pcm_s16le")          # audio arrives
    for req in core.take_requests():           # utterances ready for Whisper
        result = await backend.transcribe(req.audio, req.options)
        events = core.on_result(req, result)   # -> Partial / Final events
    core.flush()                               # push-to-talk released: current utterance goes final
    core.finish()                              # end of stream

WebRTC VAD cuts the audio into utterances (Whisper pads every call to 30 s, so a sliding
window per stream would waste most of each call). While an utterance grows, a greedy partial
hypothesis is requested every ``partial_interval`` seconds of audio, at most one at a time;
partials are stabilised LocalAgreement-style: the words two consecutive hypotheses agree on are
committed and never flicker back. When the utterance ends, the whole of it is decoded once
more with beam search for the final text and word times.

Early finals: the VAD needs ``end_silence_ms`` of silence (600 ms) to know an utterance is over,
but the final's audio is complete after the post-roll (200 ms). With ``early_final_ms`` (300 ms)
the core asks for the final as soon as a pause lasts that long; if the silence goes on, that
request *is* the final (the rest of the end hangover overlaps the decode), and if speech resumes
it is abandoned (``take_abandoned``: cancelled if still queued) and the utterance goes on.
Shorter pauses are common inside sentences, so a lower value hides more latency but wastes
more decodes.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from voice import textnorm
from voice.audio import TARGET_RATE, StreamResampler, pcm_to_float
from voice.types import AsrResult, DecodeOptions
from voice.vad import SpeechEnd, SpeechPause, SpeechResume, SpeechStart, VadConfig, WebRtcSegmenter

SAMPLE_RATES = (8000, 16000)
LANGUAGE_HINT_FROM = 0.8  # a final detected with at least this probability sets the stream's hint


@dataclass(frozen=True)
class StreamConfig:
    """Per-stream settings. ``sample_rate`` is the input rate; decoding is always 16 kHz."""

    sample_rate: int = 16000
    language: str | None = None  # None: detect per utterance
    hotwords: str | None = None
    initial_prompt: str | None = None
    script: str = "simplified"
    partial_interval: float = 1.0  # seconds of new audio between partials; 0 disables them
    max_utterance_seconds: float = 20.0
    min_utterance_seconds: float = 0.3
    vad_aggressiveness: int = 2
    vad_frame_ms: int = 30
    end_silence_ms: int = 600
    early_final_ms: int = 300  # pause after which the final is decoded early (0: off; see the module doc)
    long_utterance_seconds: float = 8.0  # past this, a shorter pause ends the utterance:
    long_end_silence_ms: int = 300
    started_at: dt.datetime | None = None  # wall-clock time of sample 0, for absolute times


@dataclass(frozen=True)
class DecodeRequest:
    """One call to the ASR backend: a whole utterance (final) or its audio so far (partial)."""

    id: int
    utterance: int
    final: bool
    audio: np.ndarray
    options: DecodeOptions
    start: float  # seconds from stream start
    end: float


@dataclass(frozen=True)
class Partial:
    """Unstable text of the utterance being spoken; ``stable`` never changes once sent."""

    utterance: int
    text: str
    stable: str
    unstable: str
    start: float
    end: float


@dataclass(frozen=True)
class Final:
    """Final text of one utterance, with times from stream start and (when known) in UTC."""

    utterance: int
    text: str
    start: float
    end: float
    start_utc: dt.datetime | None
    end_utc: dt.datetime | None
    language: str | None
    language_probability: float | None
    confidence: float
    words: list[dict[str, Any]] = field(default_factory=list)
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0


@dataclass(frozen=True)
class Dropped:
    """An utterance that produced no words (noise, tones, silence): nothing is invented."""

    utterance: int
    start: float
    end: float
    reason: str


@dataclass(frozen=True)
class Failed:
    """An utterance that could not be decoded (after the engine's retry): speech that must not vanish.

    The adapter tells the client (an ``error`` event naming the utterance) and keeps ``audio`` (16 kHz
    mono float32) so the utterance can be transcribed again later."""

    utterance: int
    start: float
    end: float
    reason: str
    audio: np.ndarray = field(compare=False, repr=False)
    options: DecodeOptions = field(default_factory=DecodeOptions, compare=False)


Event = Partial | Final | Dropped | Failed


class HypothesisBuffer:
    """LocalAgreement-2: commit the longest prefix two consecutive hypotheses agree on."""

    def __init__(self) -> None:
        self.committed: list[str] = []
        self._previous: list[str] = []
        self._cjk = False

    def update(self, text: str) -> tuple[str, str]:
        """Insert a new hypothesis; return (stable, unstable) text."""
        units = self._split(text)
        keys = [self._key(u) for u in units]
        agree = 0
        for a, b in zip(self._previous, keys, strict=False):
            if a != b:
                break
            agree += 1
        n = len(self.committed)
        consistent = keys[:n] == [self._key(u) for u in self.committed]
        # Commit only what extends the committed prefix consistently; never retract.
        if agree > n and consistent:
            # Keep the committed words exactly as first sent; only append the newly agreed ones.
            self.committed = self.committed + units[n:agree]
        self._previous = keys
        # When the new hypothesis rewrites committed words, the committed ones still stand (they were
        # shown as stable) and the rest of the new hypothesis follows them.
        tail = units[len(self.committed):]
        return self._join(self.committed), self._join(tail)

    @staticmethod
    def _key(unit: str) -> str:
        # "so..." and "so," are the same word to a listener; trailing punctuation is not a disagreement.
        return unit.lower().strip(".,!?;:…'\"，。！？；：、")

    def _split(self, text: str) -> list[str]:
        self._cjk = self._cjk or bool(textnorm._CJK.search(text))
        return list(text.replace(" ", "")) if self._cjk else text.split()

    def _join(self, units: list[str]) -> str:
        return "".join(units) if self._cjk else " ".join(units)


class StreamTranscriber:
    """Sans-I/O streaming transcriber for one audio stream."""

    def __init__(self, config: StreamConfig) -> None:
        if config.max_utterance_seconds > 29.5:
            raise ValueError("max_utterance_seconds must stay under Whisper's 30 s window")
        self.config = config
        self._resampler = StreamResampler(config.sample_rate, TARGET_RATE)
        self._segmenter = WebRtcSegmenter(VadConfig(sample_rate=TARGET_RATE, frame_ms=config.vad_frame_ms,
                                                    aggressiveness=config.vad_aggressiveness,
                                                    end_silence_ms=config.end_silence_ms,
                                                    pause_ms=config.early_final_ms,
                                                    long_utterance_ms=int(config.long_utterance_seconds * 1000),
                                                    long_end_silence_ms=config.long_end_silence_ms),
                                          report_pauses=0 < config.early_final_ms < config.end_silence_ms)
        # Audio kept from ``_base`` (sample index of _buffer[0]) on; older audio is released.
        self._buffer = np.zeros(0, np.float32)
        self._base = 0
        self._utt_start: int | None = None
        self._last_end = 0  # end sample of the last closed utterance
        self._language_hint: str | None = None  # auto mode: the last confidently detected language
        self._utt_id = 0
        self._ids = itertools.count(1)
        self._requests: list[DecodeRequest] = []
        self._partial_in_flight: int | None = None
        self._last_partial_end = 0
        self._hyp = HypothesisBuffer()
        self._outstanding_finals: dict[int, DecodeRequest] = {}
        # Early final of the open utterance, its end sample, and its answer if it came first.
        self._early: DecodeRequest | None = None
        self._early_end = 0
        self._early_result: AsrResult | None = None
        self._abandoned: list[int] = []
        self.early_used = 0
        self.early_abandoned = 0
        self._ready_finals: dict[int, Event] = {}
        self._next_final = 1
        self._finished = False
        self.received_samples = 0  # input-rate samples
        self.events_emitted = 0

    # ---- audio in ----------------------------------------------------------------------
    @property
    def seconds_received(self) -> float:
        return self.received_samples / self.config.sample_rate

    @property
    def position(self) -> float:
        """Seconds of 16 kHz audio consumed."""
        return (self._base + self._buffer.size) / TARGET_RATE

    def feed_pcm(self, data: bytes, encoding: str) -> None:
        """Add raw PCM. Raises ``AudioError`` (the frame is ignored) on odd-length or bad data."""
        self.feed_samples(pcm_to_float(data, encoding))

    def feed_samples(self, samples: np.ndarray) -> None:
        """Add float32 mono samples at the configured input rate."""
        if self._finished:
            raise RuntimeError("stream already finished")
        self.received_samples += samples.size
        self._ingest(self._resampler.process(samples))

    def _ingest(self, audio: np.ndarray) -> None:
        if audio.size == 0:
            return
        self._buffer = np.concatenate([self._buffer, audio])
        for ev in self._segmenter.feed(audio):
            if isinstance(ev, SpeechStart):
                self._open(ev.sample)
            elif isinstance(ev, SpeechEnd):
                self._close(ev.sample)
            elif isinstance(ev, SpeechPause):
                self._pause(ev.sample)
            elif isinstance(ev, SpeechResume):
                self._abandon_early()
        self._maybe_split()
        self._maybe_partial()
        self._trim()

    def _open(self, sample: int) -> None:
        # The VAD's pre-roll may reach back into the previous utterance after a short pause; no
        # audio is decoded twice, or its words would be said twice.
        self._utt_start = max(sample, self._base, self._last_end)
        self._utt_id += 1
        self._hyp = HypothesisBuffer()
        self._last_partial_end = self._utt_start
        self._partial_in_flight = None

    def _close(self, end: int) -> None:
        if self._utt_start is None:
            return
        self._abandon_partial()
        start, self._utt_start = self._utt_start, None
        end = max(end, start)
        self._last_end = end
        early, early_result = self._early, self._early_result
        self._early, self._early_result = None, None
        if early is not None and early.utterance == self._utt_id and self._early_end == end:
            # The silence lasted: the early request already holds exactly this utterance.
            self.early_used += 1
            self._outstanding_finals[early.utterance] = early
            if early_result is not None:
                self._store_final(early, early_result)  # released by the next take_ready()
            return
        if early is not None:
            self._abandoned.append(early.id)
            self.early_abandoned += 1
        if (end - start) / TARGET_RATE < self.config.min_utterance_seconds:
            self._ready_finals[self._utt_id] = Dropped(self._utt_id, start / TARGET_RATE, end / TARGET_RATE,
                                                       "utterance shorter than the minimum")
            return
        req = self._request(self._utt_id, start, end, final=True)
        self._outstanding_finals[req.utterance] = req
        self._requests.append(req)

    def _pause(self, end: int) -> None:
        """A pause reached ``early_final_ms``: ask for the final now, in case the utterance is over."""
        if self._utt_start is None or self._early is not None:
            return
        if (end - self._utt_start) / TARGET_RATE < self.config.min_utterance_seconds:
            return
        self._abandon_partial()
        self._early = self._request(self._utt_id, self._utt_start, end, final=True)
        self._early_end = end
        self._requests.append(self._early)

    def _abandon_early(self) -> None:
        """Speech resumed: the early final is wasted work; the utterance goes on."""
        if self._early is not None:
            self._abandoned.append(self._early.id)
            self.early_abandoned += 1
        self._early, self._early_result = None, None

    def _abandon_partial(self) -> None:
        # A partial of an utterance whose final is on its way would only be thrown away.
        if self._partial_in_flight is not None:
            self._abandoned.append(self._partial_in_flight)
            self._partial_in_flight = None

    def _maybe_split(self) -> None:
        """Cut an over-long utterance at its quietest recent frame and carry on with the rest."""
        if self._utt_start is None:
            return
        now = self._base + self._buffer.size
        limit = int(self.config.max_utterance_seconds * TARGET_RATE)
        if now - self._utt_start < limit:
            return
        cut = self._quietest_cut(self._utt_start + limit - 2 * TARGET_RATE, self._utt_start + limit)
        self._close(cut)
        self._open(cut)

    def _quietest_cut(self, lo: int, hi: int) -> int:
        frame = TARGET_RATE * 30 // 1000
        seg = self._buffer[max(0, lo - self._base): max(0, hi - self._base)]
        if seg.size < frame:
            return hi
        n = seg.size // frame
        energy = (seg[: n * frame].reshape(n, frame) ** 2).mean(axis=1)
        return lo + int(np.argmin(energy)) * frame + frame // 2

    def _maybe_partial(self) -> None:
        interval = self.config.partial_interval
        if interval <= 0 or self._utt_start is None or self._partial_in_flight is not None or self._early:
            return
        now = self._base + self._buffer.size
        if now - self._last_partial_end >= interval * TARGET_RATE and now - self._utt_start >= TARGET_RATE // 2:
            req = self._request(self._utt_id, self._utt_start, now, final=False)
            self._partial_in_flight = req.id
            self._last_partial_end = now
            self._requests.append(req)

    def _request(self, utterance: int, start: int, end: int, *, final: bool) -> DecodeRequest:
        audio = self._buffer[start - self._base: end - self._base].copy()
        cfg = self.config
        opts = DecodeOptions(language=cfg.language, initial_prompt=cfg.initial_prompt, hotwords=cfg.hotwords,
                             script=cfg.script, final=final,
                             language_hint=self._language_hint if cfg.language is None else None)
        return DecodeRequest(next(self._ids), utterance, final, audio, opts, start / TARGET_RATE,
                             end / TARGET_RATE)

    def _trim(self) -> None:
        # Keep the open utterance and a little history (VAD pre-roll) only.
        keep_from = self._utt_start if self._utt_start is not None else (
            self._base + self._buffer.size - TARGET_RATE)
        drop = keep_from - self._base
        if drop > 0:
            self._buffer = self._buffer[drop:]
            self._base += drop

    # ---- control ----------------------------------------------------------------------
    def flush(self) -> None:
        """Force the current utterance final now (push-to-talk released)."""
        ev = self._segmenter.force_end()
        if ev is not None and self._utt_start is not None:
            # In a pause, the audio after its start is silence: the early final stands.
            self._close(self._early_end if self._early is not None else self._base + self._buffer.size)

    def finish(self) -> None:
        """End of stream: drain the resampler and finalise whatever is open."""
        if self._finished:
            return
        tail = self._resampler.flush()
        if tail.size:
            self._ingest(tail)
        self.flush()
        self._finished = True

    @property
    def finished(self) -> bool:
        return self._finished

    @property
    def done(self) -> bool:
        """Finished and every final has been resolved."""
        return self._finished and not self._outstanding_finals and not self._ready_finals

    def take_requests(self) -> list[DecodeRequest]:
        """Decode requests created since the last call, in order."""
        out, self._requests = self._requests, []
        return out

    def take_abandoned(self) -> list[int]:
        """Ids of requests whose answers are no longer wanted (cancel them if still waiting)."""
        out, self._abandoned = self._abandoned, []
        return out

    def take_ready(self) -> list[Event]:
        """Finals/drops that are ready in utterance order (e.g. short utterances dropped locally)."""
        return self._release()

    def backlog_seconds(self) -> float:
        """Audio whose final text is still awaited: how far decoding lags behind this stream."""
        return sum(r.end - r.start for r in self._outstanding_finals.values())

    # ---- results in ---------------------------------------------------------------------
    def on_result(self, request: DecodeRequest, result: AsrResult) -> list[Event]:
        """Feed back the backend's answer for ``request``; returns the events now due."""
        if not request.final:
            if request.id == self._partial_in_flight:
                self._partial_in_flight = None
            if request.utterance != self._utt_id or self._utt_start is None or not result.text:
                return self._release()  # stale: the utterance already ended
            stable, unstable = self._hyp.update(result.text)
            text = (stable + ("" if self._hyp._cjk or not stable or not unstable else " ") + unstable).strip()
            events: list[Event] = [Partial(request.utterance, text, stable, unstable, request.start, request.end)]
            return events + self._release()
        if self._early is not None and request.id == self._early.id:
            self._early_result = result  # kept until the pause proves to be the end
            return self._release()
        if self._outstanding_finals.get(request.utterance) is not request:
            return self._release()  # abandoned early final: speech went on
        self._store_final(request, result)
        return self._release()

    def _store_final(self, request: DecodeRequest, result: AsrResult) -> None:
        del self._outstanding_finals[request.utterance]
        if result.text and result.language and (result.language_probability or 0.0) >= LANGUAGE_HINT_FROM:
            self._language_hint = result.language
        if not result.text:
            self._ready_finals[request.utterance] = Dropped(request.utterance, request.start, request.end,
                                                            result.dropped or "no words")
        else:
            words = [{"word": w.word, "start": round(request.start + w.start, 3),
                      "end": round(request.start + w.end, 3), "probability": w.probability}
                     for w in result.words]
            self._ready_finals[request.utterance] = Final(
                request.utterance, result.text, round(request.start, 3), round(request.end, 3),
                self._utc(request.start), self._utc(request.end), result.language, result.language_probability,
                round(result.confidence, 4), words, result.avg_logprob, result.no_speech_prob)

    def on_error(self, request: DecodeRequest, reason: str) -> list[Event]:
        """The backend failed on ``request``: the utterance ends as :class:`Failed`, with its audio."""
        if not request.final:
            if request.id == self._partial_in_flight:
                self._partial_in_flight = None
            return []
        if self._early is not None and request.id == self._early.id:
            self._early = None  # a failed early final: the end of the utterance asks again
            return []
        if self._outstanding_finals.get(request.utterance) is not request:
            return []
        self._fail(request, f"decoding failed: {reason}")
        return self._release()

    def _fail(self, request: DecodeRequest, reason: str) -> None:
        del self._outstanding_finals[request.utterance]
        self._ready_finals[request.utterance] = Failed(request.utterance, request.start, request.end, reason,
                                                       request.audio, request.options)

    def abort(self, reason: str) -> list[Event]:
        """Stop transcribing this stream now (the server is overloaded or the stream broke).

        The open utterance is closed as on push-to-talk release, and every utterance whose final is
        still awaited ends as :class:`Failed` with ``reason`` and its audio: nothing the VAD accepted
        disappears without an event. Cancel the outstanding decodes; their answers are ignored."""
        if not self._finished:
            self.flush()
            self._finished = True
        self._requests.clear()
        self._abandoned.clear()
        self._early, self._early_result = None, None
        for request in sorted(self._outstanding_finals.values(), key=lambda r: r.utterance):
            self._fail(request, reason)
        return self._release()

    def _release(self) -> list[Event]:
        # Every closed utterance is either awaited or ready, so releasing in id order never skips one.
        out: list[Event] = []
        while self._next_final in self._ready_finals:
            out.append(self._ready_finals.pop(self._next_final))
            self._next_final += 1
        self.events_emitted += len(out)
        return out

    def _utc(self, seconds: float) -> dt.datetime | None:
        if self.config.started_at is None:
            return None
        return self.config.started_at + dt.timedelta(seconds=seconds)
