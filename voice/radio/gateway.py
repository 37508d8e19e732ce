"""``/ws/radio/{channel}``: a radio gateway's stream, one :class:`GatewayConnection` per socket.

Config, binary PCM, ``ptt_down``/``ptt_up``/``end``; ``ready``, ``ptt``, one ``transmission`` per
transmission, ``busy``/``lag`` under load, ``error``, ``done`` back (docs/radio.md). Transmissions
of the channel are processed concurrently (the engine batches them) but acted on and answered in
the order they were spoken.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time

from voice.audio import AudioError, pcm_to_float
from voice.radio.channels import Channel
from voice.radio.ptt import PttError, SegmenterConfig, Transmission, TransmissionSegmenter
from voice.radio.service import Outcome, RadioService
from voice.radio.settings import RadioSettings
from voice.wire import CLOSE_POLICY, Wire

log = logging.getLogger("jingyun.radio.gateway")

ENCODINGS = ("pcm_s16le", "f32le")
LAG_EVERY_S = 5.0  # at most one lag message per gateway this often


def segmenter_config(rs: RadioSettings, rate: int) -> SegmenterConfig:
    return SegmenterConfig(sample_rate=rate, max_seconds=rs.max_transmission_seconds,
                           squelch_max_tail_ms=rs.squelch_max_tail_ms, squelch_flatness=rs.squelch_flatness)


class GatewayConnection:
    """One gateway on one channel. ``admitted``: the channel fitted in JINGYUN_MAX_STREAMS; when it did
    not, its audio is still kept, it decodes after the admitted channels and is told busy."""

    def __init__(self, wire: Wire, service: RadioService, channel: Channel, settings: RadioSettings, *,
                 handshake_timeout: float, max_frame_bytes: int, max_streams: int, admitted: bool = True) -> None:
        self.wire, self.service, self.channel, self.rs = wire, service, channel, settings
        self.handshake_timeout, self.max_frame_bytes = handshake_timeout, max_frame_bytes
        self.max_streams, self.admitted = max_streams, admitted
        self.tasks: set[asyncio.Task[None]] = set()
        self.chain: asyncio.Future[None] | None = None  # the latest transmission's turn
        self.transmissions = 0
        self.last_lag = -LAG_EVERY_S

    def _error(self, code: str, message: str) -> None:
        self.wire.send({"type": "error", "code": code, "message": message})

    async def run(self) -> None:
        opened = await self._open()
        if opened is None:
            return
        seg, encoding = opened
        async for data in self.wire.messages():
            if isinstance(data, bytes):
                if len(data) > self.max_frame_bytes:
                    self._error("frame_too_large", f"audio frame of {len(data)} bytes is over the limit of "
                                f"{self.max_frame_bytes}; the frame was ignored")
                    continue
                try:
                    samples = pcm_to_float(data, encoding)
                except AudioError as exc:
                    self._error("bad_audio", f"{exc}; the frame was ignored")
                    continue
                self._submit(seg.feed(samples))
                continue
            if self._control(seg, data) == "end":
                break
        self._submit(seg.finish())
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)
        self.wire.send({"type": "done", "transmissions": self.transmissions,
                        "ignored_seconds": round(seg.ignored_seconds, 3)})

    async def _open(self) -> tuple[TransmissionSegmenter, str] | None:
        first = await self.wire.receive_json(self.handshake_timeout)
        if not isinstance(first, dict) or first.get("type") != "config":
            self._error("bad_config", f"expected a JSON config message first, within {self.handshake_timeout:g} s: "
                        '{"type": "config", "sample_rate": 8000 or 16000, "encoding": "pcm_s16le" or "f32le"}')
            await self.wire.close(CLOSE_POLICY, "no config")
            return None
        rate, encoding = first.get("sample_rate", 16000), first.get("encoding", "pcm_s16le")
        if encoding not in ENCODINGS:
            self._error("unsupported_encoding", f"encoding {encoding!r} is not accepted; accepted: "
                        f"{', '.join(ENCODINGS)}")
            await self.wire.close(CLOSE_POLICY, "bad encoding")
            return None
        try:
            seg = TransmissionSegmenter(segmenter_config(self.rs, rate if isinstance(rate, int) else -1),
                                        dt.datetime.now(dt.UTC), str(first.get("mode", "auto")))
        except PttError as exc:
            self._error("unsupported_sample_rate" if "sample_rate" in str(exc) else "bad_config", str(exc))
            await self.wire.close(CLOSE_POLICY, "bad config")
            return None
        self.wire.send({"type": "ready", "channel": self.channel.to_dict(), "sample_rate": rate, "encoding": encoding,
                        "mode": first.get("mode", "auto"), "admitted": self.admitted})
        if not self.admitted:
            self.wire.send({"type": "busy", "channel": self.channel.id, "max_streams": self.max_streams,
                            "message": f"the speech engine's {self.max_streams} streams are in use: this channel's "
                                       "audio is kept and decoded after the admitted streams; what cannot be decoded "
                                       "now is transcribed when the engine is idle"})
        return seg, str(encoding)

    def _control(self, seg: TransmissionSegmenter, data: str) -> str | None:
        try:
            msg = json.loads(data)
        except (ValueError, RecursionError):  # RecursionError: nested too deep
            msg = None
        kind = msg.get("type") if isinstance(msg, dict) else None
        try:
            if kind == "ptt_down":
                assert isinstance(msg, dict)
                unit = msg.get("unit", msg.get("unit_id"))
                self._submit(seg.ptt_down(str(unit) if isinstance(unit, int) else unit, dt.datetime.now(dt.UTC)))
                self.wire.send({"type": "ptt", "state": "down", "unit": seg.keyed_unit})
            elif kind == "ptt_up":
                self._submit(seg.ptt_up())
                self.wire.send({"type": "ptt", "state": "up"})
            elif kind == "end":
                return "end"
            else:
                self._error("unexpected_text", 'text messages must be JSON: {"type": "ptt_down", "unit": "U12"}, '
                            '{"type": "ptt_up"} or {"type": "end"}; audio goes in binary messages')
        except PttError as exc:
            self._error("bad_ptt", str(exc))
        return None

    def _submit(self, txs: list[Transmission]) -> None:
        # Each transmission acts (status, suggestion, reply) only after the one before it has.
        loop = asyncio.get_running_loop()
        for tx in txs:
            turn = self.chain
            mine: asyncio.Future[None] = loop.create_future()
            self.chain = mine
            task = loop.create_task(self._handle(tx, turn, mine), name=f"radio-{self.channel.id}-{tx.seq}")
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _handle(self, tx: Transmission, turn: asyncio.Future[None] | None, mine: asyncio.Future[None]) -> None:
        try:
            # The channel as it is now: a dispatcher may have changed its priority, language or hotwords
            # while the gateway stays connected.
            current = await self.service.channels.get(self.channel.id) or self.channel
            outcome = await self.service.process(current, tx, turn=turn, deferred=not self.admitted)
            self.transmissions += 1
            self._pressure(tx.seq, outcome)
            self.wire.send({"type": "transmission", "seq": tx.seq, **outcome.to_dict()})
        except Exception as exc:
            log.exception("radio transmission failed on channel %s", self.channel.id)
            self._error("internal", f"transmission {tx.seq} could not be processed: {exc.__class__.__name__}")
        finally:
            mine.set_result(None)

    def _pressure(self, seq: int, outcome: Outcome) -> None:
        """Tell the gateway when the engine is behind: ``busy`` per shed transmission, ``lag`` (throttled)."""
        if outcome.shed is not None:
            self.wire.send({"type": "busy", "seq": seq, "channel": self.channel.id,
                            "transmission_id": outcome.transmission["id"], "reason": outcome.shed.reason,
                            "message": "the speech engine is behind: this transmission's audio is kept and it will "
                                       "be transcribed when the engine is idle (state busy until then)"})
        elif outcome.waited > self.rs.max_wait_seconds / 2 and time.monotonic() - self.last_lag >= LAG_EVERY_S:
            self.last_lag = time.monotonic()
            self.wire.send({"type": "lag", "channel": self.channel.id, "waited_seconds": round(outcome.waited, 2),
                            "shed_after_seconds": self.rs.max_wait_seconds,
                            "message": "the speech engine is behind; transmissions of lower-priority channels "
                                       "are shed first"})

