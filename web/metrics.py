"""Prometheus metrics: one registry per app, so several apps (tests) never collide."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Seconds: a final's budget is about a second; the tail is what matters.
_ASR_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0)


@dataclass
class Metrics:
    registry: CollectorRegistry
    http_requests: Counter
    http_latency: Histogram
    ws_connections: Gauge
    ws_dropped: Counter
    auth_denied: Counter
    utterances: Counter
    asr_wait: Histogram
    asr_decode: Histogram

    @classmethod
    def create(cls) -> Metrics:
        reg = CollectorRegistry()
        return cls(
            registry=reg,
            http_requests=Counter("jingyun_http_requests_total", "HTTP requests by route and status",
                                  ["route", "method", "status"], registry=reg),
            http_latency=Histogram("jingyun_http_request_seconds", "HTTP request latency by route",
                                   ["route"], registry=reg,
                                   buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)),
            ws_connections=Gauge("jingyun_websocket_connections", "open WebSocket connections by kind",
                                 ["kind"], registry=reg),
            ws_dropped=Counter("jingyun_websocket_dropped_total",
                               "WebSockets closed by the server because the client fell behind",
                               ["kind"], registry=reg),
            auth_denied=Counter("jingyun_auth_denied_total", "requests refused by authentication or role",
                                ["reason"], registry=reg),
            utterances=Counter("jingyun_utterances_total",
                               "utterances (radio: transmissions) by how they ended: final, no_speech, error; "
                               "radio also busy (shed, transcribed later) and late (transcribed after being shed)",
                               ["source", "outcome"], registry=reg),
            asr_wait=Histogram("jingyun_asr_queue_wait_seconds",
                               "how long a decode batch's oldest item waited for a decoder, by kind (final, partial)",
                               ["kind"], registry=reg, buckets=_ASR_BUCKETS),
            asr_decode=Histogram("jingyun_asr_decode_seconds", "decode time of one batch, by kind (final, partial)",
                                 ["kind"], registry=reg, buckets=_ASR_BUCKETS),
        )

    def observe_asr_batch(self, final: bool, waited: float, seconds: float) -> None:
        """The ASR engine's per-batch hook (``AsrEngine.observe``): queue wait and decode time."""
        kind = "final" if final else "partial"
        self.asr_wait.labels(kind).observe(waited)
        self.asr_decode.labels(kind).observe(seconds)
