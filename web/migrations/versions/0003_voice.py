"""Voice: final transcript segments.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = ("voice",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "voice_transcripts",
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
        sa.UniqueConstraint("stream_id", "utterance", name="uq_voice_transcripts_stream_utterance"),
    )
    op.create_index("ix_voice_transcripts_channel_start", "voice_transcripts", ["channel", "start_utc"])
    op.create_index("ix_voice_transcripts_start", "voice_transcripts", ["start_utc"])


def downgrade() -> None:
    op.drop_index("ix_voice_transcripts_start", table_name="voice_transcripts")
    op.drop_index("ix_voice_transcripts_channel_start", table_name="voice_transcripts")
    op.drop_table("voice_transcripts")
