"""SQL tables of radio channels and of kept audio (SQLAlchemy Core; created by migration 0005).

``audio_recordings`` holds the compressed audio of radio transmissions and interviews in the
database itself (``LargeBinary``: BLOB on SQLite, BYTEA on PostgreSQL) rather than on a local
disk, so any server process behind the load balancer can serve it and the retention sweep
deletes it in one place.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

channels = sa.Table(
    "radio_channels", metadata,
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
sa.Index("ix_radio_channels_talkgroup", channels.c.system, channels.c.talkgroup)

transmissions = sa.Table(
    "radio_transmissions", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("channel_id", sa.String(64), nullable=False),
    sa.Column("system", sa.String(32), nullable=True),
    sa.Column("talkgroup", sa.String(32), nullable=True),
    sa.Column("unit_label", sa.String(64), nullable=True),  # as the gateway/recorder named the sender
    sa.Column("unit_id", sa.String(64), nullable=True),  # the dispatch unit it resolved to
    sa.Column("trigger", sa.String(16), nullable=False),  # ptt | vad | upload
    sa.Column("start_utc", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end_utc", sa.DateTime(timezone=True), nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("tail_ms", sa.Float, nullable=False, server_default="0"),
    # pending | transcribed | dropped | failed | busy (shed under load; transcribed later) | catching_up
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
    sa.Column("late", sa.Boolean, nullable=False, server_default=sa.false()),  # transcribed after being shed
    sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),  # a process is catching it up
)
sa.Index("ix_radio_transmissions_channel_start", transmissions.c.channel_id, transmissions.c.start_utc)
sa.Index("ix_radio_transmissions_start", transmissions.c.start_utc)
sa.Index("ix_radio_transmissions_state_created", transmissions.c.state, transmissions.c.created_at)

status_updates = sa.Table(
    "radio_status_updates", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("transmission_id", sa.String(32), nullable=False),
    sa.Column("unit_id", sa.String(64), nullable=False),
    sa.Column("from_status", sa.String(32), nullable=True),
    sa.Column("to_status", sa.String(32), nullable=False),
    sa.Column("phrase", sa.String(200), nullable=False),
    sa.Column("evidence", sa.Text, nullable=False),
    sa.Column("confidence", sa.Float, nullable=True),
    sa.Column("state", sa.String(16), nullable=False),  # applied | unchanged | refused | unconfirmed | undone
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("undone_by", sa.String(200), nullable=True),
)
sa.Index("ix_radio_status_updates_unit", status_updates.c.unit_id, status_updates.c.created_at)

suggestions = sa.Table(
    "radio_suggestions", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("transmission_id", sa.String(32), nullable=False, unique=True),
    sa.Column("channel_id", sa.String(64), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("language", sa.String(16), nullable=True),
    sa.Column("category", sa.String(64), nullable=True),
    sa.Column("priority", sa.Integer, nullable=True),
    sa.Column("level", sa.String(4), nullable=True),
    sa.Column("triage", sa.JSON, nullable=True),
    sa.Column("state", sa.String(16), nullable=False),  # suggested | accepted | dismissed
    sa.Column("incident_id", sa.String(32), nullable=True),
    sa.Column("decided_by", sa.String(200), nullable=True),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
sa.Index("ix_radio_suggestions_state", suggestions.c.state, suggestions.c.created_at)

unit_aliases = sa.Table(
    "radio_unit_aliases", metadata,
    sa.Column("radio_id", sa.String(64), primary_key=True),
    sa.Column("unit_id", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

recordings = sa.Table(
    "audio_recordings", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # radio | interview | call
    sa.Column("owner_id", sa.String(64), nullable=False),  # transmission id or interview id
    sa.Column("codec", sa.String(32), nullable=False),
    sa.Column("sample_rate", sa.Integer, nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("bytes", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=True),  # NULL once deleted by retention
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("deleted_reason", sa.Text, nullable=True),
)
sa.Index("ix_audio_recordings_owner", recordings.c.kind, recordings.c.owner_id)
sa.Index("ix_audio_recordings_expires", recordings.c.expires_at)
