"""Calls: a ``/ws/transcribe`` stream opened with ``"kind": "call"`` is a caller's voice (issue 12, item 5)."""
