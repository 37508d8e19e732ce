"""Calls: a /ws/transcribe stream opened as a call, its finals, triage, incident and kept audio.

On the voice branch (after 0003). Revision 0012 (issue 12) rather than the next free number, so that
it cannot collide with a revision another branch of work adds meanwhile.

Revision ID: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "voice_calls",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("stream_id", sa.String(64), nullable=False),
        sa.Column("caller_number", sa.String(64), nullable=True),
        sa.Column("caller_location", sa.Text, nullable=True),
        sa.Column("caller_lat", sa.Float, nullable=True),
        sa.Column("caller_lon", sa.Float, nullable=True),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("live", sa.Boolean, nullable=False),
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
        sa.Column("audio_seconds", sa.Float, nullable=True),
        sa.Column("audio_kept_seconds", sa.Float, nullable=True),
        sa.Column("audio_note", sa.Text, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_voice_calls_started", "voice_calls", ["started_at"])
    op.create_index("ix_voice_calls_state", "voice_calls", ["state", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_voice_calls_state", table_name="voice_calls")
    op.drop_index("ix_voice_calls_started", table_name="voice_calls")
    op.drop_table("voice_calls")
