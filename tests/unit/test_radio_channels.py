"""Channel registry input checks."""

from __future__ import annotations

import pytest

from voice.radio.channels import ChannelError, check_channel


def test_valid_channel_and_defaults():
    ch = check_channel({"id": "patrol-1", "talkgroup": 54241, "language": "zh", "hotwords": "福田 深南大道"})
    assert ch.name == "patrol-1" and ch.priority == 5 and ch.talkgroup == "54241" and ch.language == "zh"
    assert check_channel({"id": "x", "language": "auto"}).language is None
    updated = check_channel({"priority": 9}, channel_id="patrol-1", current=ch)
    assert updated.priority == 9 and updated.hotwords == "福田 深南大道"


@pytest.mark.parametrize(("body", "field"), [
    ({"id": "bad id!"}, "id"), ({"id": "a", "priority": 11}, "priority"), ({"id": "a", "priority": "high"}, "priority"),
    ({"id": "a", "language": "Chinese"}, "language"), ({"id": "a", "talkgroup": "TG1"}, "talkgroup"),
    ({"id": "a", "name": 5}, "name"),
])
def test_bad_fields_are_named(body, field):
    with pytest.raises(ChannelError) as info:
        check_channel(body)
    assert info.value.field == field


def test_hotwords_may_not_hold_status_phrases():
    # Measured: base decoding a Mandarin fire report with hotwords "到达现场 已到现场" answered with the hotwords.
    with pytest.raises(ChannelError) as info:
        check_channel({"id": "a", "hotwords": "福田 深南大道 到达现场"})
    assert info.value.field == "hotwords" and "到达现场" in info.value.message
    with pytest.raises(ChannelError):
        check_channel({"id": "a", "hotwords": "Futian, 10-8, Shennan"})
