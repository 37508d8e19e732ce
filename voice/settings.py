"""Voice settings: read from the environment by ``web.envparse`` (field metadata names the variable)."""

from __future__ import annotations

from dataclasses import dataclass, field

from common.settings import setting


@dataclass(frozen=True)
class VoiceSettings:
    model: str = field(default="base", metadata={
             "env": "JINGYUN_MODEL",
             "doc": "ASR model: base, tiny.en, or a directory holding a CTranslate2 Whisper model"})
    load_model: bool = field(default=True, metadata={
             "env": "JINGYUN_LOAD_MODEL", "doc": "load the ASR model at start-up (false: voice endpoints answer 503)"})
    device: str = setting("auto", "JINGYUN_ASR_DEVICE", "ASR device: auto (CUDA when present), cpu or cuda",
                          choices=("auto", "cpu", "cuda"))
    compute_type: str = setting("auto", "JINGYUN_ASR_COMPUTE_TYPE",
                                "CTranslate2 compute type: auto (int8 on CPU, float16 on CUDA), int8, float16, "
                                "float32, int8_float16", choices=("auto", "int8", "float16", "float32", "int8_float16"))
    workers: int = setting(0, "JINGYUN_ASR_WORKERS",
                           "decodes run in parallel, each on its own model replica (0: auto: one per CPU core up to 4, "
                           "1 on CUDA); partials never take the last free one", lo=0, hi=64)
    nice: int = setting(10, "JINGYUN_ASR_NICE",
                        "how much lower the decoder threads' CPU priority is than the server's (Linux nice "
                        "increment; 0: same), so dispatch on the event loop never waits for a decode", lo=0, hi=19)
    cpu_threads: int = setting(0, "JINGYUN_ASR_THREADS",
                               "CPU threads per decoder (0: the cores shared out among the decoders)", lo=0, hi=256)
    max_batch: int = setting(0, "JINGYUN_ASR_MAX_BATCH",
                             "most finals decoded together in one batch across streams (0: auto: 1 on CPU, where "
                             "a batch costs about the sum of its items and each waits for all of them; 8 on CUDA)",
                             lo=0, hi=64)
    window: str = setting("fit", "JINGYUN_ASR_WINDOW",
                          "encoder window: fit (the utterance plus 3 s, at least 5 s: 3-5x less CPU; a result that "
                          "looks like a loop is redone with the full window) or full (Whisper's 30 s, as trained)",
                          choices=("fit", "full"))
    beam_size: int = setting(5, "JINGYUN_ASR_BEAM_SIZE", "beam width for final segments (partials are greedy)",
                             lo=1, hi=10)
    fallback_temperatures: tuple[str, ...] = setting(
             ("0.4",), "JINGYUN_ASR_FALLBACK_TEMPERATURES",
             "temperatures retried, in order, when a final looks like a loop or has a very low log-probability")
    no_speech_threshold: float = setting(0.6, "JINGYUN_ASR_NO_SPEECH_THRESHOLD",
                                         "Whisper no-speech probability above which (with a low log-probability) "
                                         "an utterance is dropped", lo=0.0, hi=1.0)
    logprob_threshold: float = setting(-1.0, "JINGYUN_ASR_LOGPROB_THRESHOLD",
                                       "average log-probability below which a result is retried or dropped",
                                       lo=-10.0, hi=0.0)
    compression_ratio_threshold: float = setting(2.4, "JINGYUN_ASR_COMPRESSION_RATIO_THRESHOLD",
                                                 "gzip compression ratio above which text is treated as a loop",
                                                 lo=1.0, hi=10.0)
    silero_threshold: float = setting(0.5, "JINGYUN_VAD_SILERO_THRESHOLD",
                                      "Silero speech probability counted as speech", lo=0.05, hi=0.95)
    min_speech_seconds: float = setting(0.25, "JINGYUN_VAD_MIN_SPEECH_SECONDS",
                                        "seconds of Silero-confirmed speech an utterance needs to reach Whisper",
                                        lo=0.0, hi=10.0)
    vad_aggressiveness: int = setting(2, "JINGYUN_VAD_AGGRESSIVENESS", "WebRTC VAD aggressiveness 0..3", lo=0, hi=3)
    vad_frame_ms: int = setting(30, "JINGYUN_VAD_FRAME_MS", "WebRTC VAD frame length: 10, 20 or 30 milliseconds",
                                lo=10, hi=30)
    end_silence_ms: int = setting(600, "JINGYUN_VAD_END_SILENCE_MS",
                                  "trailing silence that ends an utterance, milliseconds", lo=100, hi=5000)
    long_utterance_seconds: float = setting(8.0, "JINGYUN_VAD_LONG_UTTERANCE_SECONDS",
                                            "an utterance longer than this ends at a shorter pause "
                                            "(JINGYUN_VAD_LONG_END_SILENCE_MS), so long speech is finalised phrase by "
                                            "phrase instead of all at once", lo=1.0, hi=29.0)
    long_end_silence_ms: int = setting(300, "JINGYUN_VAD_LONG_END_SILENCE_MS",
                                       "trailing silence that ends an utterance already longer than "
                                       "JINGYUN_VAD_LONG_UTTERANCE_SECONDS, milliseconds", lo=100, hi=5000)
    max_utterance_seconds: float = setting(20.0, "JINGYUN_MAX_UTTERANCE_SECONDS",
                                           "longest utterance before it is cut and finalised (Whisper sees 30 s)",
                                           lo=2.0, hi=29.0)
    partial_interval: float = setting(1.0, "JINGYUN_PARTIAL_INTERVAL",
                                      "seconds of new speech between partial hypotheses (0: no partials)",
                                      lo=0.0, hi=30.0)
    partial_share: float = setting(0.25, "JINGYUN_ASR_PARTIAL_SHARE",
                                   "most share of the engine's time (over 10 s) spent on partial hypotheses; beyond "
                                   "it partials are skipped, so finals find the engine nearly free (1: no limit)",
                                   lo=0.0, hi=1.0)
    early_final_ms: int = setting(300, "JINGYUN_EARLY_FINAL_MS",
                                  "pause after which an utterance's final is decoded early, before the end silence "
                                  "is over (the work is dropped if speech resumes); 0 disables; below the 200 ms "
                                  "post-roll acts as 200; at or above JINGYUN_VAD_END_SILENCE_MS has no effect",
                                  lo=0, hi=5000)
    idle_flush_seconds: float = setting(1.0, "JINGYUN_IDLE_FLUSH_SECONDS",
                                        "a stream that sends no audio for this long has its open utterance finalised "
                                        "(a radio gateway that stops at push-to-talk release); 0 disables", lo=0.0,
                                        hi=60.0)
    max_streams: int = setting(8, "JINGYUN_MAX_STREAMS", "concurrent transcription streams per process (more: busy)",
                               lo=1, hi=1000)
    max_frame_bytes: int = setting(64 * 1024, "JINGYUN_MAX_FRAME_BYTES", "largest binary audio message, bytes",
                                   lo=320, hi=16 * 1024 * 1024)
    max_stream_seconds: float = setting(4 * 3600.0, "JINGYUN_MAX_STREAM_SECONDS",
                                        "longest audio one stream may send, seconds", lo=1.0, hi=7 * 86400.0)
    max_lag_seconds: float = setting(10.0, "JINGYUN_MAX_LAG_SECONDS",
                                     "audio waiting for decoding per stream before a lag event; twice this closes "
                                     "the stream", lo=1.0, hi=600.0)
    max_upload_seconds: float = setting(600.0, "JINGYUN_MAX_UPLOAD_SECONDS",
                                        "longest audio file accepted by /v1/audio/transcriptions, seconds",
                                        lo=1.0, hi=86400.0)
    script: str = setting("simplified", "JINGYUN_CHINESE_SCRIPT", "default Chinese script of transcripts",
                          choices=("simplified", "traditional"))
