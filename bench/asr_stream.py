"""N concurrent live streams against the shared engine, replaying WAV files at real-time pace.

For each model and N, every stream replays a sequence of clips from ../shared/audio (1 s of
silence between clips, start times staggered) through the same streaming core and engine the
server uses, and the script reports:

* first-partial latency: wall time from the start of an utterance's speech to its first partial;
* final latency: wall time from the end of an utterance's speech to its final (p50/p95);
* real-time factor: engine decoding time / audio seconds streamed (all streams together);
* CPU use (cores busy on average) and peak RSS (each model runs in its own process).

Usage::

    python bench/asr_stream.py                         # both models, N = 1 2 4 8 (several minutes)
    python bench/asr_stream.py --models tiny.en --streams 1 2 --seconds 20
    python bench/asr_stream.py --max-batch 1           # batching off, for comparison
    JINGYUN_EARLY_FINAL_MS=0 python bench/asr_stream.py     # finals only after the whole end silence
    JINGYUN_ASR_PARTIAL_SHARE=1 python bench/asr_stream.py  # partials without a share limit
    JINGYUN_ASR_WORKERS=1 python bench/asr_stream.py        # one decoder using every core

The last line printed is one JSON list with an object per model and N.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("JINGYUN_SHARED_DIR", REPO.parent / "shared"))
CLIPS = {
    "tiny.en": ["real/en_jfk.wav", "synthetic/en_radio_02.wav", "synthetic/en_radio_04.wav",
                "synthetic/en_radio_06.wav", "synthetic/en_radio_05.wav"],
    "base": ["real/en_jfk.wav", "real/zh_aishell1_BAC009S0764W0121.wav", "synthetic/en_radio_02.wav",
             "real/zh_wenetspeech_TEST_MEETING_T0000000001_S00000.wav", "real/zh_aishell2_IT0011W0001.wav"],
}
CHUNK_S = 0.1


def _read(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
        if w.getframerate() != 16000:
            from voice.audio import StreamResampler

            res = StreamResampler(w.getframerate())
            data = np.concatenate([res.process(data), res.flush()])
    return data


def _programme(model: str, seconds: float, offset: int) -> np.ndarray:
    """A stream's audio: clips in rotation (each stream starts at a different clip), 1 s gaps."""
    clips = [_read(SHARED / "audio" / rel) for rel in CLIPS[model]]
    parts: list[np.ndarray] = []
    total = 0
    i = offset
    while total < seconds * 16000:
        clip = clips[i % len(clips)]
        parts += [clip, np.zeros(16000, np.float32)]
        total += clip.size + 16000
        i += 1
    return np.concatenate(parts)


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return float(np.percentile(np.array(values), q))


async def _one_stream(engine: Any, model: str, idx: int, seconds: float, stagger: float) -> dict[str, Any]:
    from voice.session import StreamSession
    from voice.stream import Final, Partial, StreamConfig, StreamTranscriber

    audio = _programme(model, seconds, idx)
    language = "en" if model == "tiny.en" else None
    first_partial: dict[int, float] = {}
    finals: list[tuple[Final, float]] = []
    t0 = 0.0

    def on_event(ev: Any) -> None:
        now = time.perf_counter()
        if isinstance(ev, Partial) and ev.utterance not in first_partial:
            first_partial[ev.utterance] = now - (t0 + ev.start)
        elif isinstance(ev, Final):
            finals.append((ev, now))

    v = engine.settings  # the server's JINGYUN_* voice settings, as the bench was started with
    core = StreamTranscriber(StreamConfig(language=language, partial_interval=v.partial_interval,
                                          end_silence_ms=v.end_silence_ms, early_final_ms=v.early_final_ms,
                                          long_utterance_seconds=v.long_utterance_seconds,
                                          long_end_silence_ms=v.long_end_silence_ms))
    session = StreamSession(core, engine, on_event)
    await asyncio.sleep(stagger)
    t0 = time.perf_counter()
    step = int(CHUNK_S * 16000)
    max_backlog = 0.0
    for n, off in enumerate(range(0, audio.size, step)):
        # Absolute schedule: a slow event loop does not stretch the stream.
        delay = t0 + n * CHUNK_S - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        session.feed_samples(audio[off:off + step])
        max_backlog = max(max_backlog, session.backlog_seconds)
    await session.finish()
    final_lat = [now - (t0 + ev.end) for ev, now in finals]
    return {"first_partial": list(first_partial.values()), "final": final_lat, "audio_s": audio.size / 16000,
            "finals": len(finals), "max_backlog_s": max_backlog, "early_used": core.early_used,
            "early_abandoned": core.early_abandoned}


async def _run_n(engine: Any, model: str, n: int, seconds: float) -> dict[str, Any]:
    engine.busy_seconds = 0.0
    engine.partial_seconds = 0.0
    engine.abandoned_seconds = 0.0
    engine.final_timings.clear()
    batches0, items0, shed0 = engine.batches, engine.batched_items, engine.partials_shed
    cpu0 = sum(os.times()[:2])
    wall0 = time.perf_counter()
    results = await asyncio.gather(*(_one_stream(engine, model, i, seconds, stagger=i * 0.37) for i in range(n)))
    wall = time.perf_counter() - wall0
    cpu = sum(os.times()[:2]) - cpu0
    audio_s = sum(r["audio_s"] for r in results)
    fp = [x for r in results for x in r["first_partial"]]
    fin = [x for r in results for x in r["final"]]
    batches = engine.batches - batches0
    row = {
        "model": model, "streams": n,
        "first_partial_p50_s": _round(_pct(fp, 50)), "final_p50_s": _round(_pct(fin, 50)),
        "final_p95_s": _round(_pct(fin, 95)), "rtf": round(engine.busy_seconds / audio_s, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cpu_cores_busy": round(cpu / wall, 2), "finals": len(fin),
        "mean_batch": round((engine.batched_items - items0) / batches, 2) if batches else 0.0,
        "max_backlog_s": round(max(r["max_backlog_s"] for r in results), 2),
        "partials_shed": engine.partials_shed - shed0,
        "workers": engine.workers,
        "partial_share": round(engine.partial_seconds / wall / engine.workers, 3),
        "abandoned_share": round(engine.abandoned_seconds / wall / engine.workers, 3),
        "final_wait_p95_s": _round(_pct([w for w, _, _ in engine.final_timings], 95)),
        "final_decode_p50_s": _round(_pct([d for _, d, _ in engine.final_timings], 50)),
        "final_decode_p95_s": _round(_pct([d for _, d, _ in engine.final_timings], 95)),
        "early_finals_used": sum(r["early_used"] for r in results),
        "early_finals_abandoned": sum(r["early_abandoned"] for r in results),
    }
    per_stream = [f"#{i}: first partial p50 {_fmt(_pct(r['first_partial'], 50))}, final p50 "
                  f"{_fmt(_pct(r['final'], 50))} p95 {_fmt(_pct(r['final'], 95))} ({r['finals']} finals)"
                  for i, r in enumerate(results)]
    print(f"{model} N={n}: " + "; ".join(per_stream), flush=True)
    holds = row["final_p95_s"] is not None and row["final_p95_s"] <= 1.5
    print(f"{model} N={n}: final p50 {row['final_p50_s']} s p95 {row['final_p95_s']} s, first partial p50 "
          f"{row['first_partial_p50_s']} s, RTF {row['rtf']}, CPU {row['cpu_cores_busy']} cores, mean batch "
          f"{row['mean_batch']}, peak RSS {row['peak_rss_mb']} MB -> {'holds' if holds else 'does NOT hold'} "
          "real time at p95 <= 1.5 s", flush=True)
    return row


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 3)


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}s"


async def _bench_model(model: str, counts: list[int], seconds: float, max_batch: int, threads: int) -> list[Any]:
    from voice.engine import AsrEngine, DecodeOptions
    from voice.settings import VoiceSettings
    from web.envparse import load_settings

    cache = Path(os.environ.get("JINGYUN_DATA_DIR", REPO / "data")) / "models"
    # Every JINGYUN_* voice setting applies (read and checked as the server does); flags win.
    settings = load_settings(VoiceSettings, os.environ,
                             overrides={"model": model, "max_batch": max_batch, "cpu_threads": threads})
    engine = await asyncio.get_running_loop().run_in_executor(None, AsrEngine.load, settings, cache)
    # Warm-up: the first call allocates buffers and would distort N=1.
    await engine.transcribe(_read(SHARED / "audio" / "real" / "en_jfk.wav"), DecodeOptions(language="en"))
    rows = []
    try:
        for n in counts:
            rows.append(await _run_n(engine, model, n, seconds))
    finally:
        await engine.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["tiny.en", "base"], choices=list(CLIPS))
    parser.add_argument("--streams", nargs="+", type=int, default=[1, 2, 4, 8])
    parser.add_argument("--seconds", type=float, default=30.0, help="audio per stream")
    parser.add_argument("--max-batch", type=int, default=0, help="0: the engine's auto (1 on CPU, 8 on CUDA)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for CTranslate2 (0: all cores)")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # child process mode
    args = parser.parse_args()
    if args.one:
        rows = asyncio.run(_bench_model(args.models[0], args.streams, args.seconds, args.max_batch, args.threads))
        print(json.dumps(rows))
        return
    rows: list[Any] = []
    for model in args.models:
        # One process per model, so peak RSS is that model's alone.
        cmd = [sys.executable, __file__, "--one", "--models", model, "--seconds", str(args.seconds),
               "--max-batch", str(args.max_batch), "--threads", str(args.threads),
               "--streams", *map(str, args.streams)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=REPO)
        lines = out.stdout.strip().splitlines()
        for line in lines[:-1]:
            print(line, flush=True)
        rows.extend(json.loads(lines[-1]))
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
