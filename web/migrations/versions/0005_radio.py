"""Radio: channels, transmissions, spoken status updates, suggested incidents, unit aliases, kept audio.

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0001"
branch_labels = ("radio",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "radio_channels",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("system", sa.String(32), nullable=True),
        sa.Column("talkgroup", sa.String(32), nullable=True),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("hotwords", sa.Text, nullable=True),
        sa.Column("priority", sa.Integer, nullable=False, server_default="5"),
        sa.Column("auto_created", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_radio_channels_talkgroup", "radio_channels", ["system", "talkgroup"])
    op.create_table(
        "radio_transmissions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("system", sa.String(32), nullable=True),
        sa.Column("talkgroup", sa.String(32), nullable=True),
        sa.Column("unit_label", sa.String(64), nullable=True),
        sa.Column("unit_id", sa.String(64), nullable=True),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("start_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("tail_ms", sa.Float, nullable=False, server_default="0"),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("text", sa.Text, nullable=True),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("confidence", sa.Float, nullable=True),
        sa.Column("words", sa.JSON, nullable=True),
        sa.Column("recording_id", sa.String(32), nullable=True),
        sa.Column("upload_key", sa.String(200), nullable=True, unique=True),
        sa.Column("meta", sa.JSON, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_radio_transmissions_channel_start", "radio_transmissions", ["channel_id", "start_utc"])
    op.create_index("ix_radio_transmissions_start", "radio_transmissions", ["start_utc"])
    op.create_table(
        "radio_status_updates",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("transmission_id", sa.String(32), nullable=False),
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("from_status", sa.String(32), nullable=True),
        sa.Column("to_status", sa.String(32), nullable=False),
        sa.Column("phrase", sa.String(200), nullable=False),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("confidence", sa.Float, nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undone_by", sa.String(200), nullable=True),
    )
    op.create_index("ix_radio_status_updates_unit", "radio_status_updates", ["unit_id", "created_at"])
    op.create_table(
        "radio_suggestions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("transmission_id", sa.String(32), nullable=False, unique=True),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("priority", sa.Integer, nullable=True),
        sa.Column("level", sa.String(4), nullable=True),
        sa.Column("triage", sa.JSON, nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("incident_id", sa.String(32), nullable=True),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_radio_suggestions_state", "radio_suggestions", ["state", "created_at"])
    op.create_table(
        "radio_unit_aliases",
        sa.Column("radio_id", sa.String(64), primary_key=True),
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "audio_recordings",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("codec", sa.String(32), nullable=False),
        sa.Column("sample_rate", sa.Integer, nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("bytes", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_reason", sa.Text, nullable=True),
    )
    op.create_index("ix_audio_recordings_owner", "audio_recordings", ["kind", "owner_id"])
    op.create_index("ix_audio_recordings_expires", "audio_recordings", ["expires_at"])


def downgrade() -> None:
    op.drop_table("audio_recordings")
    op.drop_table("radio_unit_aliases")
    op.drop_table("radio_suggestions")
    op.drop_table("radio_status_updates")
    op.drop_table("radio_transmissions")
    op.drop_table("radio_channels")
