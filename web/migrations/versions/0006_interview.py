"""Interview records: sessions, transcript lines, line versions.

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0001"
branch_labels = ("interview",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "interview_sessions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("case_number", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=True),
        sa.Column("location", sa.String(200), nullable=True),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("participants", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_by", sa.String(200), nullable=True),
        sa.Column("signature", sa.JSON, nullable=True),
    )
    op.create_index("ix_interview_sessions_case", "interview_sessions", ["case_number"])
    op.create_table(
        "interview_lines",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("session_id", sa.String(32), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("speaker_role", sa.String(32), nullable=False),
        sa.Column("speaker", sa.String(200), nullable=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("start_s", sa.Float, nullable=True),
        sa.Column("end_s", sa.Float, nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("origin", sa.String(120), nullable=True),
        sa.Column("confidence", sa.Float, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("session_id", "seq", name="uq_interview_lines_seq"),
        sa.UniqueConstraint("session_id", "origin", name="uq_interview_lines_origin"),
    )
    op.create_table(
        "interview_line_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("line_id", sa.String(32), nullable=False),
        sa.Column("session_id", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("field", sa.String(32), nullable=False),
        sa.Column("before", sa.Text, nullable=True),
        sa.Column("after", sa.Text, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_interview_line_versions_line", "interview_line_versions", ["line_id", "version"])


def downgrade() -> None:
    op.drop_table("interview_line_versions")
    op.drop_table("interview_lines")
    op.drop_table("interview_sessions")
