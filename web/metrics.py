"""Prometheus metrics: one registry per app, so several apps (tests) never collide."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class Metrics:
    registry: CollectorRegistry
    http_requests: Counter
    http_latency: Histogram
    ws_connections: Gauge
    ws_dropped: Counter
    auth_denied: Counter
    utterances: Counter

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
        )
