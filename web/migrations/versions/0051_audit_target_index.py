"""An index on the audit log's target: a record's history (an evidence item's chain of custody, an
inspection's decisions) is read by target, and without it each read scanned the whole log, which only
ever grows.

On the dispatch branch (after 0050).

Revision ID: 0051
"""

from alembic import op

revision = "0051"
down_revision = "0050"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_dispatch_audit_target", "dispatch_audit", ["target", "seq"])


def downgrade() -> None:
    op.drop_index("ix_dispatch_audit_target", table_name="dispatch_audit")
