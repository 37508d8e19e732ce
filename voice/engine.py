"""The shared ASR engine: one Whisper model per process, decoding off the event loop.

Every stream's utterances go through :meth:`AsrEngine.transcribe`. Decoder threads, each on its
own model replica, take the requests that are waiting when one becomes free: finals first, most
urgent first, up to ``max_batch`` at a time (1 on CPU, where a batch costs about the sum of its
items and each item waits for all of them; 8 on CUDA, where a batch costs about one call). Each
request keeps its own prompt (language token, hotwords, initial prompt); a batch is decoded in
groups of the same prompt shape; auto-language requests get a per-utterance language ID from the
same encoder output.

Before Whisper sees an utterance, the Silero VAD must hear enough speech in it; after, the
no-speech probability, log-probability and compression ratio decide whether the text is
trusted, retried at a higher temperature, or dropped, and a repetition guard cuts loops.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import itertools
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from voice import textnorm
from voice.models import ModelInfo, resolve_model
from voice.settings import VoiceSettings
from voice.types import AsrBackend, AsrResult, DecodeError, DecodeOptions, Word
from voice.vad import SileroGate

log = logging.getLogger("jingyun.voice.engine")

SAMPLE_RATE = 16000
MAX_AUDIO_SECONDS = 30.0
FIT_PAD_FRAMES = 300  # 3 s of 10 ms frames
FIT_MIN_FRAMES = 500
# The first rescue of a fitted final that said its phrase twice: a window with room after the
# speech (7 s, at least 10 s), a third of the 30 s window's cost. On the short Mandarin turns that
# come back doubled in the district benchmark ("我有的时候说不清楚你们知道吗" twice, 2.5 s of audio)
# it gives the phrase once, as the 30 s window does, in 0.3 s instead of 1.1 s (docs/voice.md).
WIDE_PAD_FRAMES = 700
WIDE_MIN_FRAMES = 1000
# The encoder window: the utterance + FIT_PAD (fit), + WIDE_PAD (wide), or Whisper's 30 s (full).
Window = Literal["fit", "wide", "full"]
PARTIAL_BATCH = 2  # partials decoded together at most (bounds how long a final can wait behind them)
PARTIAL_MAX_WAIT_S = 1.5  # a partial queued longer than this is answered empty; its stream asks again
PARTIAL_SHARE_WINDOW_S = 10.0  # the window over which partials' share of engine time is counted
LANGUAGE_HINT_BELOW = 0.6  # detected-language probability under which the stream's hint is used
# Text tokens one second of speech can need, with room to spare: the real clips of the corpus run at
# 2.0-4.5 tokens a second with base (jfk 11 s: 25; a fast Mandarin meeting turn 12.4 s: 52), and a
# rare Chinese character may take 2-3 byte-level tokens. Whisper's own limit (224) lets a looping beam on a few
# seconds of unclear audio run for seconds of decoder time (synthetic/zh_radio_04: 2.1 s).
TOKENS_PER_SECOND = 10
MIN_TOKENS = 24


def token_budget(seconds: float) -> int:
    """Most text tokens to generate for ``seconds`` of audio (Whisper's 224 at the most)."""
    return min(224, MIN_TOKENS + math.ceil(TOKENS_PER_SECOND * seconds))


def _pick_device(setting: str) -> str:
    if setting != "auto":
        return setting
    try:
        import ctranslate2

        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    except Exception:
        return "cpu"


def _lower_priority(nice: int) -> None:
    """Lower the calling thread's CPU priority by ``nice`` (Linux: a thread is a schedulable task).

    Decoding yields the CPU to the server's event loop, which carries dispatch: on a machine with
    few cores an order must not wait for a Whisper decode. Best effort: where the platform says
    no, decoding just runs at normal priority."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, 0) + nice)
    except OSError as exc:
        log.warning("could not lower the decoder threads' priority: %s", exc)


def _in_lowered_thread(nice: int, build: Callable[[], Any]) -> Any:
    """Run ``build`` in a fresh thread at lowered priority and return its result.

    CTranslate2 starts its compute threads while the model loads, and a new thread inherits its
    creator's priority; a throwaway thread keeps the lowered priority away from shared executors
    (raising it back needs privileges)."""
    box: dict[str, Any] = {}

    def run() -> None:
        _lower_priority(nice)
        try:
            box["value"] = build()
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=run, name="jingyun-asr-load")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def plan_workers(settings: VoiceSettings, device: str, cores: int) -> tuple[int, int]:
    """(parallel decoders, CPU threads each) for the settings, the device and the machine.

    One decode of a small Whisper model is latency-bound: on CPU a second thread speeds it up
    little (base, 11 s of speech, beam 5: 0.65 s on 2 threads, 0.64 s on 1, measured on the
    2-core VM), so by default the cores go to parallel decoders instead, one thread each, up to
    4 (then threads are shared out). A GPU runs one decoder and batches.
    """
    workers = settings.workers or (1 if device == "cuda" else max(1, min(4, cores)))
    threads = settings.cpu_threads or max(1, cores // workers)
    return workers, threads


@dataclass
class _Pending:
    audio: np.ndarray
    options: DecodeOptions
    future: asyncio.Future[AsrResult]
    queued_at: float


def _decoded(tok: Any, tokens: list[int]) -> str:
    # A loop or the token budget can stop inside a character's byte tokens: its bytes decode to
    # U+FFFD, which is not a word anybody said.
    return str(tok.decode(tokens)).replace("\ufffd", "").strip()


def _loop_cut(text: str) -> bool:
    """Whisper looped (a phrase more than three times in a row) and something is left once it is cut."""
    cut, looped = textnorm.collapse_repeats(text)
    return looped and not textnorm.is_empty_text(cut)


def _fail(batch: Sequence[_Pending], exc: BaseException) -> None:
    for p in batch:
        if not p.future.done():
            p.future.set_exception(exc)


class AsrEngine:
    """The process-wide model. Create with :meth:`load` (blocking; call it in a thread)."""

    def __init__(self, model: Any, info: ModelInfo, settings: VoiceSettings, device: str,
                 compute_type: str, workers: int = 1) -> None:
        from faster_whisper.tokenizer import _LANGUAGE_CODES

        self.model = model
        self.info = info
        self.settings = settings
        self.device = device
        self.compute_type = compute_type
        self.multilingual = bool(model.model.is_multilingual)
        # Whisper's language list grew (yue arrived with large-v3): ask this model's vocabulary.
        vocab = model.hf_tokenizer
        self.languages: frozenset[str] = frozenset(
            code for code in _LANGUAGE_CODES if vocab.token_to_id(f"<|{code}|>") is not None
        ) if self.multilingual else frozenset({"en"})
        self._gate = SileroGate(settings.silero_threshold)
        self.workers = max(1, workers)
        # On CPU a batch of N costs about N single decodes (measured 0.9x) and every item waits for
        # the whole batch; on a GPU a batch costs about one call.
        self.max_batch = settings.max_batch or (8 if device == "cuda" else 1)
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="jingyun-asr",
                                            initializer=_lower_priority, initargs=(settings.nice,))
        self._busy_workers = 0
        self._partial_batches = 0
        self.peak_busy_workers = 0  # most batches decoded at once, and of them partial ones
        self.peak_partial_batches = 0
        self._running: set[asyncio.Task[None]] = set()
        self._queue: list[_Pending] = []
        self._wakeup: asyncio.Event | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self._stats_lock = threading.Lock()  # decode_batch runs in several threads at once
        self.batches = 0
        self.busy_seconds = 0.0  # wall time spent decoding, for real-time-factor figures
        self.batched_items = 0
        self.max_batch_seen = 0
        self.partials_shed = 0
        self.groups_decoded = 0  # CTranslate2 generate groups (a batch splits by prompt shape)
        self.items_recovered = 0  # items decoded alone after their batch failed
        self.items_failed = 0  # items whose decoding failed twice
        self.prompt_echoes = 0  # prompted finals that repeated the prompt and were redone without it
        self.retries_cut = 0  # doubtful finals given one retry instead of all because others waited
        self.loops_cut = 0  # finals whose fitted-window loop was cut to one phrase instead of redone
        self.doubles_rescued = 0  # finals said twice in the fitted window, right in the wide one
        self.partial_seconds = 0.0  # of busy_seconds, spent on partial hypotheses
        self.abandoned_seconds = 0.0  # of busy_seconds, spent on answers nobody waited for any more
        # Called on the event loop after each batch with (final, longest queue wait, decode seconds):
        # the server's metrics. An engine shared by several apps (tests) reports to the last one set.
        self.observe: Callable[[bool, float, float], None] | None = None
        # Recent final batches: (longest queue wait, decode seconds, batch size), for benchmarks.
        self.final_timings: collections.deque[tuple[float, float, int]] = collections.deque(maxlen=1000)
        self._partial_spans: collections.deque[tuple[float, float]] = collections.deque()  # (end, seconds)
        self._closed = False

    # ---- construction ------------------------------------------------------------------
    @classmethod
    def load(cls, settings: VoiceSettings, cache_dir: Any) -> AsrEngine:
        """Resolve and load the configured model (blocking). Raises ``ModelError`` with a fix."""
        from faster_whisper import WhisperModel

        info = resolve_model(settings.model, cache_dir)
        device = _pick_device(settings.device)
        compute = settings.compute_type
        if compute == "auto":
            compute = "float16" if device == "cuda" else "int8"
        workers, threads = plan_workers(settings, device, os.cpu_count() or 1)
        started = time.perf_counter()

        def build() -> AsrEngine:
            model = WhisperModel(str(info.path), device=device, compute_type=compute, cpu_threads=threads,
                                 num_workers=workers, local_files_only=True)
            return cls(model, info, settings, device, compute, workers)

        engine: AsrEngine = _in_lowered_thread(settings.nice, build)
        log.info("ASR model %s loaded from %s on %s/%s in %.1fs (%d workers x %d threads)", info.name, info.path,
                 device, compute, time.perf_counter() - started, workers, threads)
        return engine

    def describe(self) -> dict[str, Any]:
        """Model facts for /readyz and the stream's ready message."""
        facts: dict[str, Any] = {"model": self.info.name, "path": str(self.info.path), "device": self.device,
                                 "compute_type": self.compute_type, "multilingual": self.multilingual,
                                 "languages": len(self.languages), "max_batch": self.max_batch,
                                 "workers": self.workers,
                                 "window": self.settings.window}
        notes = {code: note for code in ("yue", "zh") if (note := self.resolve_language(code)[1])}
        if notes:
            facts["language_notes"] = notes
        return facts

    def resolve_language(self, requested: str | None) -> tuple[str | None, str | None]:
        """(language to decode with, note for the client when the request cannot be honoured)."""
        if not self.multilingual:
            note = None
            if requested not in (None, "en"):
                note = (f"model {self.info.name} is English-only; {requested!r} is transcribed as English. "
                        "Load a multilingual model (JINGYUN_MODEL=base) for other languages")
            return "en", note
        if requested is None or requested in self.languages:
            return requested, None
        if requested == "yue":
            return "zh", (f"model {self.info.name} has no Cantonese (yue) token; this stream is transcribed "
                          "as Chinese (zh) in Mandarin-style characters. Point JINGYUN_MODEL at a large-v3 "
                          "directory for Cantonese")
        return None, (f"model {self.info.name} does not know language {requested!r}; the language is "
                      "detected per utterance instead")

    # ---- async API ------------------------------------------------------------------------
    async def transcribe(self, audio: np.ndarray, options: DecodeOptions) -> AsrResult:
        """Decode one utterance (16 kHz mono float32, at most 30 s), batched with other streams."""
        if self._closed:
            raise RuntimeError("ASR engine is closed")
        loop = asyncio.get_running_loop()
        if self._wakeup is None or self._dispatcher is None or self._dispatcher.done():
            self._wakeup = asyncio.Event()
            self._dispatcher = loop.create_task(self._dispatch(), name="asr-dispatcher")
        fut: asyncio.Future[AsrResult] = loop.create_future()
        self._queue.append(_Pending(audio, options, fut, time.perf_counter()))
        self._wakeup.set()
        return await fut

    async def _dispatch(self) -> None:
        # Up to ``workers`` batches decode at once, each in its own thread on its own CTranslate2
        # replica. Partials never take the last free worker, so a final that arrives while partials
        # decode starts at once instead of queueing behind them; and no partial starts while a final
        # decodes, so on a machine with few cores the final does not share them with partials.
        assert self._wakeup is not None
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue and self._busy_workers < self.workers:
                spare = self.workers - self._busy_workers
                finals_running = self._busy_workers - self._partial_batches
                batch = self._take_batch(allow_partials=(spare > 1 or self.workers == 1) and not finals_running)
                if not batch:
                    break
                self._busy_workers += 1
                if not batch[0].options.final:
                    self._partial_batches += 1
                    self.peak_partial_batches = max(self.peak_partial_batches, self._partial_batches)
                self.peak_busy_workers = max(self.peak_busy_workers, self._busy_workers)
                task = asyncio.get_running_loop().create_task(self._decode(batch), name="asr-batch")
                self._running.add(task)
                task.add_done_callback(self._running.discard)

    async def _decode(self, batch: list[_Pending]) -> None:
        loop = asyncio.get_running_loop()
        taken = time.perf_counter()
        try:
            results = await loop.run_in_executor(
                self._executor, self.decode_batch, [p.audio for p in batch], [p.options for p in batch])
        except asyncio.CancelledError:
            # Cancelled only by close(): nobody may be left waiting on a batch that will not finish.
            _fail(batch, RuntimeError("ASR engine closed"))
            raise
        except Exception as exc:
            _fail(batch, exc)
            return
        finally:
            self._busy_workers -= 1
            if not batch[0].options.final:
                self._partial_batches -= 1
            if self._wakeup is not None:
                self._wakeup.set()
        waited, seconds = taken - min(p.queued_at for p in batch), time.perf_counter() - taken
        if batch[0].options.final:
            self.final_timings.append((waited, seconds, len(batch)))
        if self.observe is not None:
            self.observe(batch[0].options.final, waited, seconds)
        for p, r in zip(batch, results, strict=True):
            if p.future.cancelled():
                # Its stream stopped waiting while it was decoded (speech resumed after an early
                # final): counted so the cost of early finals stays visible.
                self.abandoned_seconds += r.decode_seconds / max(1, r.batch_size)
            elif p.future.done():
                continue
            elif r.error is not None:
                p.future.set_exception(DecodeError(r.error))
            else:
                p.future.set_result(r)

    def _take_batch(self, allow_partials: bool = True) -> list[_Pending]:
        # Cancelled waiters (a stream that went away) are skipped, not decoded.
        self._queue = [p for p in self._queue if not p.future.done()]
        finals = [p for p in self._queue if p.options.final]
        if finals:
            # Finals are what is kept; partials are losable. While finals wait, waiting partials are
            # answered empty at once (their streams ask again a moment later) so load sheds itself.
            for p in self._queue:
                if not p.options.final:
                    p.future.set_result(AsrResult(text="", dropped="skipped: engine busy with finals"))
                    self.partials_shed += 1
            # The most urgent first (an emergency channel, a 110 call), then the oldest: when the
            # engine is behind, routine radio waits, not an interview or a call.
            finals.sort(key=lambda p: (-p.options.priority, p.queued_at))
            self._queue = finals
            batch = self._queue[: self.max_batch]
        elif not allow_partials:
            return []
        else:
            # A partial that waited long is out of date (its stream has more audio by now), and a
            # big partial batch would hold back finals arriving meanwhile: shed the stale ones and
            # take few at a time, oldest first. Partials only get their share of the engine's time,
            # so the finals that follow them find it nearly free.
            now = time.perf_counter()
            over_budget = self.recent_partial_share(now) > self.settings.partial_share
            for p in self._queue:
                if over_budget:
                    p.future.set_result(AsrResult(text="", dropped="skipped: partials over their share"))
                    self.partials_shed += 1
                elif now - p.queued_at > PARTIAL_MAX_WAIT_S:
                    p.future.set_result(AsrResult(text="", dropped="skipped: partial out of date"))
                    self.partials_shed += 1
            self._queue = [p for p in self._queue if not p.future.done()]
            batch = self._queue[:PARTIAL_BATCH]
        chosen = {id(p) for p in batch}
        self._queue = [p for p in self._queue if id(p) not in chosen]
        return batch

    def _finals_waiting(self) -> bool:
        # Read from a decoder thread while the loop may change the list: a snapshot is enough here.
        return any(p.options.final and not p.future.done() for p in list(self._queue))

    @property
    def idle(self) -> bool:
        """Nothing decoding and nothing queued: deferred work (shed radio transmissions) may run."""
        return self._busy_workers == 0 and not any(not p.future.done() for p in self._queue)

    def recent_partial_share(self, now: float | None = None) -> float:
        """Share of the engine's capacity (all workers) over the last PARTIAL_SHARE_WINDOW_S seconds
        that went to partials."""
        now = time.perf_counter() if now is None else now
        spans = self._partial_spans
        with self._stats_lock:
            while spans and spans[0][0] < now - PARTIAL_SHARE_WINDOW_S:
                spans.popleft()
            return sum(seconds for _, seconds in spans) / (PARTIAL_SHARE_WINDOW_S * self.workers)

    async def close(self) -> None:
        """Stop the dispatcher and the decoding threads."""
        self._closed = True
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._dispatcher
        for task in list(self._running):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        _fail(self._queue, RuntimeError("ASR engine closed"))
        self._queue.clear()
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown, True)

    # ---- blocking decode (worker thread) --------------------------------------------------
    def decode_batch(self, audios: Sequence[np.ndarray], options: Sequence[DecodeOptions]) -> list[AsrResult]:
        """Decode several utterances together. Blocking: runs in one of the engine's decoder threads
        (several may run at once; each CTranslate2 call takes a free model replica).

        Never raises for one utterance's sake: an item whose decoding fails (after it was retried
        alone, see :meth:`_decode_isolated`) comes back with ``error`` set."""
        started = time.perf_counter()
        results: list[AsrResult | None] = [None] * len(audios)
        live: list[int] = []
        for i, audio in enumerate(audios):
            audio = audio[: int(MAX_AUDIO_SECONDS * SAMPLE_RATE)]
            try:
                speech = self._gate.speech_seconds(audio)
            except Exception as exc:  # one malformed buffer must not fail its batch neighbours
                log.exception("Silero gate failed on an utterance")
                results[i] = AsrResult(text="", error=f"speech check failed: {exc.__class__.__name__}: {exc}")
                continue
            if speech < self.settings.min_speech_seconds:
                results[i] = AsrResult(text="", speech_seconds=speech,
                                       dropped=f"no speech: Silero heard {speech:.2f} s, needs "
                                               f"{self.settings.min_speech_seconds:g} s")
            else:
                live.append(i)
                results[i] = AsrResult(text="", speech_seconds=speech)
        # CTranslate2 decodes a batch in one call only when every item's <|startoftranscript|> sits
        # at the same position (hotwords and initial prompts come before it), and finals and
        # partials differ in beam size, which it fixes per call: items are grouped by both (and by the
        # window, one encoder input length per call).
        groups: dict[tuple[bool, int, bool], list[int]] = {}
        for i in live:
            key = (options[i].final, self._prefix_length(options[i]), options[i].full_window)
            groups.setdefault(key, []).append(i)
        for idx in groups.values():
            decoded = self._decode_isolated([audios[i] for i in idx], [options[i] for i in idx])
            for i, r in zip(idx, decoded, strict=True):
                prev = results[i]
                r.speech_seconds = prev.speech_seconds if prev else 0.0
                results[i] = r
        elapsed = time.perf_counter() - started
        out = [r if r is not None else AsrResult(text="") for r in results]
        for r in out:
            r.decode_seconds = elapsed
            r.batch_size = len(audios)
        with self._stats_lock:
            self.batches += 1
            self.busy_seconds += elapsed
            if not any(o.final for o in options):
                self.partial_seconds += elapsed
                self._partial_spans.append((time.perf_counter(), elapsed))
            self.batched_items += len(audios)
            self.max_batch_seen = max(self.max_batch_seen, len(audios))
            self.groups_decoded += len(groups)
        return out

    def _prefix_length(self, opt: DecodeOptions) -> int:
        """Tokens before <|startoftranscript|> in this item's prompt (0 without a prompt)."""
        if not opt.prompted:
            return 0
        tok = self._tokenizer("en")  # the prompt's text tokens do not depend on the language
        return self._prompt(tok, opt).index(tok.sot)

    def _decode_isolated(self, audios: Sequence[np.ndarray], options: Sequence[DecodeOptions]) -> list[AsrResult]:
        """Decode a group; if the group fails, each item alone, and an item that fails alone once more.

        One bad utterance (or a CTranslate2 refusal of the whole batch) must cost its neighbours
        nothing; a failure that repeats is the item's own, reported on it, never raised."""
        try:
            return self._decode_group(audios, options)
        except Exception as exc:
            if len(audios) > 1:
                log.warning("a batch of %d failed (%s: %s); decoding its items one by one", len(audios),
                            exc.__class__.__name__, exc)
            else:
                log.warning("decoding failed (%s: %s); retrying once", exc.__class__.__name__, exc)
        out: list[AsrResult] = []
        for audio, opt in zip(audios, options, strict=True):
            reason = ""
            for attempt in range(1 if len(audios) == 1 else 2):
                try:
                    out.append(self._decode_group([audio], [opt])[0])
                    with self._stats_lock:
                        self.items_recovered += 1
                    break
                except Exception as exc:
                    reason = f"{exc.__class__.__name__}: {exc}"
                    log.exception("decoding an utterance failed (attempt %d)", attempt + 2)
            else:
                with self._stats_lock:
                    self.items_failed += 1
                out.append(AsrResult(text="", error=reason or "decoding failed"))
        return out

    def _features(self, audios: Sequence[np.ndarray], window: Window) -> tuple[np.ndarray, list[int]]:
        """Log-Mel features padded to one window for the batch: 30 s (full) or the longest item + 3 s
        (fit) or + 7 s (wide)."""
        from faster_whisper.audio import pad_or_trim

        fe = self.model.feature_extractor
        mels, frames = [], []
        for audio in audios:
            audio = audio[: int(MAX_AUDIO_SECONDS * SAMPLE_RATE)].astype(np.float32)
            mels.append(fe(audio))
            frames.append(min(int(audio.size // fe.hop_length), fe.nb_max_frames))
        length = fe.nb_max_frames
        if window != "full":
            # CTranslate2 accepts a shorter encoder input; its cost falls with the length. Padding
            # (3 s, at least a 5 s window) keeps Whisper from running off the end of the speech.
            pad, least = (WIDE_PAD_FRAMES, WIDE_MIN_FRAMES) if window == "wide" else (FIT_PAD_FRAMES, FIT_MIN_FRAMES)
            length = min(fe.nb_max_frames, max(max(frames) + pad, least))
        return np.stack([pad_or_trim(m, length) for m in mels]).astype(np.float32), frames

    def _tokenizer(self, language: str) -> Any:
        from faster_whisper.tokenizer import Tokenizer

        return Tokenizer(self.model.hf_tokenizer, self.multilingual, task="transcribe",
                         language=language if self.multilingual else None)

    def _decode_group(self, audios: Sequence[np.ndarray], options: Sequence[DecodeOptions]) -> list[AsrResult]:
        full = self.settings.window == "full" or options[0].full_window
        feats, frames = self._features(audios, "full" if full else "fit")
        encoder_output = self.model.encode(feats)
        langs: list[tuple[str, float | None]] = []
        need_detect = self.multilingual and any(o.language is None for o in options)
        detected = self.model.model.detect_language(encoder_output) if need_detect else None
        for i, opt in enumerate(options):
            if not self.multilingual:
                langs.append(("en", None))
            elif opt.language is not None:
                langs.append((opt.language, None))
            else:
                assert detected is not None
                token, prob = detected[i][0]
                hint = opt.language_hint
                if hint and hint in self.languages and prob < LANGUAGE_HINT_BELOW:
                    probs = {t[2:-2]: p for t, p in detected[i]}
                    langs.append((hint, float(probs.get(hint, 0.0))))
                else:
                    langs.append((token[2:-2], float(prob)))
        tokenizers = [self._tokenizer(lang) for lang, _ in langs]
        prompts = [self._prompt(tok, opt) for tok, opt in zip(tokenizers, options, strict=True)]
        final = options[0].final
        beam = self.settings.beam_size if final else 1
        # A loop cannot run longer than speech can: each call's output is bounded by its audio.
        seconds = max(frames) / 100
        gens = self._generate(encoder_output, prompts, tokenizers[0], beam, 0.0, seconds)
        results: list[AsrResult] = []
        enc_host: np.ndarray | None = None
        for i, (gen, tok, opt) in enumerate(zip(gens, tokenizers, options, strict=True)):
            tokens, avg_logprob, no_speech = gen
            text = _decoded(tok, tokens)
            ratio = textnorm.compression_ratio(text)
            temperature = 0.0
            item_enc: Any = None  # this item's encoder output when it had to be redone alone
            if final and self._needs_fallback(avg_logprob, ratio, no_speech, text, fitted=not full):
                encoded: dict[Window, Any] = {}  # each window is encoded once, whatever the retries in it
                retries = self._retries(fitted=not full, doubled=not full and textnorm.is_repeated_whole(text))
                first_full = next((n for n, (_, w) in enumerate(retries) if w == "full"), len(retries))
                if len(retries) > first_full + 1 and self._finals_waiting():
                    # Other finals wait for a decoder: one full-window retry, not the temperature
                    # ladder too (on a bad clip that is 2.5 s instead of 1.8 s of a decoder's time).
                    retries = retries[:first_full + 1]
                    with self._stats_lock:
                        self.retries_cut += 1
                for t, window in retries:
                    if window not in encoded:
                        encoded[window] = self.model.encode(self._features([audios[i]], window)[0])
                    item_enc = encoded[window]
                    t_tokens, t_lp, t_ns = self._generate(item_enc, [prompts[i]], tok, beam if t == 0 else 1, t,
                                                          frames[i] / 100)[0]
                    t_text = _decoded(tok, t_tokens)
                    t_ratio = textnorm.compression_ratio(t_text)
                    limit = self.settings.compression_ratio_threshold
                    # A wider window than the first pass's is trusted over it when it is not a loop.
                    if t_ratio <= limit and (ratio > limit or t_lp > avg_logprob or window != "fit"):
                        tokens, avg_logprob, text, ratio, temperature = t_tokens, t_lp, t_text, t_ratio, t
                        no_speech = t_ns
                    if not self._needs_fallback(avg_logprob, ratio, no_speech, text, fitted=window == "wide"):
                        if window == "wide":
                            with self._stats_lock:
                                self.doubles_rescued += 1
                        break
            echo = opt.prompted and textnorm.echoes_prompt(text, opt.hotwords, opt.initial_prompt)
            if echo and final:
                # Whisper said its prompt back (hotwords on barely intelligible audio): decode the
                # utterance again with no prompt, so only the audio speaks.
                if item_enc is None:
                    if enc_host is None:
                        enc_host = self._host(encoder_output, feats)
                    item_enc = self._item(enc_host, feats, i)
                bare = self._prompt(tok, dataclasses.replace(opt, hotwords=None, initial_prompt=None))
                tokens, avg_logprob, no_speech = self._generate(item_enc, [bare], tok, beam, 0.0, frames[i] / 100)[0]
                text = _decoded(tok, tokens)
                ratio, temperature = textnorm.compression_ratio(text), 0.0
                with self._stats_lock:
                    self.prompt_echoes += 1
                log.info("a prompted final repeated its prompt; redone without it")
            elif echo:
                text = ""  # a partial is only a preview: show nothing rather than the prompt
            result = AsrResult(text="", language=langs[i][0], language_probability=langs[i][1],
                               avg_logprob=avg_logprob, no_speech_prob=no_speech, compression_ratio=ratio,
                               temperature=temperature, prompt_echo=echo)
            drop = self._drop_reason(avg_logprob, no_speech)
            if drop:
                result.dropped = drop
                results.append(result)
                continue
            text, looped = textnorm.collapse_repeats(text)
            if looped:
                log.info("repetition loop cut from a %s result", langs[i][0])
            if textnorm.is_empty_text(text):
                result.dropped = "no words in Whisper's output"
                results.append(result)
                continue
            words: list[Word] = []
            if final and not looped:
                if item_enc is None:
                    if enc_host is None:
                        enc_host = self._host(encoder_output, feats)
                    item_enc = self._item(enc_host, feats, i)
                words = self._words(tok, tokens, item_enc, frames[i], opt.script, langs[i][0])
            if langs[i][0] in textnorm.CHINESE_LANGUAGES:
                text = textnorm.to_script(text, opt.script)
            result.text = text
            result.words = words
            result.confidence = (float(np.mean([w.probability for w in words])) if words
                                 else float(math.exp(avg_logprob)))
            results.append(result)
        return results

    def _host(self, encoder_output: Any, feats: np.ndarray) -> np.ndarray | None:
        # On CPU the encoder output converts to numpy without a copy to the host; on a GPU an item
        # is re-encoded alone instead (rare: alignment of a batched final).
        return np.array(encoder_output) if self.device == "cpu" else None

    def _item(self, enc_host: np.ndarray | None, feats: np.ndarray, i: int) -> Any:
        import ctranslate2

        if enc_host is not None:
            return ctranslate2.StorageView.from_array(np.ascontiguousarray(enc_host[i:i + 1]))
        return self.model.encode(feats[i:i + 1])

    def _retries(self, fitted: bool, doubled: bool = False) -> list[tuple[float, Window]]:
        """(temperature, window) to try in order for a doubtful final: ``wide`` (the fitted window
        with 7 s after the speech), then ``full`` (Whisper's 30 s).

        A fitted final that said its whole phrase twice is first redone in the wide window: the
        short window's typical failure, which more room after the speech undoes at a third of the
        30 s window's cost; if the wide window still doubts, the 30 s retries follow as before."""
        tries: list[tuple[float, Window]] = [(0.0, "wide")] if fitted and doubled else []
        tries += [(0.0, "full")] if fitted else []
        return tries + [(t, "full") for t in self._temperatures()]

    def _prompt(self, tok: Any, opt: DecodeOptions) -> list[int]:
        previous = tok.encode(" " + opt.initial_prompt.strip()) if opt.initial_prompt else []
        prompt: list[int] = self.model.get_prompt(tok, previous_tokens=previous, without_timestamps=True,
                                                  hotwords=opt.hotwords or None)
        return prompt

    def _generate(self, encoder_output: Any, prompts: list[list[int]], tok: Any, beam: int,
                  temperature: float, seconds: float = MAX_AUDIO_SECONDS) -> list[tuple[list[int], float, float]]:
        from faster_whisper.transcribe import get_suppressed_tokens

        longest = max(len(p) for p in prompts)
        res = self.model.model.generate(
            encoder_output, prompts, beam_size=beam, patience=1.0, length_penalty=1.0,
            max_length=min(self.model.max_length, longest + token_budget(seconds)), suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(tok, [-1]), return_scores=True, return_no_speech_prob=True,
            sampling_temperature=max(temperature, 1e-6) if temperature > 0 else 1.0,
            sampling_topk=0 if temperature > 0 else 1, repetition_penalty=1.0, no_repeat_ngram_size=0)
        out = []
        for r in res:
            tokens = [t for t in r.sequences_ids[0] if t < tok.eot]
            seq_len = len(r.sequences_ids[0])
            cum = r.scores[0] * seq_len  # scores are length-normalised (length_penalty=1)
            out.append((tokens, float(cum / (seq_len + 1)), float(r.no_speech_prob)))
        return out

    def _temperatures(self) -> list[float]:
        temps = []
        for raw in self.settings.fallback_temperatures:
            with contextlib.suppress(ValueError):
                temps.append(min(1.0, max(0.0, float(raw))))
        return temps

    def _needs_fallback(self, avg_logprob: float, ratio: float, no_speech: float, text: str, fitted: bool) -> bool:
        if no_speech > self.settings.no_speech_threshold and avg_logprob < self.settings.logprob_threshold:
            return False  # silence: dropped, not retried
        if fitted and _loop_cut(text):
            # A phrase said over and over is cut to one (collapse_repeats below), not redone in the
            # 30 s window: on the shared corpus the redo changed no error rate but two (both espeak
            # clips base cannot make out, both no better) and cost 2-2.6 s of a decoder each, the
            # district benchmark's radio tail (docs/voice.md, "Encoder window").
            with self._stats_lock:
                self.loops_cut += 1
            return False
        if fitted and textnorm.is_repeated_whole(text):
            return True  # the short window's typical failure: the phrase said again
        return ratio > self.settings.compression_ratio_threshold or avg_logprob < self.settings.logprob_threshold

    def _drop_reason(self, avg_logprob: float, no_speech: float) -> str | None:
        s = self.settings
        if no_speech > s.no_speech_threshold and avg_logprob < s.logprob_threshold:
            return f"no speech: Whisper no-speech probability {no_speech:.2f} with log-probability {avg_logprob:.2f}"
        return None

    def _words(self, tok: Any, tokens: list[int], encoder_item: Any, num_frames: int, script: str,
               language: str) -> list[Word]:
        if not tokens:
            return []
        try:
            aligned = self.model.find_alignment(tok, [tokens], encoder_item, num_frames)
        except Exception:  # alignment is a nicety; the text stands without it
            log.exception("word alignment failed")
            return []
        words = []
        for w in aligned[0] if aligned else []:
            text = w["word"].strip()
            if not text:
                continue
            if language in textnorm.CHINESE_LANGUAGES:
                text = textnorm.to_script(text, script)
            words.append(Word(text, round(float(w["start"]), 3), round(float(w["end"]), 3),
                              round(float(w["probability"]), 4)))
        return words


async def transcribe_audio(backend: AsrBackend, audio: np.ndarray, options: DecodeOptions,
                           max_chunk_seconds: float = 25.0) -> list[tuple[float, float, AsrResult]]:
    """Run a whole in-memory recording (16 kHz mono) through the shared engine.

    WebRTC VAD finds the speech; neighbouring utterances are merged into chunks of at most
    ``max_chunk_seconds`` (Whisper decodes better with context, and each call costs a 30 s
    window anyway), which are decoded concurrently so the engine can batch them. Returns
    (start, end, result) per chunk that produced words. Used by file uploads, the
    OpenAI-compatible endpoint and, later, radio-call uploads and interview recordings.
    A recording is decoded in the full 30 s window (``DecodeOptions.full_window``): accuracy first.
    """
    options = dataclasses.replace(options, full_window=True)
    spans = speech_spans(audio, max_chunk_seconds)
    chunks: list[tuple[float, float]] = []
    for start, end in spans:
        if chunks and end - chunks[-1][0] <= max_chunk_seconds:
            chunks[-1] = (chunks[-1][0], end)
        else:
            chunks.append((start, end))
    return [(s, e, r) for s, e, r in await decode_spans(backend, audio, chunks, options) if r.text]


async def decode_spans(backend: AsrBackend, audio: np.ndarray, spans: Sequence[tuple[float, float]],
                       options: DecodeOptions) -> list[tuple[float, float, AsrResult]]:
    """Each (start, end) span of ``audio`` decoded at once (the engine batches or queues them), in order."""
    results = await asyncio.gather(*(
        backend.transcribe(audio[int(s * SAMPLE_RATE):int(e * SAMPLE_RATE)], options) for s, e in spans))
    return [(s, e, r) for (s, e), r in zip(spans, results, strict=True)]


def speech_spans(audio: np.ndarray, max_utterance_seconds: float) -> list[tuple[float, float]]:
    """(start, end) seconds of each utterance WebRTC VAD finds in a 16 kHz recording, in order."""
    from voice.stream import StreamConfig, StreamTranscriber

    core = StreamTranscriber(StreamConfig(sample_rate=SAMPLE_RATE, partial_interval=0.0, early_final_ms=0,
                                          max_utterance_seconds=max_utterance_seconds))
    spans: list[tuple[float, float]] = []
    step = SAMPLE_RATE
    for off in range(0, audio.size, step):
        core.feed_samples(audio[off:off + step])
        spans.extend((r.start, r.end) for r in core.take_requests() if r.final)
    core.finish()
    spans.extend((r.start, r.end) for r in core.take_requests() if r.final)
    return spans


# A piece shorter than this is not worth a decode of its own (a last word, a squelch tail).
MIN_PIECE_SECONDS = 2.0


def pause_cuts(audio: np.ndarray, split_seconds: float) -> list[tuple[float, float]]:
    """``audio`` (16 kHz) as pieces of about ``split_seconds`` or less, cut in the middle of its pauses.

    The pieces cover the whole recording, so no sound is left undecoded; a recording no longer than
    ``split_seconds``, or with no pause that leaves both sides at least MIN_PIECE_SECONDS, is one
    piece. Decoded side by side, a long radio transmission's text waits for the longest piece, not
    for one decode of the whole.
    """
    total = audio.size / SAMPLE_RATE
    if split_seconds <= 0 or total <= split_seconds:
        return [(0.0, total)]
    spans = speech_spans(audio, MAX_AUDIO_SECONDS - 1)
    pauses = [(a_end + b_start) / 2 for (_a, a_end), (b_start, _b) in itertools.pairwise(spans)]
    cuts: list[float] = []
    wanted = math.ceil(total / split_seconds)
    for k in range(1, wanted):
        ideal = k * total / wanted
        options = [p for p in pauses if p not in cuts]
        if not options:
            break
        cuts.append(min(options, key=lambda p: abs(p - ideal)))
    bounds = [0.0]
    for cut in sorted(cuts):
        if cut - bounds[-1] >= MIN_PIECE_SECONDS and total - cut >= MIN_PIECE_SECONDS:
            bounds.append(cut)
    bounds.append(total)
    return list(itertools.pairwise(bounds))
