"""Opus/OGG encoding of kept audio: decodable, the right length, hashed as stored."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from tests.fixtures_radio import read_wav
from voice.audio import decode_file
from voice.radio.recording import encode_opus


@pytest.mark.parametrize("name", ["synthetic/en_radio_01_radio8k.wav", "real/en_jfk.wav"])
def test_opus_roundtrip(shared_dir, name):
    samples, rate = read_wav(shared_dir / "audio" / name)
    enc = encode_opus(samples, rate, 24000)
    assert enc.data[:4] == b"OggS" and enc.sha256 == hashlib.sha256(enc.data).hexdigest()
    assert enc.seconds == pytest.approx(samples.size / rate, abs=1e-3)
    # Compressed well below 16-bit PCM, and decodes back to the same length of audio.
    assert len(enc.data) < samples.size * 2 / 3
    back = decode_file(enc.data)
    assert back.size / 16000 == pytest.approx(samples.size / rate, abs=0.03)
    assert np.sqrt((back ** 2).mean()) > 0.01


def test_rejects_rates_opus_cannot_take():
    with pytest.raises(ValueError, match="8000, 12000, 16000"):
        encode_opus(np.zeros(441, np.float32), 44100)
