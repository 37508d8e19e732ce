"""Config validation of /ws/transcribe: every bad field is named with what is accepted."""

from __future__ import annotations

from typing import Any

import pytest

from voice.protocol import (
    BAD_CONFIG,
    UNSUPPORTED_ENCODING,
    UNSUPPORTED_SAMPLE_RATE,
    ProtocolError,
    parse_config,
)

LANGS = frozenset({"en", "zh", "yue"})


def test_full_config_is_read() -> None:
    cfg = parse_config({"type": "config", "sample_rate": 8000, "encoding": "f32le", "language": "zh",
                        "hotwords": ["中山路", "粤B"], "initial_prompt": "警情", "script": "traditional",
                        "source": "radio-gw-1", "channel": "patrol-1", "partials": False}, known_languages=LANGS)
    assert (cfg.sample_rate, cfg.encoding, cfg.language, cfg.script) == (8000, "f32le", "zh", "traditional")
    assert cfg.hotwords == "中山路, 粤B" and cfg.initial_prompt == "警情"
    assert (cfg.source, cfg.channel, cfg.partials) == ("radio-gw-1", "patrol-1", False)


def test_defaults() -> None:
    cfg = parse_config({"type": "config"}, known_languages=LANGS)
    assert (cfg.sample_rate, cfg.encoding, cfg.language, cfg.script, cfg.partials) == (
        16000, "pcm_s16le", None, "simplified", True)


@pytest.mark.parametrize(("message", "code", "fragment"), [
    ([1, 2], BAD_CONFIG, "JSON object"),
    ({"type": "start"}, BAD_CONFIG, '"type": "config"'),
    ({"type": "config", "rate": 16000}, BAD_CONFIG, "unknown config field(s) rate"),
    ({"type": "config", "sample_rate": 44100}, UNSUPPORTED_SAMPLE_RATE, "accepted: 8000, 16000"),
    ({"type": "config", "sample_rate": "16000"}, UNSUPPORTED_SAMPLE_RATE, "accepted"),
    ({"type": "config", "encoding": "opus"}, UNSUPPORTED_ENCODING, "accepted: pcm_s16le, f32le"),
    ({"type": "config", "language": "klingon"}, BAD_CONFIG, "language 'klingon'"),
    ({"type": "config", "script": "pinyin"}, BAD_CONFIG, "accepted: simplified, traditional"),
    ({"type": "config", "hotwords": 5}, BAD_CONFIG, "'hotwords' must be a string"),
    ({"type": "config", "channel": "x" * 500}, BAD_CONFIG, "longer than 200"),
    ({"type": "config", "partials": "yes"}, BAD_CONFIG, "true or false"),
])
def test_bad_config_names_the_problem(message: Any, code: str, fragment: str) -> None:
    with pytest.raises(ProtocolError) as err:
        parse_config(message, known_languages=LANGS)
    assert err.value.code == code
    assert fragment in err.value.message
