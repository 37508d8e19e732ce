"""SQL table of calls (SQLAlchemy Core; created by migration 0012).

A call is one ``/ws/transcribe`` stream opened with ``"kind": "call"``. Its finals are kept in
order in ``finals`` (text, times and the ``voice_transcripts`` row id of each), so the incident it
becomes can link every transcript row; the latest triage of the whole transcript is ``triage``.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

calls = sa.Table(
    "voice_calls", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("stream_id", sa.String(64), nullable=False),
    sa.Column("caller_number", sa.String(64), nullable=True),
    sa.Column("caller_location", sa.Text, nullable=True),
    sa.Column("caller_lat", sa.Float, nullable=True),
    sa.Column("caller_lon", sa.Float, nullable=True),
    sa.Column("language", sa.String(16), nullable=True),  # requested; each final carries its own
    sa.Column("state", sa.String(16), nullable=False),  # live | ended | incident | attached
    sa.Column("live", sa.Boolean, nullable=False),  # audio still streaming (state says what became of it)
    sa.Column("opened_by", sa.String(200), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("end_reason", sa.String(200), nullable=True),
    sa.Column("finals", sa.JSON, nullable=False),
    sa.Column("triage", sa.JSON, nullable=True),
    sa.Column("category", sa.String(64), nullable=True),
    sa.Column("priority", sa.Integer, nullable=True),
    sa.Column("level", sa.String(4), nullable=True),
    sa.Column("incident_id", sa.String(32), nullable=True),
    sa.Column("decided_by", sa.String(200), nullable=True),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("recording_id", sa.String(32), nullable=True),
    sa.Column("audio_seconds", sa.Float, nullable=True),  # audio received
    sa.Column("audio_kept_seconds", sa.Float, nullable=True),  # of which kept
    sa.Column("audio_note", sa.Text, nullable=True),  # why (part of) the audio is not kept
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
sa.Index("ix_voice_calls_started", calls.c.started_at)
sa.Index("ix_voice_calls_state", calls.c.state, calls.c.started_at)
