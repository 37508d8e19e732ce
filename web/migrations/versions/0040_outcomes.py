"""Outcomes and AI accountability (issue 13 part 4): how an incident ended and who ended it, the
machine's level beside the dispatcher's final level, the ranking recorded with each order, and notes
(with photos) from the field.

On the dispatch branch (after 0002). Revision 0040 rather than the next free number, so that it cannot
collide with a revision another branch of work adds meanwhile.

Revision ID: 0040
"""

import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)

INCIDENT_COLUMNS = (
    ("outcome_code", sa.String(48)),
    ("outcome_note", sa.Text()),
    ("closed_by", sa.String(128)),
    ("machine_level", sa.String(4)),
    ("final_level", sa.String(4)),
    ("final_level_by", sa.String(128)),
    ("final_level_at", TS),
)
ORDER_COLUMNS = (
    ("recommended", sa.JSON()),
    ("recommended_rank", sa.Integer()),
    ("verdict", sa.String(24)),
)


def upgrade() -> None:
    # Nullable columns only: rows written before this revision keep null (no outcome, no ranking recorded).
    for name, type_ in INCIDENT_COLUMNS:
        op.add_column("dispatch_incidents", sa.Column(name, type_, nullable=True))
    for name, type_ in ORDER_COLUMNS:
        op.add_column("dispatch_orders", sa.Column(name, type_, nullable=True))
    op.create_table(
        "dispatch_field_notes",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("incident_id", sa.String(32), sa.ForeignKey("dispatch_incidents.id"), nullable=False),
        sa.Column("unit_id", sa.String(32)),
        sa.Column("author", sa.String(128), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("photo_path", sa.String(255)),
        sa.Column("photo_type", sa.String(64)),
        sa.Column("photo_size", sa.BigInteger),
        sa.Column("photo_sha256", sa.String(64)),
        sa.Column("photo_at", TS),
    )
    op.create_index("ix_dispatch_field_notes_incident", "dispatch_field_notes", ["incident_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_dispatch_field_notes_incident", table_name="dispatch_field_notes")
    op.drop_table("dispatch_field_notes")
    with op.batch_alter_table("dispatch_orders") as batch:
        for name, _type in reversed(ORDER_COLUMNS):
            batch.drop_column(name)
    with op.batch_alter_table("dispatch_incidents") as batch:
        for name, _type in reversed(INCIDENT_COLUMNS):
            batch.drop_column(name)
