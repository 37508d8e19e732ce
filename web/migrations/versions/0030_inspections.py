"""Building hazard inspections: buildings and their versions, inspections, self-checks, decisions,
enforcement tasks, photos and the overdue alerts raised (inspections/tables.py).

Its own branch (``inspections``) after the foundation; revision 0030 (issue 13) so that it cannot
collide with a revision another branch of work adds meanwhile.

Revision ID: 0030
"""

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0001"
branch_labels = ("inspections",)
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "inspection_buildings",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("building_code", sa.String(64), nullable=True),
        sa.Column("address", sa.String(300), nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("building_type", sa.String(32), nullable=False),
        sa.Column("floors_above", sa.Integer, nullable=False),
        sa.Column("floors_below", sa.Integer, nullable=False),
        sa.Column("grid_id", sa.String(64), nullable=False),
        sa.Column("manager_id", sa.String(64), nullable=False),
        sa.Column("manager_name", sa.String(100), nullable=False),
        sa.Column("manager_phone", sa.String(32), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("last_self_check_at", TS, nullable=True),
    )
    op.create_index("ix_inspection_buildings_grid", "inspection_buildings", ["grid_id"])
    op.create_index("ix_inspection_buildings_manager", "inspection_buildings", ["manager_id"])
    op.create_index("uq_inspection_buildings_code", "inspection_buildings", ["building_code"], unique=True)

    op.create_table(
        "inspection_building_versions",
        sa.Column("building_id", sa.String(32), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("record", sa.JSON, nullable=False),
        sa.Column("changed", sa.JSON, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", TS, nullable=False),
    )

    op.create_table(
        "inspection_inspections",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("building_id", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("state_since", TS, nullable=False),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("open_building", sa.String(32), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("closed_at", TS, nullable=True),
    )
    op.create_index("ix_inspection_inspections_building", "inspection_inspections", ["building_id", "created_at"])
    op.create_index("ix_inspection_inspections_state", "inspection_inspections", ["state"])
    op.create_index("uq_inspection_inspections_open", "inspection_inspections", ["open_building"], unique=True)

    op.create_table(
        "inspection_self_checks",
        sa.Column("inspection_id", sa.String(32), primary_key=True),
        sa.Column("round", sa.Integer, primary_key=True),
        sa.Column("answers", sa.JSON, nullable=False),
        sa.Column("photos", sa.JSON, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("submitted_by", sa.String(200), nullable=False),
        sa.Column("submitted_at", TS, nullable=False),
    )

    op.create_table(
        "inspection_decisions",
        sa.Column("inspection_id", sa.String(32), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("from_state", sa.String(16), nullable=True),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("audit_seq", sa.Integer, nullable=False),
    )

    op.create_table(
        "inspection_tasks",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("inspection_id", sa.String(32), nullable=False),
        sa.Column("building_id", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("hazard", sa.Text, nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("escalated_by", sa.String(200), nullable=False),
        sa.Column("escalated_at", TS, nullable=False),
        sa.Column("incident_id", sa.String(32), nullable=True),
        sa.Column("incident_linked_by", sa.String(200), nullable=True),
        sa.Column("incident_linked_at", TS, nullable=True),
        sa.Column("result", sa.JSON, nullable=True),
        sa.Column("resolved_by", sa.String(200), nullable=True),
        sa.Column("resolved_at", TS, nullable=True),
    )
    op.create_index("uq_inspection_tasks_inspection", "inspection_tasks", ["inspection_id"], unique=True)
    op.create_index("ix_inspection_tasks_state", "inspection_tasks", ["state", "escalated_at"])

    op.create_table(
        "inspection_photos",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("building_id", sa.String(32), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("uploaded_by", sa.String(200), nullable=False),
        sa.Column("uploaded_at", TS, nullable=False),
    )
    op.create_index("uq_inspection_photos_sha", "inspection_photos", ["building_id", "sha256"], unique=True)

    op.create_table(
        "inspection_alerts",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("inspection_id", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("step_since", TS, nullable=False),
        sa.Column("waiting_for", sa.String(32), nullable=False),
        sa.Column("deadline_at", TS, nullable=False),
        sa.Column("detected_at", TS, nullable=False),
        sa.Column("event", sa.JSON, nullable=False),
        sa.Column("alert_id", sa.String(32), nullable=True),
        sa.Column("published_at", TS, nullable=True),
    )
    op.create_index("uq_inspection_alerts_step", "inspection_alerts", ["inspection_id", "state", "step_since"],
                    unique=True)
    op.create_index("ix_inspection_alerts_unpublished", "inspection_alerts", ["published_at"])


def downgrade() -> None:
    op.drop_index("ix_inspection_alerts_unpublished", table_name="inspection_alerts")
    op.drop_index("uq_inspection_alerts_step", table_name="inspection_alerts")
    op.drop_table("inspection_alerts")
    op.drop_index("uq_inspection_photos_sha", table_name="inspection_photos")
    op.drop_table("inspection_photos")
    op.drop_index("ix_inspection_tasks_state", table_name="inspection_tasks")
    op.drop_index("uq_inspection_tasks_inspection", table_name="inspection_tasks")
    op.drop_table("inspection_tasks")
    op.drop_table("inspection_decisions")
    op.drop_table("inspection_self_checks")
    op.drop_index("uq_inspection_inspections_open", table_name="inspection_inspections")
    op.drop_index("ix_inspection_inspections_state", table_name="inspection_inspections")
    op.drop_index("ix_inspection_inspections_building", table_name="inspection_inspections")
    op.drop_table("inspection_inspections")
    op.drop_table("inspection_building_versions")
    op.drop_index("uq_inspection_buildings_code", table_name="inspection_buildings")
    op.drop_index("ix_inspection_buildings_manager", table_name="inspection_buildings")
    op.drop_index("ix_inspection_buildings_grid", table_name="inspection_buildings")
    op.drop_table("inspection_buildings")
