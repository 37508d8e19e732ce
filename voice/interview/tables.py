"""SQL tables of interview records (SQLAlchemy Core; created by migration 0006)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

sessions = sa.Table(
    "interview_sessions", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("case_number", sa.String(64), nullable=False),
    sa.Column("title", sa.String(200), nullable=True),
    sa.Column("location", sa.String(200), nullable=True),
    sa.Column("language", sa.String(16), nullable=True),
    sa.Column("participants", sa.JSON, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # open | finished | signed
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("signed_by", sa.String(200), nullable=True),
    sa.Column("signature", sa.JSON, nullable=True),  # {scheme, text_sha256, audio: [{id, sha256}], record_sha256}
)
sa.Index("ix_interview_sessions_case", sessions.c.case_number)

lines = sa.Table(
    "interview_lines", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("session_id", sa.String(32), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("speaker_role", sa.String(32), nullable=False),
    sa.Column("speaker", sa.String(200), nullable=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("language", sa.String(16), nullable=True),
    sa.Column("start_s", sa.Float, nullable=True),
    sa.Column("end_s", sa.Float, nullable=True),
    sa.Column("source", sa.String(16), nullable=False),  # typed | asr
    sa.Column("origin", sa.String(120), nullable=True),  # stream_id:utterance or recording id:start of an ASR line
    sa.Column("confidence", sa.Float, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("session_id", "seq", name="uq_interview_lines_seq"),
    # One line per ASR segment: binding the same stream twice does not duplicate lines.
    sa.UniqueConstraint("session_id", "origin", name="uq_interview_lines_origin"),
)

line_versions = sa.Table(
    "interview_line_versions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("line_id", sa.String(32), nullable=False),
    sa.Column("session_id", sa.String(32), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("field", sa.String(32), nullable=False),  # text | speaker_role | speaker
    sa.Column("before", sa.Text, nullable=True),
    sa.Column("after", sa.Text, nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("by", sa.String(200), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)
sa.Index("ix_interview_line_versions_line", line_versions.c.line_id, line_versions.c.version)
