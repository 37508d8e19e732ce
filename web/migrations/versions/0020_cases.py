"""Cases: evidence with its file or loss statement, case files, their hash-chained versions, hand-overs.

On its own branch (after 0001). Revision 0020 (issue 13) rather than the next free number, so that it
cannot collide with a revision another branch of work adds meanwhile. Nothing in these tables is ever
deleted; see cases/tables.py.

Revision ID: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0001"
branch_labels = ("cases",)
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "case_evidence",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("incident_id", sa.String(64), nullable=True),
        sa.Column("case_id", sa.String(64), nullable=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("submitted_by", sa.String(200), nullable=False),
        sa.Column("submitted_at", TS, nullable=False),
        sa.Column("sign_officer", sa.Text, nullable=False),
        sa.Column("sign_badge", sa.String(32), nullable=False),
        sa.Column("signed_by", sa.String(200), nullable=False),
        sa.Column("signed_at", TS, nullable=False),
        sa.Column("sign_digest", sa.String(64), nullable=False),
        sa.Column("source_device", sa.Text, nullable=True),
        sa.Column("source_device_type", sa.String(32), nullable=True),
        sa.Column("source_place", sa.Text, nullable=True),
        sa.Column("source_owner", sa.Text, nullable=True),
        sa.Column("source_owner_contact", sa.Text, nullable=True),
        sa.Column("source_lat", sa.Float, nullable=True),
        sa.Column("source_lon", sa.Float, nullable=True),
        sa.Column("pulled_at", TS, nullable=True),
        sa.Column("pulled_place", sa.Text, nullable=True),
        sa.Column("recorded_from", TS, nullable=True),
        sa.Column("recorded_to", TS, nullable=True),
        sa.Column("expected_sha256", sa.String(64), nullable=True),
        sa.Column("reference_id", sa.String(64), nullable=True),
        sa.Column("file_sha256", sa.String(64), nullable=True),
        sa.Column("file_size", sa.BigInteger, nullable=True),
        sa.Column("file_media_type", sa.String(200), nullable=True),
        sa.Column("file_name", sa.Text, nullable=True),
        sa.Column("file_path", sa.Text, nullable=True),
        sa.Column("file_received_at", TS, nullable=True),
        sa.Column("file_received_by", sa.String(200), nullable=True),
        sa.Column("loss_condition", sa.String(16), nullable=True),
        sa.Column("loss_statement", sa.Text, nullable=True),
        sa.Column("loss_responsible", sa.Text, nullable=True),
        sa.Column("loss_responsible_role", sa.Text, nullable=True),
        sa.Column("loss_recorded_by", sa.String(200), nullable=True),
        sa.Column("loss_signed_at", TS, nullable=True),
        sa.Column("loss_statement_sha256", sa.String(64), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_case_evidence_incident", "case_evidence", ["incident_id"])
    op.create_index("ix_case_evidence_case", "case_evidence", ["case_id"])
    op.create_index("ix_case_evidence_submitted", "case_evidence", ["submitted_by", "submitted_at"])
    op.create_index("ix_case_evidence_state", "case_evidence", ["state"])

    op.create_table(
        "case_files",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("incident_id", sa.String(64), nullable=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("responsible_officer", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("holder_kind", sa.String(16), nullable=False),
        sa.Column("holder_id", sa.String(64), nullable=False),
        sa.Column("held_since", TS, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("awaiting_correction", sa.Boolean, nullable=False),
        sa.Column("returns", sa.Integer, nullable=False),
        sa.Column("status_history", sa.JSON, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ux_case_files_number", "case_files", ["number"], unique=True)
    op.create_index("ix_case_files_status", "case_files", ["status", "held_since"])
    op.create_index("ix_case_files_officer", "case_files", ["responsible_officer"])
    op.create_index("ix_case_files_holder", "case_files", ["holder_kind", "holder_id"])
    op.create_index("ix_case_files_incident", "case_files", ["incident_id"])

    op.create_table(
        "case_versions",
        sa.Column("case_id", sa.String(32), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("items", sa.JSON, nullable=False),
        sa.Column("changed_by", sa.String(200), nullable=False),
        sa.Column("changed_at", TS, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("changes", sa.JSON, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )

    op.create_table(
        "case_handovers",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("case_id", sa.String(32), nullable=False),
        sa.Column("from_holder", sa.String(80), nullable=False),
        sa.Column("to_holder", sa.String(80), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("corrections", sa.JSON, nullable=False),
        sa.Column("proposed_by", sa.String(200), nullable=False),
        sa.Column("proposed_at", TS, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("decision_note", sa.Text, nullable=True),
    )
    op.create_index("ix_case_handovers_case", "case_handovers", ["case_id", "proposed_at"])
    op.create_index("ix_case_handovers_waiting", "case_handovers", ["state", "to_holder"])


def downgrade() -> None:
    op.drop_index("ix_case_handovers_waiting", table_name="case_handovers")
    op.drop_index("ix_case_handovers_case", table_name="case_handovers")
    op.drop_table("case_handovers")
    op.drop_table("case_versions")
    for name in ("ix_case_files_incident", "ix_case_files_holder", "ix_case_files_officer", "ix_case_files_status",
                 "ux_case_files_number"):
        op.drop_index(name, table_name="case_files")
    op.drop_table("case_files")
    for name in ("ix_case_evidence_state", "ix_case_evidence_submitted", "ix_case_evidence_case",
                 "ix_case_evidence_incident"):
        op.drop_index(name, table_name="case_evidence")
    op.drop_table("case_evidence")
