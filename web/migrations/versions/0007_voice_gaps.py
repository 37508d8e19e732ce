"""Voice: utterances that could not be decoded, kept with their audio for a later re-run (issue 12).

Revision ID: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "voice_gaps",
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
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("recording_id", sa.String(32), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("transcript_id", sa.Integer, nullable=True),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(200), nullable=True),
        sa.UniqueConstraint("stream_id", "utterance", name="uq_voice_gaps_stream_utterance"),
    )
    op.create_index("ix_voice_gaps_state_created", "voice_gaps", ["state", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_voice_gaps_state_created", table_name="voice_gaps")
    op.drop_table("voice_gaps")
