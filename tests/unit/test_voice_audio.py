"""Decoding uploads (WAV, FLAC, MP3, OGG) and converting/resampling PCM."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest

from voice.audio import AudioError, StreamResampler, decode_file, pcm_to_float


def _encode(samples: np.ndarray, rate: int, fmt: str, codec: str) -> bytes:
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


@pytest.mark.parametrize(("fmt", "codec"), [("wav", "pcm_s16le"), ("flac", "flac"), ("mp3", "libmp3lame"),
                                            ("ogg", "libopus")])
def test_containers_decode_to_16k_mono(fmt: str, codec: str) -> None:
    rate = 8000
    t = np.arange(rate * 2) / rate
    tone = (0.5 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16)
    audio = decode_file(_encode(tone, rate, fmt, codec))
    assert abs(audio.size - 32000) < 2000  # 2 s at 16 kHz, codec padding aside
    spectrum = np.abs(np.fft.rfft(audio[4000:20000]))
    peak_hz = np.argmax(spectrum) * 16000 / 16000
    assert abs(peak_hz - 440) < 5


def test_real_wav_file_decodes(shared_dir: Path) -> None:
    audio = decode_file((shared_dir / "audio" / "real" / "en_jfk.wav").read_bytes())
    assert abs(audio.size / 16000 - 11.0) < 0.05


def test_garbage_upload_is_refused_naming_accepted_formats() -> None:
    with pytest.raises(AudioError, match="WAV, FLAC, MP3"):
        decode_file(b"this is not audio at all" * 10)


def test_upload_over_the_length_limit_is_refused(shared_dir: Path) -> None:
    with pytest.raises(AudioError, match="longer than the limit of 5 seconds"):
        decode_file((shared_dir / "audio" / "real" / "en_jfk.wav").read_bytes(), max_seconds=5)


def test_pcm_conversion_and_errors() -> None:
    assert pcm_to_float(b"\x00\x40", "pcm_s16le")[0] == pytest.approx(0.5)
    assert pcm_to_float(np.array([0.25], "<f4").tobytes(), "f32le")[0] == pytest.approx(0.25)
    with pytest.raises(AudioError, match="4-byte samples"):
        pcm_to_float(b"\x00" * 6, "f32le")
    with pytest.raises(AudioError, match="NaN"):
        pcm_to_float(np.array([np.nan], "<f4").tobytes(), "f32le")
    with pytest.raises(AudioError, match="accepted: pcm_s16le, f32le"):
        pcm_to_float(b"", "mulaw")


def test_stream_resampler_keeps_length_and_pitch() -> None:
    rate = 8000
    t = np.arange(rate * 3) / rate
    tone = (0.5 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)
    res = StreamResampler(rate)
    out = np.concatenate([res.process(tone[i:i + 160]) for i in range(0, tone.size, 160)] + [res.flush()])
    assert abs(out.size - 48000) <= 64
    spectrum = np.abs(np.fft.rfft(out[8000:40000]))
    assert abs(np.argmax(spectrum) * 16000 / 32000 - 300) < 2
