"""Dispatch: incidents, their events, units, unit status log, orders, alerts, audit chain.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = ("dispatch",)
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dispatch_incidents",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("number", sa.String(32), nullable=False, unique=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("lang", sa.String(16)),
        sa.Column("category", sa.String(64)),
        sa.Column("priority", sa.Integer),
        sa.Column("level", sa.String(4)),
        sa.Column("triage", sa.JSON),
        sa.Column("priority_override", sa.JSON),
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
    )
    op.create_index("ix_dispatch_incidents_created", "dispatch_incidents", ["created_at"])
    op.create_index("ix_dispatch_incidents_status", "dispatch_incidents", ["status"])
    op.create_table(
        "dispatch_incident_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.String(32), sa.ForeignKey("dispatch_incidents.id"), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
    )
    op.create_index("ix_dispatch_incident_events_incident", "dispatch_incident_events", ["incident_id", "id"])
    op.create_table(
        "dispatch_units",
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
    op.create_table(
        "dispatch_unit_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("unit_id", sa.String(32), sa.ForeignKey("dispatch_units.id"), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("from_status", sa.String(16)),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )
    op.create_index("ix_dispatch_unit_events_unit", "dispatch_unit_events", ["unit_id", "id"])
    op.create_table(
        "dispatch_orders",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("incident_id", sa.String(32), sa.ForeignKey("dispatch_incidents.id"), nullable=False),
        sa.Column("unit_id", sa.String(32), sa.ForeignKey("dispatch_units.id"), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("deadline_at", TS, nullable=False),
        sa.Column("delivered_at", TS),
        sa.Column("acknowledged_at", TS),
        sa.Column("closed_at", TS),
        sa.Column("close_reason", sa.Text),
    )
    op.create_index("ix_dispatch_orders_incident", "dispatch_orders", ["incident_id"])
    op.create_index("ix_dispatch_orders_unit_state", "dispatch_orders", ["unit_id", "state"])
    op.create_table(
        "dispatch_alerts",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("incident_id", sa.String(32)),
        sa.Column("order_id", sa.String(32)),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "dispatch_audit",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(128), nullable=False),
        sa.Column("before", sa.Text, nullable=False),
        sa.Column("after", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    for table in ("dispatch_audit", "dispatch_alerts", "dispatch_orders", "dispatch_unit_events",
                  "dispatch_units", "dispatch_incident_events", "dispatch_incidents"):
        op.drop_table(table)
