"""One class per streaming connection (issue 14): the protocols of ``/ws/transcribe`` and
``/ws/whisperlive``. The radio gateway's is :mod:`voice.radio.gateway`. The server's routes only
authenticate, admit and hand a :class:`~voice.wire.Wire` and :class:`StreamDeps` to these."""
