"""SQL tables of the voice sub-system (SQLAlchemy Core; created by migration 0003)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

transcripts = sa.Table(
    "voice_transcripts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("stream_id", sa.String(64), nullable=False),
    sa.Column("utterance", sa.Integer, nullable=False),
    sa.Column("source", sa.String(200), nullable=False, server_default=""),
    sa.Column("channel", sa.String(200), nullable=False, server_default=""),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("language", sa.String(16), nullable=True),
    sa.Column("language_probability", sa.Float, nullable=True),
    sa.Column("confidence", sa.Float, nullable=True),
    sa.Column("start_s", sa.Float, nullable=False),
    sa.Column("end_s", sa.Float, nullable=False),
    sa.Column("start_utc", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end_utc", sa.DateTime(timezone=True), nullable=False),
    sa.Column("words", sa.JSON, nullable=True),
    sa.Column("model", sa.String(200), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # One row per utterance of a stream: a retried write cannot duplicate a segment.
    sa.UniqueConstraint("stream_id", "utterance", name="uq_voice_transcripts_stream_utterance"),
)
sa.Index("ix_voice_transcripts_channel_start", transcripts.c.channel, transcripts.c.start_utc)
sa.Index("ix_voice_transcripts_start", transcripts.c.start_utc)
