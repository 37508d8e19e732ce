"""District benchmark (issue 12, item 6): one server carrying a whole district's voice and dispatch load.

    python bench/district.py [--duration 300] [--model base] [--channels 20] [--duty 0.15] [--rooms 2]
                             [--units 200] [--consoles 5] [--rate 1] [--grace 120] [--seed 12]

Starts ``python -m web.cli serve`` as a separate process, from this checkout, on embedded defaults
(no REDIS_URL, no DATABASE_URL: its own Valkey and SQLite in a temporary data dir; a free loopback
port; JINGYUN_MODEL=--model; every other setting at its default), then, during ``--duration``
seconds, all at once:

* ``--channels`` radio gateways on ``/ws/radio/{channel}`` (channels created over REST first). Each
  channel keys up at about ``--duty`` of the time: ``ptt_down`` with a unit label, one clip from
  ../shared/audio (real/ and synthetic/ Mandarin and English speech; 8 kHz channels send the
  ``_radio8k`` clips, 16 kHz channels the others, each at its own sample rate) in real-time frames
  of 20, 40 or 60 ms, ``ptt_up``, then silence (nothing is sent while nobody is keyed). The mix the
  real gateways send: language ``zh``, ``en`` or auto; half the channels with place-name hotwords;
  one in five at 8 kHz; one in ten at priority 8, the rest 5. Unit labels are radio ids that are
  mapped to no dispatch unit, so spoken status phrases change no unit the dispatcher flow uses.
* ``--rooms`` interview rooms on ``/ws/transcribe`` (interviewer token, source ``interview``,
  partials on, as web/static/interview.js sends): even rooms Mandarin (``zh``, real Mandarin clips),
  odd rooms English (``en``); clips back to back with 1-2.5 s of silence between, streamed without
  a break in 100 ms frames like the browser's microphone.
* ``--units`` officer sockets on ``/ws/unit`` acknowledging every order at once, ``--consoles``
  consoles on ``/ws/console`` reading every event.
* ``--rate`` incidents per second created and dispatched over REST to a free unit; once the phone
  has acknowledged, the unit reports on scene and available and the incident is closed.

After the duration every gateway finishes the transmission it is in, every room the clip it is
in, and both send ``end``; the bench waits for ``done`` / ``closed`` (at most ``--drain``, 120 s), then
polls ``GET /api/radio/transmissions?channel=...`` every 5 s, printing progress, until every
transmission sent is in a terminal state or ``--grace`` (120 s) has passed. Loopback only; every
wait is bounded; it stops by itself.

Definitions (the last line printed is one JSON object with these keys and a few more):

* radio_transmissions: transmissions the bench sent (``ptt_down`` sent). Each must be filed by the
  server: a ``transmission`` message on the gateway socket, or found (by its unit label, unique per
  transmission) in ``GET /api/radio/transmissions?channel=...``.
* radio_finals: transmissions whose state is ``transcribed`` at the end (live, or later: a shed
  transmission is transcribed when the engine is idle). radio_late: those transcribed later
  (``late`` true, or first reported with state ``busy``). radio_shed: first reported as ``busy``.
  radio_unmeasured: transcribed, not late, but the gateway socket had stopped listening (``--drain``)
  before its message came, so it has no latency (radio_unmeasured_min_s: the least it can have been).
  radio_finals = radio_live_finals + radio_late + radio_unmeasured.
* radio_failed: state ``failed``. radio_dropped: state ``dropped`` (the server heard no speech; the
  clips are all speech, so every one is a lost transmission in practice; reported, not a goal).
* radio_missing: sent but never filed, or still not in a terminal state (``transcribed``,
  ``dropped``, ``failed``) after the grace period. Always:
  radio_transmissions = radio_finals + radio_dropped + radio_failed + radio_missing.
* radio_final_p50_s / radio_final_p95_s: over the transmissions transcribed live, ``ptt_up`` sent ->
  the gateway socket's ``transmission`` message with state ``transcribed`` received.
* interview_final_p95_s: per utterance, the wall time its last audio was sent (the frame holding the
  final's ``end``, which is the VAD's end with its post-roll, as bench/asr_stream.py measures) ->
  its ``final`` event received. Audio goes out on an absolute real-time schedule.
* interview_utterances: utterance numbers a room's streams used (1 up to the highest number seen
  in any event; a number skipped is an utterance the server never reported). interview_finals /
  interview_dropped: utterances that ended in ``final`` / ``dropped``. interview_missing: those
  that ended in an ``error`` event or in no terminal event by the stream's ``closed`` message (or by
  the socket's end when it closed without one).
* lag_events / busy_events: ``lag`` and ``busy`` messages received on all voice sockets (radio and
  interview).
* orders_created: dispatches answered with an order. orders_acked: orders the phone acknowledged
  and the server confirmed (``acked``). order_p99_ms: the order's ``committed_at`` (taken by the
  server right after the order's SQL transaction) -> the order received on the unit socket, the
  figure of the dispatch goal (bench/dispatch_push.py's headline, bench/load.py's
  ``committed_to_phone``); order_request_p99_ms: from the dispatcher's HTTP request instead.
* peak_rss_mb: the server's whole process tree, the server process and its embedded Valkey: the
  sum of each process's own peak (VmHWM) read at the end, an upper bound of the tree's peak;
  rss_sampled_peak_mb is the largest sum of VmRSS seen, sampled every second.

Human-readable figures are printed before the JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import signal
import sys
import tempfile
import time
import wave
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.clients import (  # noqa: E402
    DispatchStats,
    Rest,
    connect_phones_and_consoles,
    dispatch_open_loop,
    pct,
    raise_fd_limit,
    rnd,
)
from tests.reliability.helpers import ServerProcess  # noqa: E402
from web.auth import issue_token  # noqa: E402

SECRET = "district-bench-secret-" + "d" * 30
TERMINAL = ("transcribed", "dropped", "failed")
ZH_HOTWORDS = "福田 深南大道 滨河大道 福华路 建设街 华强北"
EN_HOTWORDS = "Futian, Shennan Avenue, Binhe Avenue, Fuhua Road, Huaqiang North"
INTERVIEW_FRAME_S = 0.1  # what the interview page's microphone worklet sends
WS_TIMEOUT = aiohttp.ClientWSTimeout(ws_close=10)


# ---- audio ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Clip:
    name: str
    language: str
    rate: int
    pcm: bytes  # int16 little-endian mono

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / self.rate


def load_clips(shared: Path) -> list[Clip]:
    """Mandarin and English speech from the manifest (no Cantonese: base has no ``yue``; no non-speech)."""
    manifest = json.loads((shared / "audio" / "manifest.json").read_text())
    clips = []
    for entry in manifest:
        if entry["kind"] not in ("real", "synthetic") or entry["language"] not in ("zh", "en"):
            continue
        with wave.open(str(shared / "audio" / entry["file"]), "rb") as w:
            if w.getnchannels() != 1 or w.getsampwidth() != 2:
                continue
            clips.append(Clip(entry["file"], entry["language"], w.getframerate(), w.readframes(w.getnframes())))
    if not clips:
        raise SystemExit(f"no speech clips found under {shared / 'audio'}; set JINGYUN_SHARED_DIR")
    return clips


def frames_of(clip: Clip, frame_s: float) -> Iterator[bytes]:
    step = int(clip.rate * frame_s) * 2
    for off in range(0, len(clip.pcm), step):
        yield clip.pcm[off:off + step]


# ---- the plan ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChannelPlan:
    id: str
    index: int
    language: str | None  # None: auto
    hotwords: str | None
    rate: int
    frame_ms: int
    priority: int
    clips: tuple[Clip, ...]

    def rest_body(self) -> dict[str, Any]:
        return {"id": self.id, "name": f"District bench {self.index:02d}", "language": self.language or "auto",
                "hotwords": self.hotwords, "priority": self.priority}


def plan_channels(n: int, clips: list[Clip]) -> list[ChannelPlan]:
    """A deterministic mix: languages zh, en, auto, zh, auto; hotwords on even channels; every fourth
    channel (3, 7, ...) at 8 kHz with the narrowband clips; channels 0, 10, ... at priority 8."""
    plans = []
    for i in range(n):
        language = ("zh", "en", None, "zh", None)[i % 5]
        rate = 8000 if i % 4 == 3 else 16000
        pool = tuple(c for c in clips if c.rate == rate and (language is None or c.language == language)
                     and (rate == 8000 or "_radio8k" not in c.name))
        hotwords = None
        if i % 2 == 0:
            hotwords = EN_HOTWORDS if language == "en" else ZH_HOTWORDS
        plans.append(ChannelPlan(f"district-{i:02d}", i, language, hotwords, rate, (20, 40, 60)[i % 3],
                                 8 if i % 10 == 0 else 5, pool))
    return plans


def room_clips(clips: list[Clip], language: str) -> list[Clip]:
    return [c for c in clips if c.language == language and c.rate == 16000 and "_radio" not in c.name]


# ---- measurements --------------------------------------------------------------------------------
@dataclass
class RadioTx:
    channel: str
    label: str
    clip: str
    seconds: float
    up_sent: float | None = None  # monotonic, just before ptt_up went out
    id: str | None = None
    first_state: str | None = None  # the state of the first ``transmission`` message
    state: str | None = None  # the latest state known (socket or REST)
    late: bool = False
    live_s: float | None = None  # ptt_up sent -> ``transmission`` with state transcribed (live only)
    reason: str | None = None  # why it was dropped or failed, as the server says
    listened_until: float | None = None  # monotonic: the gateway socket it went out on was closed


@dataclass
class Utterance:
    terminal: str | None = None  # final | dropped | error
    why: str | None = None  # the dropped reason or the error code
    latency_s: float | None = None
    sent: float | None = None  # monotonic: its last audio went out
    text: str = ""  # the final's text (--detail)
    seconds: float | None = None  # the utterance's length (final's end - start)


@dataclass
class InterviewStream:
    room: int
    number: int = 1  # the room's first stream, second (after the server closed the first), ...
    utterances: dict[int, Utterance] = field(default_factory=dict)
    sent: list[tuple[float, float]] = field(default_factory=list)  # (audio seconds so far, monotonic sent)
    closed: bool = False  # the server's ``closed`` message arrived

    def sent_at(self, audio_s: float) -> float | None:
        """When the frame holding audio second ``audio_s`` was sent (the sends are in order)."""
        lo, hi = 0, len(self.sent)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.sent[mid][0] + 1e-6 < audio_s:
                lo = mid + 1
            else:
                hi = mid
        return self.sent[lo][1] if lo < len(self.sent) else None

    def utt(self, n: int) -> Utterance:
        return self.utterances.setdefault(n, Utterance())


@dataclass
class Stats(DispatchStats):
    radio: dict[str, RadioTx] = field(default_factory=dict)  # by unit label
    radio_audio_s: float = 0.0
    streams: list[InterviewStream] = field(default_factory=list)
    interview_audio_s: float = 0.0
    lag_events: int = 0
    busy_events: int = 0
    rss_peak_sampled: float = 0.0
    rss_trend: list[float] = field(default_factory=list)  # the tree's VmRSS (MB) every 30 s from set-up on
    loadavg: list[float] = field(default_factory=list)  # the machine's 1-minute load average, each second


def tok(role: str, unit: str | None = None) -> str:
    return issue_token(SECRET, role, unit_id=unit, ttl=86400, subject=f"unit:{unit}" if unit else f"district-{role}")


def tree(pid: int) -> list[int]:
    """The process and all its descendants (the embedded Valkey is a child of the server)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def proc_mem(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (MB) and the command name of one process; empty when it is gone."""
    out: dict[str, Any] = {}
    with contextlib.suppress(OSError):
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key = line.split(":", 1)[0]
                if key in ("VmRSS", "VmHWM"):
                    out[key] = int(line.split()[1]) / 1024
                elif key == "Name":
                    out["name"] = line.split()[1]
    return out


def machine_busy_seconds() -> float:
    """CPU time every process on the machine has used since boot (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


async def watch_rss(pid: int, stats: Stats, stop: asyncio.Event) -> None:
    pids = tree(pid)
    n = 0
    while not stop.is_set():
        if n % 10 == 0:  # the tree does not change after start-up, but look again now and then
            pids = tree(pid)
        n += 1
        rss = sum(proc_mem(p).get("VmRSS", 0.0) for p in pids)
        stats.rss_peak_sampled = max(stats.rss_peak_sampled, rss)
        if n % 30 == 1:  # a trend every 30 s, to tell warm-up from growth
            stats.rss_trend.append(round(rss, 1))
        # The machine is shared: what else ran is part of every latency figure.
        stats.loadavg.append(os.getloadavg()[0])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


# ---- radio gateways ------------------------------------------------------------------------------
def is_late(tx: dict[str, Any]) -> bool:
    """Transcribed after being shed: the server's ``late`` flag (``meta.late`` in the issue's wording)."""
    return bool(tx.get("late") or (tx.get("meta") or {}).get("late"))


def on_radio_message(data: dict[str, Any], stats: Stats, now: float) -> None:
    kind = data.get("type")
    if kind == "transmission":
        tx = data.get("transmission") or {}
        rec = stats.radio.get(str(tx.get("unit_label")))
        if rec is None:
            stats.errors["radio_unknown_transmission"] += 1
            return
        state = str(tx.get("state"))
        rec.id = tx.get("id") or rec.id
        if rec.first_state is None:
            rec.first_state = state
        rec.state = state
        rec.reason = tx.get("reason") or rec.reason
        late = is_late(tx) or rec.first_state == "busy"
        rec.late = rec.late or (state == "transcribed" and late)
        if state == "transcribed" and not late and rec.live_s is None and rec.up_sent is not None:
            rec.live_s = now - rec.up_sent
    elif kind == "lag":
        stats.lag_events += 1
    elif kind == "busy":
        stats.busy_events += 1
    elif kind == "error":
        stats.errors[f"radio_error:{data.get('code')}"] += 1


async def radio_channel(http: aiohttp.ClientSession, base: str, plan: ChannelPlan, duty: float, seed: int,
                        stats: Stats, t0: float, t_stop: float, drain_s: float) -> None:
    """One gateway: keyed about ``duty`` of the time until ``t_stop``, then ``end`` and ``done``."""
    rng = random.Random(seed * 1000 + plan.index)
    clip_pool = list(plan.clips)
    mean_len = sum(c.seconds for c in clip_pool) / len(clip_pool)
    # Idle time between transmissions so that talk / (talk + idle) = duty on average.
    mean_idle = mean_len * (1 - duty) / duty
    next_start = t0 + rng.uniform(0, mean_idle)
    k = 0
    url = f"{base}/ws/radio/{plan.id}?token={tok('service')}"
    frame_s = plan.frame_ms / 1000
    for _attempt in range(20):  # reconnects are bounded
        if time.monotonic() >= t_stop and _attempt:
            return
        try:
            async with http.ws_connect(url, heartbeat=30, timeout=WS_TIMEOUT) as ws:
                await ws.send_json({"type": "config", "sample_rate": plan.rate, "encoding": "pcm_s16le",
                                    "mode": "ptt"})
                ready = await ws.receive_json(timeout=30)
                if ready.get("type") != "ready":
                    stats.errors[f"radio_not_ready:{ready.get('code') or ready.get('type')}"] += 1
                    await asyncio.sleep(2)
                    continue
                done = asyncio.Event()

                async def read(ws: aiohttp.ClientWebSocketResponse = ws, done: asyncio.Event = done) -> None:
                    async for msg in ws:
                        if msg.type is not aiohttp.WSMsgType.TEXT:
                            break
                        data = json.loads(msg.data)
                        on_radio_message(data, stats, time.monotonic())
                        if data.get("type") == "done":
                            done.set()
                            return

                reader = asyncio.ensure_future(read())
                on_socket: list[RadioTx] = []
                try:
                    while True:
                        await asyncio.sleep(max(0.0, min(next_start, t_stop) - time.monotonic()))
                        if time.monotonic() >= t_stop or reader.done():
                            break
                        clip = rng.choice(clip_pool)
                        k += 1
                        label = f"R{plan.index:02d}.{k:05d}"  # unique: the REST listing is matched by it
                        rec = RadioTx(plan.id, label, clip.name, clip.seconds)
                        stats.radio[label] = rec
                        on_socket.append(rec)
                        await ws.send_json({"type": "ptt_down", "unit": label})
                        start = time.monotonic()
                        for i, frame in enumerate(frames_of(clip, frame_s)):
                            # Absolute schedule: a slow loop does not stretch the transmission.
                            await asyncio.sleep(max(0.0, start + i * frame_s - time.monotonic()))
                            await ws.send_bytes(frame)
                            stats.radio_audio_s += len(frame) / 2 / plan.rate
                        await asyncio.sleep(max(0.0, start + clip.seconds - time.monotonic()))
                        rec.up_sent = time.monotonic()
                        await ws.send_json({"type": "ptt_up"})
                        next_start = start + clip.seconds + rng.uniform(0.5, 1.5) * mean_idle
                    if not reader.done():
                        await ws.send_json({"type": "end"})
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(asyncio.shield(reader), drain_s)
                        if not done.is_set():
                            stats.errors["radio_no_done_in_drain"] += 1
                        return
                    stats.errors["radio_socket_closed"] += 1
                finally:
                    for rec in on_socket:
                        rec.listened_until = time.monotonic()
                    reader.cancel()
                    with contextlib.suppress(BaseException):
                        await reader
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError, TypeError) as exc:
            stats.errors[f"radio_connect:{exc.__class__.__name__}"] += 1
        await asyncio.sleep(1.0)


# ---- interview rooms -----------------------------------------------------------------------------
def on_interview_message(data: dict[str, Any], stream: InterviewStream, stats: Stats, now: float) -> bool:
    """Record one event; True when the stream is over (``closed``)."""
    kind = data.get("type")
    utt = data.get("utterance")
    if kind in ("partial", "final", "dropped") and isinstance(utt, int):
        u = stream.utt(utt)
        if kind == "final" and u.terminal is None:
            u.terminal = "final"
            end = data.get("end")
            sent = stream.sent_at(float(end)) if isinstance(end, (int, float)) else None
            u.latency_s = None if sent is None else now - sent
            u.sent = sent
            u.text = str(data.get("text") or "")
            start = data.get("start")
            if isinstance(start, (int, float)) and isinstance(end, (int, float)):
                u.seconds = round(float(end) - float(start), 2)
        elif kind == "dropped" and u.terminal is None:
            u.terminal, u.why = "dropped", str(data.get("reason"))
    elif kind == "error":
        stats.errors[f"interview_error:{data.get('code')}"] += 1
        if isinstance(utt, int):
            u = stream.utt(utt)
            u.terminal, u.why = "error", str(data.get("code"))
    elif kind == "lag":
        stats.lag_events += 1
    elif kind == "busy":
        stats.busy_events += 1
    elif kind == "closed":
        stream.closed = True
        return True
    return False


async def interview_room(http: aiohttp.ClientSession, base: str, room: int, clips: list[Clip], seed: int,
                         stats: Stats, t_stop: float, drain_s: float) -> None:
    """One room: clips back to back with short pauses, one stream; a new stream if the server closes it."""
    rng = random.Random(seed * 1000 + 500 + room)
    language = "zh" if room % 2 == 0 else "en"
    pool = room_clips(clips, language)
    silence = b"\x00\x00" * int(16000 * INTERVIEW_FRAME_S)
    url = f"{base}/ws/transcribe?token={tok('interviewer')}"
    order = list(pool)
    rng.shuffle(order)
    clip_no = 0
    for _attempt in range(20):
        if time.monotonic() >= t_stop and _attempt:
            return
        stream = InterviewStream(room, number=1 + sum(s.room == room for s in stats.streams))
        try:
            async with http.ws_connect(url, heartbeat=30, timeout=WS_TIMEOUT) as ws:
                await ws.send_json({"type": "config", "sample_rate": 16000, "encoding": "pcm_s16le",
                                    "language": language, "source": "interview",
                                    "channel": f"interview:BENCH-{room + 1}", "partials": True})
                ready = await ws.receive_json(timeout=30)
                if ready.get("type") != "ready":
                    stats.errors[f"interview_not_ready:{ready.get('code') or ready.get('type')}"] += 1
                    if ready.get("type") == "busy":
                        stats.busy_events += 1
                    await asyncio.sleep(2)
                    continue
                stats.streams.append(stream)

                async def read(ws: aiohttp.ClientWebSocketResponse = ws, stream: InterviewStream = stream) -> None:
                    async for msg in ws:
                        if msg.type is not aiohttp.WSMsgType.TEXT:
                            return
                        if on_interview_message(json.loads(msg.data), stream, stats, time.monotonic()):
                            return

                reader = asyncio.ensure_future(read())
                try:
                    start = time.monotonic()
                    audio_s = 0.0
                    n = 0
                    while time.monotonic() < t_stop and not reader.done():
                        clip = order[clip_no % len(order)]
                        clip_no += 1
                        pause = [silence] * int(rng.uniform(1.0, 2.5) / INTERVIEW_FRAME_S)
                        for frame in [*frames_of(clip, INTERVIEW_FRAME_S), *pause]:
                            await asyncio.sleep(max(0.0, start + n * INTERVIEW_FRAME_S - time.monotonic()))
                            if reader.done():
                                break
                            await ws.send_bytes(frame)
                            n += 1
                            audio_s += len(frame) / 32000
                            stream.sent.append((audio_s, time.monotonic()))
                    stats.interview_audio_s += audio_s
                    if not reader.done():
                        await ws.send_json({"type": "end"})
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(asyncio.shield(reader), drain_s)
                        if not stream.closed:
                            stats.errors["interview_no_closed_in_drain"] += 1
                        return
                    stats.errors["interview_socket_closed"] += 1
                finally:
                    reader.cancel()
                    with contextlib.suppress(BaseException):
                        await reader
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError, TypeError) as exc:
            stats.errors[f"interview_connect:{exc.__class__.__name__}"] += 1
        await asyncio.sleep(1.0)


# ---- the server's own account of its ASR engine --------------------------------------------------
async def engine_figures(http: aiohttp.ClientSession, base: str) -> dict[str, dict[str, Any]]:
    """Batches, queue wait and decode time per kind from /metrics (jingyun_asr_* histograms)."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        async with http.get(f"{base}/metrics", headers={"Authorization": f"Bearer {tok('service')}"},
                            timeout=aiohttp.ClientTimeout(total=30)) as resp:
            text = await resp.text()
    except (aiohttp.ClientError, OSError, TimeoutError):
        return {}
    hist: dict[tuple[str, str], dict[str, float]] = {}
    for family in text_string_to_metric_families(text):
        if family.name not in ("jingyun_asr_queue_wait_seconds", "jingyun_asr_decode_seconds"):
            continue
        for sample in family.samples:
            key = (family.name, sample.labels.get("kind", "?"))
            if sample.name.endswith("_bucket"):
                hist.setdefault(key, {})[sample.labels["le"]] = sample.value
            elif sample.name.endswith(("_count", "_sum")):
                hist.setdefault(key, {})[sample.name.rsplit("_", 1)[1]] = sample.value
    out: dict[str, dict[str, Any]] = {}
    for kind in ("final", "partial"):
        wait = hist.get(("jingyun_asr_queue_wait_seconds", kind), {})
        dec = hist.get(("jingyun_asr_decode_seconds", kind), {})
        n = int(wait.get("count", 0))
        if not n:
            continue
        out[kind] = {"batches": n, "wait_mean_s": rnd(wait["sum"] / n), "decode_mean_s": rnd(dec.get("sum", 0) / n),
                     "waited_over_0_5_s": int(n - wait.get("0.5", n)), "waited_over_1_s": int(n - wait.get("1.0", n)),
                     "decode_over_1_s": int(n - dec.get("1.0", n)), "decode_over_2_s": int(n - dec.get("2.0", n))}
    return out


# ---- after the run: every transmission to a terminal state ---------------------------------------
async def settle_radio(rest: Rest, stats: Stats, channels: list[str], grace_s: float) -> float:
    """Poll the transmission lists until every one sent is terminal or ``grace_s`` passed; the wait."""
    t0 = time.monotonic()
    last_print = -10.0
    while True:
        for cid in channels:
            got = await rest.call("GET", f"/api/radio/transmissions?channel={cid}&limit=1000")
            for tx in (got or {}).get("transmissions", []):
                rec = stats.radio.get(str(tx.get("unit_label")))
                if rec is None:
                    continue
                rec.id = rec.id or tx.get("id")
                rec.state = str(tx.get("state"))
                rec.reason = tx.get("reason") or rec.reason
                if rec.state == "transcribed" and is_late(tx):
                    rec.late = True
        waiting = [r for r in stats.radio.values() if r.state not in TERMINAL]
        waited = time.monotonic() - t0
        if not waiting or waited >= grace_s:
            if waiting:
                print(f"grace over after {waited:.0f} s: {len(waiting)} transmissions not terminal "
                      f"({dict(Counter(str(r.state) for r in waiting))})", flush=True)
            return waited
        if waited - last_print >= 10:
            last_print = waited
            print(f"after the run +{waited:.0f} s: {len(waiting)} of {len(stats.radio)} transmissions not in a "
                  f"terminal state yet ({dict(Counter(str(r.state) for r in waiting))})", flush=True)
        await asyncio.sleep(5.0)


def server_log_errors(path: Path) -> dict[str, int]:
    """Error lines of the server's JSON log by message and exception type: the why behind a failure."""
    found: Counter[str] = Counter()
    with contextlib.suppress(OSError):
        with path.open(errors="replace") as f:
            for line in f:
                if '"level": "error"' not in line and '"level": "critical"' not in line:
                    continue
                with contextlib.suppress(ValueError):
                    rec = json.loads(line)
                    exc = str(rec.get("exc") or "").strip().splitlines()
                    msg = str(rec.get("msg", ""))
                    # Messages name ids ("... transmission 9f..."): keep the words, count the kind.
                    words = " ".join(w for w in msg.split() if not any(c.isdigit() for c in w))
                    found[f"{rec.get('logger')}: {words}" + (f" [{exc[-1][:160]}]" if exc else "")] += 1
    return dict(found.most_common(10))


# ---- the run -------------------------------------------------------------------------------------
async def run(args: argparse.Namespace) -> dict[str, Any]:
    raise_fd_limit()
    clips = load_clips(Path(args.shared))
    plans = plan_channels(args.channels, clips)
    work = Path(tempfile.mkdtemp(prefix="jingyun-district-"))
    # Embedded defaults: ServerProcess drops every JINGYUN_*, REDIS_URL and DATABASE_URL of this
    # environment; only the data dir, the model and a fixed secret (to sign the bench's tokens) are set.
    env = {"JINGYUN_DATA_DIR": str(work / "data"), "JINGYUN_SECRET": SECRET, "JINGYUN_MODEL": args.model,
           "JINGYUN_LOAD_MODEL": "1", **dict(item.split("=", 1) for item in args.env)}
    server = ServerProcess(env, work / "server.log")
    stats = Stats()
    stop = asyncio.Event()
    load_start = os.getloadavg()
    server.start()
    try:
        t_boot = time.monotonic()
        await server.wait_ready(within=300, need=("redis", "database", "model", "dispatch"))
        assert server.proc is not None
        pid = server.proc.pid
        pids = tree(pid)
        print(f"server pid {pid} ready in {time.monotonic() - t_boot:.1f} s on {server.base}; processes: "
              + ", ".join(f"{p} {proc_mem(p).get('name', '?')}" for p in pids), flush=True)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:
            rest = Rest(http, server.base, tok("dispatcher"), stats)
            t_setup = time.monotonic()
            units = await rest.make_units(args.units, "District")
            for plan in plans:
                # The gateway route wants the channel to exist (until the server creates it on first use).
                if await rest.call("POST", "/api/radio/channels", plan.rest_body(), quiet=(409,)) is None:
                    await rest.call("PUT", f"/api/radio/channels/{plan.id}", plan.rest_body())
            background: list[asyncio.Task[None]] = [asyncio.ensure_future(watch_rss(pid, stats, stop))]
            phones_up = await connect_phones_and_consoles(http, server.base, units, args.consoles, tok, stats, stop,
                                                          background)
            print(f"{len(units)} units ({phones_up} phones connected), {len(plans)} channels, {args.consoles} "
                  f"consoles set up in {time.monotonic() - t_setup:.1f} s; running {args.duration:g} s", flush=True)
            await asyncio.sleep(1.0)

            cpu0, wall0, self_cpu0 = cpu_seconds(pids), time.monotonic(), sum(os.times()[:2])
            machine0 = machine_busy_seconds()
            t0 = time.monotonic()
            t_stop = t0 + args.duration
            voice = [asyncio.ensure_future(radio_channel(http, server.base, p, args.duty, args.seed, stats, t0,
                                                         t_stop, args.drain)) for p in plans]
            voice += [asyncio.ensure_future(interview_room(http, server.base, r, clips, args.seed, stats, t_stop,
                                                           args.drain)) for r in range(args.rooms)]
            jobs: set[asyncio.Task[None]] = set()
            calls = await dispatch_open_loop(rest, units, args.rate, t0, t_stop, jobs)
            print(f"duration over: {calls} calls started; finishing transmissions and utterances", flush=True)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(args.drain + 30):  # each task bounds its own drain wait
                    await asyncio.gather(*voice, return_exceptions=True)
            for t in voice:
                t.cancel()
            voice_end = time.monotonic()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(60):
                    await asyncio.gather(*jobs, return_exceptions=True)
            run_s = voice_end - t0
            cpu_server = cpu_seconds(pids) - cpu0
            self_cpu = sum(os.times()[:2]) - self_cpu0
            # What neither the server nor the bench used: the neighbours' share of the machine.
            others_cpu = machine_busy_seconds() - machine0 - cpu_server - self_cpu
            wall = time.monotonic() - wall0
            grace_used = await settle_radio(rest, stats, [p.id for p in plans], args.grace)
            engine = await engine_figures(http, server.base)
            mem = {p: proc_mem(p) for p in pids}
            load_end = os.getloadavg()
            stop.set()
            for t in background:
                t.cancel()
            for t in background:
                with contextlib.suppress(BaseException):
                    await t
    finally:
        server.kill(signal.SIGTERM)
        log_errors = server_log_errors(work / "server.log")
        if args.keep:
            print(f"work dir kept: {work}", file=sys.stderr)
        else:
            import shutil

            shutil.rmtree(work, ignore_errors=True)

    facts = {"plans": plans, "units": units, "phones_up": phones_up, "run_s": run_s, "grace_used": grace_used,
             "mem": mem, "cpu_server": cpu_server, "self_cpu": self_cpu, "others_cpu": others_cpu, "wall": wall,
             "load_start": load_start, "load_end": load_end, "log_errors": log_errors,
             "engine": engine}
    if args.detail:
        write_detail(args.detail, stats, t0)
    return summarize(stats, args, facts)


def write_detail(path: Path, stats: Stats, t0: float) -> None:
    """Per transmission and utterance, seconds from the start of traffic: to find what makes a tail."""
    def at(mono: float | None) -> float | None:
        return None if mono is None else round(mono - t0, 3)

    with path.open("w", encoding="utf-8") as out:
        for tx in stats.radio.values():
            out.write(json.dumps({"kind": "radio", "channel": tx.channel, "clip": tx.clip, "audio_s": tx.seconds,
                                  "up_at": at(tx.up_sent), "live_s": tx.live_s, "state": tx.state,
                                  "first_state": tx.first_state, "late": tx.late}) + "\n")
        for st in stats.streams:
            for n, u in sorted(st.utterances.items()):
                out.write(json.dumps({"kind": "interview", "room": st.room, "stream": st.number, "utterance": n,
                                      "sent_at": at(u.sent), "latency_s": u.latency_s, "seconds": u.seconds,
                                      "terminal": u.terminal, "text": u.text}, ensure_ascii=False) + "\n")


def summarize(stats: Stats, args: argparse.Namespace, facts: dict[str, Any]) -> dict[str, Any]:
    """The figures of the docstring's definitions, the goals' keys first."""
    plans, units, phones_up, run_s = facts["plans"], facts["units"], facts["phones_up"], facts["run_s"]
    mem, wall = facts["mem"], facts["wall"]
    radio = list(stats.radio.values())
    finals = [r for r in radio if r.state == "transcribed"]
    live = [r.live_s for r in finals if r.live_s is not None and not r.late]
    # Transcribed, but its message had not come when the gateway stopped listening: no latency is
    # measured; it was at least the time from its ptt_up to that moment.
    unmeasured = [r for r in finals if r.live_s is None and not r.late]
    unmeasured_min = [r.listened_until - r.up_sent for r in unmeasured
                      if r.listened_until is not None and r.up_sent is not None]
    utts = [(s, n, s.utterances.get(n, Utterance())) for s in stats.streams
            for n in range(1, max(s.utterances, default=0) + 1)]
    i_finals = [u for _s, _n, u in utts if u.terminal == "final"]
    i_dropped = [u for _s, _n, u in utts if u.terminal == "dropped"]
    i_lat = [u.latency_s for u in i_finals if u.latency_s is not None]
    orders = stats.order_figures()
    hwm = sum(m.get("VmHWM", 0.0) for m in mem.values())
    result: dict[str, Any] = {
        "radio_transmissions": len(radio),
        "radio_finals": len(finals),
        "radio_failed": sum(r.state == "failed" for r in radio),
        "radio_missing": sum(r.state not in TERMINAL for r in radio),
        "radio_final_p50_s": rnd(pct(live, 50)),
        "radio_final_p95_s": rnd(pct(live, 95)),
        "interview_final_p95_s": rnd(pct(i_lat, 95)),
        "interview_missing": len(utts) - len(i_finals) - len(i_dropped),
        "lag_events": stats.lag_events,
        "busy_events": stats.busy_events,
        "orders_created": orders["orders_created"],
        "orders_acked": orders["orders_acked"],
        "order_p99_ms": orders["committed_to_phone_p99_ms"],
        "peak_rss_mb": round(hwm, 1),
        # more of the same run
        "radio_live_finals": len(live),
        "radio_late": sum(r.late for r in finals),
        "radio_unmeasured": len(unmeasured),
        "radio_unmeasured_min_s": rnd(min(unmeasured_min, default=None)),
        "radio_shed": sum(r.first_state == "busy" for r in radio),
        "radio_dropped": sum(r.state == "dropped" for r in radio),
        "radio_never_filed": sum(r.state is None for r in radio),
        "radio_final_max_s": rnd(max(live, default=None)),
        # state: reason (clip, whether it was shed first) of every transmission that did not end transcribed
        "radio_not_transcribed": dict(Counter(
            f"{r.state}: {r.reason} ({r.clip}{', shed' if r.first_state == 'busy' else ''})"
            for r in radio if r.state != "transcribed")),
        "radio_audio_s": round(stats.radio_audio_s, 1),
        "radio_duty": round(stats.radio_audio_s / (len(plans) * args.duration), 3) if plans else None,
        "interview_streams": len(stats.streams),
        "interview_utterances": len(utts),
        "interview_finals": len(i_finals),
        "interview_dropped": len(i_dropped),
        "interview_errors": sum(u.terminal == "error" for _s, _n, u in utts),
        # room, stream and utterance number of those that ended in no final, and how
        "interview_not_final": {f"room {s.room}.{s.number} #{n}": f"{u.terminal or 'no event'}: {u.why}"
                                for s, n, u in utts if u.terminal != "final"},
        "interview_final_p50_s": rnd(pct(i_lat, 50)),
        "interview_final_max_s": rnd(max(i_lat, default=None)),
        "interview_audio_s": round(stats.interview_audio_s, 1),
        "orders_delivered": orders["orders_delivered"],
        "order_p50_ms": orders["committed_to_phone_p50_ms"],
        "order_request_p50_ms": orders["request_to_phone_p50_ms"],
        "order_request_p99_ms": orders["request_to_phone_p99_ms"],
        "console_events": orders["console_events"],
        "console_reconnects": orders["console_reconnects"],
        "errors": dict(stats.errors),
        "server_log_errors": facts["log_errors"],
        # the server's ASR engine over the whole run (its /metrics): where a final's time went
        "engine": facts.get("engine") or {},
        "rss_sampled_peak_mb": round(stats.rss_peak_sampled, 1),
        "rss_every_30s_mb": stats.rss_trend,
        "rss_by_process_mb": {f"{p} {m.get('name', '?')}": {"rss": round(m.get("VmRSS", 0.0), 1),
                                                            "hwm": round(m.get("VmHWM", 0.0), 1)}
                              for p, m in mem.items()},
        "server_cpu_cores": round(facts["cpu_server"] / wall, 2) if wall else None,
        "bench_cpu_cores": round(facts["self_cpu"] / wall, 2) if wall else None,
        "other_processes_cpu_cores": round(max(0.0, facts["others_cpu"]) / wall, 2) if wall else None,
        "loadavg_start": [round(x, 2) for x in facts["load_start"]],
        "loadavg_end": [round(x, 2) for x in facts["load_end"]],
        "loadavg_1m_mean": round(sum(stats.loadavg) / len(stats.loadavg), 2) if stats.loadavg else None,
        "loadavg_1m_max": round(max(stats.loadavg), 2) if stats.loadavg else None,
        "run_s": round(run_s, 1), "grace_used_s": round(facts["grace_used"], 1),
        "model": args.model, "duration_s": args.duration, "channels": args.channels, "duty": args.duty,
        "rooms": args.rooms, "units": len(units), "phones_connected": phones_up, "consoles": args.consoles,
        "rate": args.rate, "seed": args.seed, "server_env": getattr(args, "env", []), "cpus": os.cpu_count(),
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    return result


def report(r: dict[str, Any]) -> None:
    def s(v: Any) -> str:
        return "-" if v is None else f"{v} s"

    print(f"district benchmark: model {r['model']}, {r['run_s']} s, {r['channels']} channels at duty "
          f"{r['duty']} (achieved {r['radio_duty']}), {r['rooms']} rooms, {r['units']} units, "
          f"{r['consoles']} consoles, {r['rate']} dispatch/s; load average {r['loadavg_start']} -> "
          f"{r['loadavg_end']} (1 min, during the run: mean {r['loadavg_1m_mean']}, max {r['loadavg_1m_max']}) "
          f"on {r['cpus']} CPUs")
    print(f"radio        {r['radio_transmissions']} sent ({r['radio_audio_s']} s of audio): "
          f"{r['radio_finals']} transcribed ({r['radio_live_finals']} live, {r['radio_late']} late, "
          f"{r['radio_unmeasured']} unmeasured; {r['radio_shed']} shed), {r['radio_dropped']} dropped, "
          f"{r['radio_failed']} failed, "
          f"{r['radio_missing']} missing ({r['radio_never_filed']} never filed); waited "
          f"{r['grace_used_s']} s after the run")
    if r["radio_not_transcribed"]:
        print(f"             not transcribed: {r['radio_not_transcribed']}")
    print(f"radio final  ptt_up -> transcribed, live: p50 {s(r['radio_final_p50_s'])}, p95 "
          f"{s(r['radio_final_p95_s'])}, max {s(r['radio_final_max_s'])}   (goal: p95 <= 2 s)")
    if r["radio_unmeasured"]:
        print(f"             not in the figures above: {r['radio_unmeasured']} transcribed after their gateway "
              f"stopped listening (--drain), each at least {r['radio_unmeasured_min_s']} s after ptt_up")
    print(f"interview    {r['interview_streams']} streams, {r['interview_utterances']} utterances: "
          f"{r['interview_finals']} final, {r['interview_dropped']} dropped, {r['interview_missing']} missing "
          f"({r['interview_errors']} with an error); end of speech -> final p50 {s(r['interview_final_p50_s'])}, "
          f"p95 {s(r['interview_final_p95_s'])}, max {s(r['interview_final_max_s'])}   (goal: p95 <= 1.5 s)")
    if r["interview_not_final"]:
        nf = r["interview_not_final"]
        print(f"             not final: {dict(Counter(nf.values()))}: {', '.join(list(nf)[:12])}"
              + (" ..." if len(nf) > 12 else ""))
    print(f"voice events lag {r['lag_events']}, busy {r['busy_events']}")
    for kind, e in (r["engine"] or {}).items():
        print(f"engine       {kind}s: {e['batches']} batches, queue wait mean {e['wait_mean_s']} s "
              f"({e['waited_over_0_5_s']} waited over 0.5 s, {e['waited_over_1_s']} over 1 s), decode mean "
              f"{e['decode_mean_s']} s ({e['decode_over_1_s']} over 1 s, {e['decode_over_2_s']} over 2 s)")
    print(f"orders       {r['orders_created']} created, {r['orders_delivered']} delivered, {r['orders_acked']} "
          f"acked; committed -> phone p50 {r['order_p50_ms']} ms, p99 {r['order_p99_ms']} ms (goal: p99 <= 50 ms); "
          f"request -> phone p50 {r['order_request_p50_ms']} ms, p99 {r['order_request_p99_ms']} ms")
    print(f"consoles     {r['console_events']} events, {r['console_reconnects']} reconnects")
    print(f"memory       peak RSS {r['peak_rss_mb']} MB (sum of VmHWM over {list(r['rss_by_process_mb'])}; "
          f"sampled peak {r['rss_sampled_peak_mb']} MB)   (goal: <= 1024 MB)")
    print(f"             RSS every 30 s from set-up: {r['rss_every_30s_mb']} MB")
    print(f"cpu          server {r['server_cpu_cores']} cores, bench {r['bench_cpu_cores']} cores, other processes "
          f"{r['other_processes_cpu_cores']} cores (on average over the run)")
    print(f"errors       {r['errors'] or 'none'}")
    for what, n in r["server_log_errors"].items():
        print(f"server log   {n} x {what}")
    # Other processes competed for the CPU (the decoder threads run at a lower priority and yield to
    # them first): the latencies then measure the neighbours too.
    if (r["other_processes_cpu_cores"] or 0) > 0.2:
        print(f"WARNING      the machine was busy: other processes used {r['other_processes_cpu_cores']} of its "
              f"{r['cpus']} cores on average during the run (the server {r['server_cpu_cores']}; load average "
              f"{r['loadavg_1m_mean']}): latencies measure the neighbours too")


def cli() -> None:
    shared = Path(os.environ.get("JINGYUN_SHARED_DIR", REPO.parent / "shared"))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of traffic (default 300)")
    parser.add_argument("--model", default="base", help="JINGYUN_MODEL of the server (default base)")
    parser.add_argument("--channels", type=int, default=20, help="radio channels (default 20)")
    parser.add_argument("--duty", type=float, default=0.15, help="share of time each channel is keyed (0.15)")
    parser.add_argument("--rooms", type=int, default=2, help="interview rooms (default 2)")
    parser.add_argument("--units", type=int, default=200, help="officer sockets (default 200)")
    parser.add_argument("--consoles", type=int, default=5, help="console sockets (default 5)")
    parser.add_argument("--rate", type=float, default=1.0, help="incidents created and dispatched per second")
    parser.add_argument("--drain", type=float, default=120.0,
                        help="seconds to wait for each socket's done/closed after the run (default 120)")
    parser.add_argument("--grace", type=float, default=120.0,
                        help="seconds to wait for every transmission to reach a terminal state (default 120)")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--shared", default=str(shared), help="the shared test data (JINGYUN_SHARED_DIR)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir and server log")
    parser.add_argument("--env", action="append", default=[], metavar="JINGYUN_X=VALUE",
                        help="a server setting other than its default, to compare (repeatable)")
    parser.add_argument("--detail", type=Path,
                        help="also write one JSON line per transmission and per utterance here (clip, when, latency)")
    args = parser.parse_args()
    if any("=" not in item or not item.startswith("JINGYUN_") for item in args.env):
        parser.error("--env takes JINGYUN_NAME=VALUE")
    if not 0 < args.duty < 1 or args.rate <= 0 or args.duration <= 0 or args.units < 1:
        parser.error("--duty must be in (0, 1); --rate, --duration and --units must be positive")
    result = asyncio.run(run(args))
    report(result)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    cli()
