"""Radio settings (issue 6) and the audio-keeping settings radio shares with interviews and failed
streams (Opus bit rate, free-space reserve, retention sweep), read by ``web.envparse`` like every
other section. Interview-only settings are in ``voice/interview/settings.py``."""

from __future__ import annotations

from dataclasses import dataclass

from common.settings import setting


@dataclass(frozen=True)
class RadioSettings:
    squelch_max_tail_ms: int = setting(1200, "JINGYUN_RADIO_SQUELCH_MAX_MS",
                                       "longest tail (squelch burst plus trailing silence) trimmed from a "
                                       "transmission, ms",
                                       lo=0, hi=5000)
    squelch_flatness: float = setting(0.42, "JINGYUN_RADIO_SQUELCH_FLATNESS",
                                      "spectral flatness (0..1, 300-3400 Hz, median over 100 ms) from which a "
                                      "trailing frame counts as squelch noise rather than speech", lo=0.05, hi=0.95)
    max_transmission_seconds: float = setting(60.0, "JINGYUN_RADIO_MAX_TRANSMISSION_SECONDS",
                                              "longest push-to-talk transmission kept; longer ones are cut and "
                                              "decoded in pieces", lo=2.0, hi=600.0)
    split_seconds: float = setting(0.0, "JINGYUN_RADIO_SPLIT_SECONDS",
                                   "decode a transmission longer than this in pieces cut at its pauses, side by side: "
                                   "its text comes sooner but each piece loses the others' context (0: off, one "
                                   "decode up to 28 s; see docs/radio.md)", lo=0.0, hi=28.0)
    decode_concurrency: int = setting(4, "JINGYUN_RADIO_DECODE_CONCURRENCY",
                                      "radio transmissions handed to the ASR engine at once; the rest wait in "
                                      "channel-priority order", lo=1, hi=64)
    max_waiting: int = setting(16, "JINGYUN_RADIO_MAX_WAITING",
                               "radio transmissions waiting for the speech engine at most; beyond it the least urgent "
                               "is shed (audio kept, status busy, transcribed when the engine is idle)", lo=1, hi=10000)
    max_wait_seconds: float = setting(8.0, "JINGYUN_RADIO_MAX_WAIT_SECONDS",
                                      "seconds a radio transmission may wait for the speech engine before it is shed "
                                      "(lower channel priorities wait longer, so they are shed first); half of it "
                                      "sends the gateway a lag event", lo=0.5, hi=600.0)
    channel_weight: float = setting(0.25, "JINGYUN_RADIO_CHANNEL_WEIGHT",
                                    "share of one continuous stream a radio channel counts for in JINGYUN_MAX_STREAMS "
                                    "(a channel talks part of the time); a channel over the limit is still served but "
                                    "decoded after the admitted ones, and told busy", lo=0.0, hi=1.0)
    catch_up_seconds: float = setting(2.0, "JINGYUN_RADIO_CATCH_UP_SECONDS",
                                      "seconds between looks for shed (busy) transmissions to transcribe while the "
                                      "speech engine is idle", lo=0.1, hi=3600.0)
    status_from_radio: bool = setting(True, "JINGYUN_RADIO_STATUS_UPDATES",
                                      "apply spoken status phrases (on scene, 10-8, 到达现场) to the speaking unit")
    status_min_confidence: float = setting(0.5, "JINGYUN_RADIO_STATUS_MIN_CONFIDENCE",
                                           "mean word probability of a spoken status phrase below which the change "
                                           "waits for a dispatcher to confirm it", lo=0.0, hi=1.0)
    suggest_incidents: bool = setting(True, "JINGYUN_RADIO_SUGGEST_INCIDENTS",
                                      "propose an incident when a transmission describes one (a dispatcher "
                                      "accepts or dismisses it)")
    max_upload_bytes: int = setting(20 * 1024 * 1024, "JINGYUN_RADIO_MAX_UPLOAD_BYTES",
                                    "largest audio file accepted by /api/call-upload, bytes", lo=1024)
    max_call_seconds: float = setting(300.0, "JINGYUN_RADIO_MAX_CALL_SECONDS",
                                      "longest uploaded radio call accepted, seconds", lo=1.0, hi=3600.0)
    opus_bitrate: int = setting(24000, "JINGYUN_AUDIO_OPUS_BITRATE",
                                "bit rate of stored Opus audio (radio and interviews), bits per second",
                                lo=6000, hi=128000)
    radio_retention_days: float = setting(90.0, "JINGYUN_RADIO_AUDIO_RETENTION_DAYS",
                                          "days radio audio is kept before it is deleted (transcripts stay)",
                                          lo=0.0, hi=36500.0)
    audio_min_free_mb: float = setting(512.0, "JINGYUN_AUDIO_MIN_FREE_MB",
                                       "free space (MB) kept on the data directory's disk for the database: below "
                                       "it new audio is refused (interviews: 507) or not kept (radio: text still "
                                       "dispatched)", lo=0.0, hi=1e12)
    retention_sweep_seconds: float = setting(3600.0, "JINGYUN_RETENTION_SWEEP_SECONDS",
                                             "seconds between audio retention sweeps (one process acts, by lease)",
                                             lo=1.0, hi=86400.0)
