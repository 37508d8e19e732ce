"""Radio back-pressure: a transmission shed under load is kept as ``busy`` and caught up later (issue 12).

Revision ID: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("radio_transmissions") as batch:
        batch.add_column(sa.Column("late", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_radio_transmissions_state_created", "radio_transmissions", ["state", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_radio_transmissions_state_created", table_name="radio_transmissions")
    with op.batch_alter_table("radio_transmissions") as batch:
        batch.drop_column("claimed_at")
        batch.drop_column("late")
