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


# ---- kind "call" and the caller (issue 12, item 5) ----------------------------------------------
def test_stream_is_the_default_kind() -> None:
    cfg = parse_config({"type": "config"}, known_languages=LANGS)
    assert cfg.kind == "stream" and cfg.caller is None


def test_call_with_caller_is_read() -> None:
    cfg = parse_config({"type": "config", "kind": "call", "language": "zh",
                        "caller": {"number": " +86 138-0013-8000 ", "location": " 福田区深南大道1001号 ",
                                   "lat": 22.54, "lon": 114}}, known_languages=LANGS)
    assert cfg.kind == "call"
    assert cfg.caller is not None
    assert cfg.caller.to_dict() == {"number": "+86 138-0013-8000", "location": "福田区深南大道1001号",
                                    "lat": 22.54, "lon": 114.0}


def test_call_without_caller_and_caller_fields_each_optional() -> None:
    assert parse_config({"type": "config", "kind": "call"}).caller is None
    cfg = parse_config({"type": "config", "kind": "call", "caller": {"number": "110"}})
    assert cfg.caller is not None and cfg.caller.to_dict() == {"number": "110", "location": None, "lat": None,
                                                               "lon": None}


@pytest.mark.parametrize(("message", "fragment"), [
    ({"kind": "phone"}, "'kind' is 'phone'; accepted: stream, call"),
    ({"kind": ["call"]}, "accepted: stream, call"),
    ({"caller": {"number": "110"}}, "'caller' is only accepted with \"kind\": \"call\""),
    ({"kind": "call", "caller": "13800138000"}, "'caller' must be an object"),
    ({"kind": "call", "caller": {"phone": "110"}}, "unknown field(s) in 'caller': phone; accepted: number, location"),
    ({"kind": "call", "caller": {"number": 13800138000}}, "'caller.number' must be a string"),
    ({"kind": "call", "caller": {"number": "call me"}}, "'caller.number' 'call me' is not a phone number"),
    ({"kind": "call", "caller": {"number": "1" * 40}}, "up to 32 characters"),
    ({"kind": "call", "caller": {"location": 5}}, "'caller.location' must be a string"),
    ({"kind": "call", "caller": {"location": "x" * 201}}, "'caller.location' is longer than 200"),
    ({"kind": "call", "caller": {"lat": 22.5}}, "'caller.lat' and 'caller.lon' go together"),
    ({"kind": "call", "caller": {"lat": 91, "lon": 114}}, "'caller.lat' must be a number from -90 to 90"),
    ({"kind": "call", "caller": {"lat": 22.5, "lon": "114"}}, "'caller.lon' must be a number from -180 to 180"),
    ({"kind": "call", "caller": {"lat": True, "lon": 114}}, "'caller.lat' must be a number"),
    ({"kind": "call", "caller": {"lat": float("nan"), "lon": 114}}, "'caller.lat' must be a number"),
])
def test_bad_call_config_names_the_field(message: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ProtocolError) as err:
        parse_config({"type": "config", **message}, known_languages=LANGS)
    assert err.value.code == BAD_CONFIG
    assert fragment in err.value.message
