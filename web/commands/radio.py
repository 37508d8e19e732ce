"""`jingyun` sub-commands for radio channels (issue 6): ``radio-bridge``.

``jingyun radio-bridge`` plays a WAV file or a directory of calls into ``/ws/radio/{channel}`` at
real-time pace, keying up (``ptt_down`` with the unit) before each call and releasing
(``ptt_up``) after it, like a radio gateway would: for demos and load tests. Each
transmission's result is printed as one JSON line; the last line is a JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit


def ws_url(server: str, channel: str, token: str) -> str:
    parts = urlsplit(server if "://" in server else f"http://{server}")
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None:
        raise ValueError(f"--server must be an http(s):// or ws(s):// URL, got {server!r}")
    path = parts.path.rstrip("/") + f"/ws/radio/{quote(channel, safe='')}"
    return urlunsplit((scheme, parts.netloc, path, f"token={quote(token, safe='')}", ""))


async def bridge(args: argparse.Namespace) -> int:
    import websockets

    from voice.radio.bridge import discover, frames, load_call

    files = discover(Path(args.path))
    calls = [load_call(p, args.unit) for p in files]
    rates = {c.rate for c in calls}
    if len(rates) > 1:
        print(f"jingyun: the calls mix sample rates {sorted(rates)}; one stream has one rate — convert them first",
              file=sys.stderr)
        return 2
    rate = rates.pop()
    token = args.token or os.environ.get("JINGYUN_TOKEN", "")
    if not token:
        print("jingyun: a service token is needed: --token or JINGYUN_TOKEN (jingyun token --role service)",
              file=sys.stderr)
        return 2
    results: list[dict[str, Any]] = []
    started = time.perf_counter()
    async with websockets.connect(ws_url(args.server, args.channel, token), max_size=2**24) as ws:
        await ws.send(json.dumps({"type": "config", "sample_rate": rate, "encoding": "pcm_s16le",
                                  "mode": "ptt" if args.ptt else "vad"}))
        ready = json.loads(await ws.recv())
        if ready.get("type") != "ready":
            print(f"jingyun: the server refused the stream: {ready}", file=sys.stderr)
            return 1

        async def reader() -> None:
            async for raw in ws:
                msg = json.loads(raw)
                if msg.get("type") in ("transmission", "error"):
                    print(json.dumps(msg, ensure_ascii=False), flush=True)
                    if msg["type"] == "transmission":
                        results.append(msg)
                if msg.get("type") == "done":
                    return

        read_task = asyncio.create_task(reader())
        frame_s = 0.02 / args.speed
        for _ in range(args.repeat):
            for call in calls:
                if args.ptt:
                    await ws.send(json.dumps({"type": "ptt_down", "unit": call.unit}))
                t0 = time.perf_counter()
                for i, frame in enumerate(frames(call)):
                    await ws.send(frame)
                    # Real-time pace (or --speed times faster), without drift.
                    delay = t0 + (i + 1) * frame_s - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                if args.ptt:
                    await ws.send(json.dumps({"type": "ptt_up"}))
                if args.gap > 0:
                    await asyncio.sleep(args.gap / args.speed)
        await ws.send(json.dumps({"type": "end"}))
        await asyncio.wait_for(read_task, timeout=args.drain)
    transcribed = sum(1 for r in results if r["transmission"]["state"] == "transcribed")
    print(json.dumps({"calls": len(calls) * args.repeat, "transmissions": len(results), "transcribed": transcribed,
                      "audio_seconds": round(sum(c.seconds for c in calls) * args.repeat, 2),
                      "wall_seconds": round(time.perf_counter() - started, 2)}))
    return 0


def cmd_radio_bridge(args: argparse.Namespace) -> int:
    if args.speed <= 0 or args.repeat < 1:
        print("jingyun: --speed must be > 0 and --repeat >= 1", file=sys.stderr)
        return 2
    try:
        return asyncio.run(bridge(args))
    except (ValueError, OSError) as exc:
        print(f"jingyun: {exc}", file=sys.stderr)
        return 1


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add radio commands to the `jingyun` parser."""
    p = sub.add_parser("radio-bridge", help="stream a WAV file or a directory of calls to a radio channel with "
                                            "push-to-talk events, at real-time pace (demos, load tests)")
    p.add_argument("path", help="a call file (WAV 8/16 kHz, or any audio FFmpeg reads) or a directory of calls; "
                                "a file named UNIT@name.wav is a transmission by UNIT")
    p.add_argument("--channel", required=True, help="radio channel id (created with POST /api/radio/channels)")
    p.add_argument("--server", default="http://127.0.0.1:8080", help="server URL (default %(default)s)")
    p.add_argument("--token", default=None, help="service token (default: $JINGYUN_TOKEN)")
    p.add_argument("--unit", default=None, help="unit keying up for calls whose file name names none")
    p.add_argument("--speed", type=float, default=1.0, help="pace multiplier: 1 = real time, 4 = four times faster")
    p.add_argument("--gap", type=float, default=1.0, help="seconds of silence between calls (default %(default)s)")
    p.add_argument("--repeat", type=int, default=1, help="play the calls this many times (load tests)")
    p.add_argument("--no-ptt", dest="ptt", action="store_false",
                   help="send plain audio without PTT events (the server segments by VAD)")
    p.add_argument("--drain", type=float, default=120.0, help="seconds to wait for the last results")
    p.set_defaults(func=cmd_radio_bridge)
