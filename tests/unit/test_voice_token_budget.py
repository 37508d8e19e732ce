"""How many tokens a decode may generate: bounded by the audio, so a loop cannot run on (voice.engine)."""

from __future__ import annotations

from voice.engine import token_budget


def test_the_token_budget_follows_the_audio_and_never_passes_whispers_limit() -> None:
    assert token_budget(0.3) == 24 + 3  # a short utterance still has room for a sentence
    assert token_budget(12.4) == 24 + 124  # 2.8x what a fast Mandarin meeting turn needed (52)
    assert token_budget(29.0) == 224  # Whisper's own limit
