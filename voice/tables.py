"""SQL tables of the voice sub-system (SQLAlchemy Core; created by migrations 0003 and 0007)."""

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

# Utterances the VAD accepted that could not be decoded (issue 12): the client was told, the audio
# is kept (recording kind "gap"), and anyone allowed may transcribe it again later.
gaps = sa.Table(
    "voice_gaps",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("stream_id", sa.String(64), nullable=False),
    sa.Column("utterance", sa.Integer, nullable=False),
    sa.Column("source", sa.String(200), nullable=False, server_default=""),
    sa.Column("channel", sa.String(200), nullable=False, server_default=""),
    sa.Column("start_s", sa.Float, nullable=False),
    sa.Column("end_s", sa.Float, nullable=False),
    sa.Column("start_utc", sa.DateTime(timezone=True), nullable=True),
    sa.Column("end_utc", sa.DateTime(timezone=True), nullable=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("options", sa.JSON, nullable=False),  # language, hotwords, initial_prompt, script of the stream
    sa.Column("recording_id", sa.String(32), nullable=True),
    sa.Column("state", sa.String(16), nullable=False),  # open | resolved | no_speech
    sa.Column("transcript_id", sa.Integer, nullable=True),
    sa.Column("model", sa.String(200), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("resolved_by", sa.String(200), nullable=True),
    sa.UniqueConstraint("stream_id", "utterance", name="uq_voice_gaps_stream_utterance"),
)
sa.Index("ix_voice_gaps_state_created", gaps.c.state, gaps.c.created_at)
