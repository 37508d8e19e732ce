"""Alerts keep what the console shows after a reload: the Chinese message beside the English one, and
the details a live alert carried (the building's page, who the order was re-offered to). Before this,
only the live event had them, so a reloaded console showed inspection alerts in English without a link.

On the dispatch branch (after 0040).

Revision ID: 0050
"""

import sqlalchemy as sa
from alembic import op

revision = "0050"
down_revision = "0040"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: alerts raised before this revision have neither and are shown as they were.
    op.add_column("dispatch_alerts", sa.Column("message_zh", sa.Text(), nullable=True))
    op.add_column("dispatch_alerts", sa.Column("details", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dispatch_alerts") as batch:
        batch.drop_column("details")
        batch.drop_column("message_zh")
