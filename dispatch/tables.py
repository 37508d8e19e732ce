"""SQLAlchemy Core tables of the dispatch sub-system (created by migrations 0002_dispatch and 0040_outcomes)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

TS = sa.DateTime(timezone=True)

incidents = sa.Table(
    "dispatch_incidents", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("number", sa.String(32), nullable=False, unique=True),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("lang", sa.String(16)),
    sa.Column("category", sa.String(64)),
    sa.Column("priority", sa.Integer),
    sa.Column("level", sa.String(4)),
    sa.Column("triage", sa.JSON),            # the scorer's output: reasons, facts, category, priority
    sa.Column("priority_override", sa.JSON),  # {"priority", "level", "reason", "by", "at"} or null
    sa.Column("location_text", sa.Text),
    sa.Column("lat", sa.Float),
    sa.Column("lon", sa.Float),
    sa.Column("report", sa.JSON),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("merged_into", sa.String(32)),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.Column("dispatched_at", TS),
    sa.Column("acknowledged_at", TS),
    sa.Column("en_route_at", TS),
    sa.Column("on_scene_at", TS),
    sa.Column("closed_at", TS),
    # 0040: how the incident ended (cases/data/outcomes.yaml code + the closing note) and who ended it.
    sa.Column("outcome_code", sa.String(48)),
    sa.Column("outcome_note", sa.Text),
    sa.Column("closed_by", sa.String(128)),
    # 0040: the scorer's latest level beside the level a dispatcher settled on (override, confirmation,
    # first dispatch or close); null until a dispatcher acted on the incident.
    sa.Column("machine_level", sa.String(4)),
    sa.Column("final_level", sa.String(4)),
    sa.Column("final_level_by", sa.String(128)),
    sa.Column("final_level_at", TS),
    sa.Index("ix_dispatch_incidents_created", "created_at"),
    sa.Index("ix_dispatch_incidents_status", "status"),
)

# Append-only history of each incident: status changes, added text, links, overrides.
incident_events = sa.Table(
    "dispatch_incident_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("incident_id", sa.String(32), sa.ForeignKey("dispatch_incidents.id"), nullable=False),
    sa.Column("at", TS, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),  # status | text | duplicate | transcript | priority
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Index("ix_dispatch_incident_events_incident", "incident_id", "id"),
)

units = sa.Table(
    "dispatch_units", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("callsign", sa.String(64), nullable=False, unique=True),
    sa.Column("unit_type", sa.String(32), nullable=False),
    sa.Column("capabilities", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("lat", sa.Float),
    sa.Column("lon", sa.Float),
    sa.Column("location_at", TS),
    sa.Column("shift_start", TS),
    sa.Column("shift_end", TS),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)

unit_events = sa.Table(
    "dispatch_unit_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("unit_id", sa.String(32), sa.ForeignKey("dispatch_units.id"), nullable=False),
    sa.Column("at", TS, nullable=False),
    sa.Column("from_status", sa.String(16)),
    sa.Column("to_status", sa.String(16), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Index("ix_dispatch_unit_events_unit", "unit_id", "id"),
)

orders = sa.Table(
    "dispatch_orders", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("incident_id", sa.String(32), sa.ForeignKey("dispatch_incidents.id"), nullable=False),
    sa.Column("unit_id", sa.String(32), sa.ForeignKey("dispatch_units.id"), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),  # 1 = first offer, 2.. = re-offers after expiry
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("deadline_at", TS, nullable=False),
    sa.Column("delivered_at", TS),
    sa.Column("acknowledged_at", TS),
    sa.Column("closed_at", TS),
    sa.Column("close_reason", sa.Text),
    # 0040: the ranking the service recommended when the order was made (unit ids, best first), the
    # chosen unit's 1-based place in it and analytics.accountability.recommendation_verdict's verdict.
    sa.Column("recommended", sa.JSON),
    sa.Column("recommended_rank", sa.Integer),
    sa.Column("verdict", sa.String(24)),
    sa.Index("ix_dispatch_orders_incident", "incident_id"),
    sa.Index("ix_dispatch_orders_unit_state", "unit_id", "state"),
)

# 0040: notes from the field, each with at most one photo kept under DATA_DIR/field-photos (``photo_path``
# is relative to it). A note is never edited; the photo columns are filled once, when the whole file is in.
field_notes = sa.Table(
    "dispatch_field_notes", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("incident_id", sa.String(32), sa.ForeignKey("dispatch_incidents.id"), nullable=False),
    sa.Column("unit_id", sa.String(32)),            # the writer's unit (officers); null for dispatchers
    sa.Column("author", sa.String(128), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("photo_path", sa.String(255)),
    sa.Column("photo_type", sa.String(64)),
    sa.Column("photo_size", sa.BigInteger),
    sa.Column("photo_sha256", sa.String(64)),
    sa.Column("photo_at", TS),
    sa.Index("ix_dispatch_field_notes_incident", "incident_id", "created_at"),
)

alerts = sa.Table(
    "dispatch_alerts", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("incident_id", sa.String(32)),
    sa.Column("order_id", sa.String(32)),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("message_zh", sa.Text),  # the console shows it in Chinese; null for alerts before 0050
    sa.Column("details", sa.JSON),     # what the live event carried besides (page link, next unit, ...)
)

# Append-only, hash-chained. ``at`` and the JSON values are stored as the exact text that was
# hashed, so verification does not depend on how a driver round-trips times or JSON.
audit_log = sa.Table(
    "dispatch_audit", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.String(128), nullable=False),
    sa.Column("before", sa.Text, nullable=False),
    sa.Column("after", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index("ix_dispatch_audit_target", "target", "seq"),  # a record's history (chain of custody)
)
