"""Hostile input, property-based: the voice protocol parser, PCM decoding, VAD framing, the streaming core.

Whatever a client sends, these either accept it or refuse it with their own documented error
(``ProtocolError``, ``AudioError``); they never raise anything else, never emit non-finite samples,
and never keep more audio than an utterance needs.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voice.audio import ENCODINGS, AudioError, pcm_to_float
from voice.engine import AsrResult
from voice.protocol import CONFIG_KEYS, ClientConfig, ProtocolError, parse_config
from voice.stream import Dropped, Failed, Final, StreamConfig, StreamTranscriber
from voice.vad import SpeechEnd, SpeechStart, VadConfig, WebRtcSegmenter

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)

config_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["config", "Config", "end", 1])},
    optional={k: st.one_of(json_values, st.sampled_from([8000, 16000, 44100, "16000", True, "f32le", "pcm_s16le",
                                                         "auto", "zh", "x" * 2000, ["a", "b"], ""]))
              for k in CONFIG_KEYS if k != "type"}) | st.dictionaries(st.text(max_size=12), json_values, max_size=5)


@given(st.one_of(json_values, config_like))
@settings(max_examples=400, deadline=None)
def test_parse_config_accepts_or_refuses_cleanly(message: Any) -> None:
    try:
        cfg = parse_config(message)
    except ProtocolError as exc:
        assert exc.code in ("bad_config", "unsupported_sample_rate", "unsupported_encoding")
        assert exc.message
        return
    assert isinstance(cfg, ClientConfig)
    assert cfg.sample_rate in (8000, 16000) and cfg.encoding in ENCODINGS
    assert len(cfg.source) <= 200 and len(cfg.channel) <= 200
    json.dumps(cfg.__dict__)  # what is echoed back in `ready` is plain JSON


@given(st.binary(max_size=4096), st.sampled_from([*ENCODINGS, "pcm_s16be", "", "f64le"]))
@settings(max_examples=400, deadline=None)
def test_pcm_decoding_never_yields_bad_samples(data: bytes, encoding: str) -> None:
    try:
        samples = pcm_to_float(data, encoding)
    except AudioError as exc:
        assert str(exc)
        return
    assert samples.dtype == np.float32
    assert np.isfinite(samples).all()
    assert samples.size == 0 or float(np.abs(samples).max()) <= 1.0


def test_pcm_nan_inf_and_odd_lengths_are_refused() -> None:
    for bad in (np.array([0.1, np.nan], "<f4").tobytes(), np.array([np.inf], "<f4").tobytes(), b"\x00" * 3):
        try:
            pcm_to_float(bad, "f32le")
        except AudioError:
            continue
        raise AssertionError(f"{bad!r} was accepted")
    try:
        pcm_to_float(b"\x00" * 5, "pcm_s16le")
    except AudioError:
        pass
    else:
        raise AssertionError("odd-length s16 accepted")


def _signal(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n, dtype=np.float32) / 16000
    if kind == "noise":
        return rng.uniform(-1, 1, n).astype(np.float32)
    if kind == "dc":
        return np.full(n, 0.7, np.float32)
    if kind == "clipped":
        return np.clip(np.sin(2 * np.pi * 220 * t) * 8, -1, 1).astype(np.float32)
    if kind == "tone":  # voice-band tone with a syllable-like envelope: often "speech" to WebRTC VAD
        return (0.6 * np.sin(2 * np.pi * 300 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t))).astype(np.float32)
    if kind == "byteswapped":  # s16le speech-like audio read with the wrong endianness
        good = (np.sin(2 * np.pi * 200 * t) * 12000).astype("<i2")
        return good.byteswap().astype(np.float32) / 32768.0
    return np.zeros(n, np.float32)


KINDS = ["noise", "dc", "clipped", "tone", "byteswapped", "silence"]
pieces = st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 16000)), min_size=1, max_size=12)


@given(pieces, st.integers(1, 5000), st.sampled_from([10, 20, 30]))
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_vad_framing_is_chunking_invariant(parts: list[tuple[str, int]], chunk: int, frame_ms: int) -> None:
    rng = np.random.default_rng(7)
    audio = np.concatenate([_signal(k, n, rng) for k, n in parts])
    whole = WebRtcSegmenter(VadConfig(sample_rate=16000, frame_ms=frame_ms)).feed(audio)
    seg = WebRtcSegmenter(VadConfig(sample_rate=16000, frame_ms=frame_ms))
    chunked: list[SpeechStart | SpeechEnd] = []
    for off in range(0, audio.size, chunk):
        chunked += seg.feed(audio[off:off + chunk])
    assert chunked == whole
    # Starts and ends alternate, in order, inside the audio.
    last = -1
    for i, ev in enumerate(whole):
        assert isinstance(ev, SpeechStart if i % 2 == 0 else SpeechEnd)
        assert 0 <= ev.sample <= audio.size and ev.sample >= last - 16000  # pre-roll may reach back
        last = ev.sample


class _Backend:
    """Answers decode requests with text or an error, in any order: stands in for the model only."""

    def __init__(self, draw: Any) -> None:
        self.draw = draw

    def answer(self, stream: StreamTranscriber, pending: list[Any]) -> list[Any]:
        events: list[Any] = []
        order = self.draw(st.permutations(range(len(pending)))) if pending else []
        for i in order:
            req = pending[i]
            outcome = self.draw(st.sampled_from(["text", "empty", "error"]))
            if outcome == "error":
                events += stream.on_error(req, "backend failed")
            else:
                text = "" if outcome == "empty" else self.draw(st.sampled_from(["hello", "unit five", "你好 世界"]))
                events += stream.on_result(req, AsrResult(text=text, language="en", language_probability=0.9,
                                                          confidence=0.5, words=[], avg_logprob=-0.2,
                                                          no_speech_prob=0.1, dropped=None if text else "no words"))
        return events


@given(st.data(), pieces, st.sampled_from([8000, 16000]), st.booleans())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_stream_core_survives_anything_and_stays_bounded(data: st.DataObject, parts: list[tuple[str, int]],
                                                         rate: int, partials: bool) -> None:
    stream = StreamTranscriber(StreamConfig(sample_rate=rate, partial_interval=1.0 if partials else 0,
                                            max_utterance_seconds=4.0))
    backend = _Backend(data.draw)
    rng = np.random.default_rng(3)
    events: list[Any] = []
    for kind, n in parts:
        stream.feed_samples(_signal(kind, n * rate // 16000, rng))
        action = data.draw(st.sampled_from(["none", "answer", "flush"]))
        if action == "flush":
            stream.flush()
        if action != "none":
            events += backend.answer(stream, stream.take_requests())
        events += stream.take_ready()
        # Bounded memory: never more than the longest utterance plus pre-roll and one second of history.
        assert stream._buffer.size <= (4.0 + 2.0) * 16000
    stream.finish()
    for _ in range(5):
        events += backend.answer(stream, stream.take_requests())
        events += stream.take_ready()
    assert stream.done
    finals = [e.utterance for e in events if isinstance(e, Final | Dropped | Failed)]
    assert finals == list(range(1, len(finals) + 1)), "every utterance resolved once, in order"
