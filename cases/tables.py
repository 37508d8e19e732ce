"""SQL tables of evidence, case files, their versions and hand-overs (SQLAlchemy Core; migration 0020).

Nothing here is ever deleted. An evidence row moves once from ``awaiting_file`` to its final state
(its file or loss columns are then filled in); a case file's header changes only by hand-over,
status change or correction, and every correction is a new ``case_versions`` row chained by hash;
a hand-over row is decided once. Every change is also an entry in the hash-chained audit log.
There are no foreign keys to other packages' tables (incidents, interviews, radio): those are on
other migration branches, and the web layer checks such references when they are given.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

TS = sa.DateTime(timezone=True)

evidence = sa.Table(
    "case_evidence", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("incident_id", sa.String(64), nullable=True),
    sa.Column("case_id", sa.String(64), nullable=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("purpose", sa.Text, nullable=False),
    sa.Column("submitted_by", sa.String(200), nullable=False),
    sa.Column("submitted_at", TS, nullable=False),
    # The submitting officer's sign-off; sign_digest is cases.evidence.registration_digest at signing.
    sa.Column("sign_officer", sa.Text, nullable=False),
    sa.Column("sign_badge", sa.String(32), nullable=False),
    sa.Column("signed_by", sa.String(200), nullable=False),
    sa.Column("signed_at", TS, nullable=False),
    sa.Column("sign_digest", sa.String(64), nullable=False),
    # Media: where the footage came from and when it was pulled.
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
    # Reference kinds: the radio transmission's or interview record's id.
    sa.Column("reference_id", sa.String(64), nullable=True),
    # The file as received (measured by the server); file_path is relative to DATA_DIR/evidence.
    sa.Column("file_sha256", sa.String(64), nullable=True),
    sa.Column("file_size", sa.BigInteger, nullable=True),
    sa.Column("file_media_type", sa.String(200), nullable=True),
    sa.Column("file_name", sa.Text, nullable=True),
    sa.Column("file_path", sa.Text, nullable=True),
    sa.Column("file_received_at", TS, nullable=True),
    sa.Column("file_received_by", sa.String(200), nullable=True),
    # Or: the signed statement that the file was lost or damaged.
    sa.Column("loss_condition", sa.String(16), nullable=True),
    sa.Column("loss_statement", sa.Text, nullable=True),
    sa.Column("loss_responsible", sa.Text, nullable=True),
    sa.Column("loss_responsible_role", sa.Text, nullable=True),
    sa.Column("loss_recorded_by", sa.String(200), nullable=True),
    sa.Column("loss_signed_at", TS, nullable=True),
    sa.Column("loss_statement_sha256", sa.String(64), nullable=True),
    sa.Column("updated_at", TS, nullable=False),
)
sa.Index("ix_case_evidence_incident", evidence.c.incident_id)
sa.Index("ix_case_evidence_case", evidence.c.case_id)
sa.Index("ix_case_evidence_submitted", evidence.c.submitted_by, evidence.c.submitted_at)
sa.Index("ix_case_evidence_state", evidence.c.state)

case_files = sa.Table(
    "case_files", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("number", sa.String(64), nullable=False),
    sa.Column("incident_id", sa.String(64), nullable=True),
    sa.Column("title", sa.Text, nullable=False),  # the current version's, for lists and the board
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
sa.Index("ux_case_files_number", case_files.c.number, unique=True)
sa.Index("ix_case_files_status", case_files.c.status, case_files.c.held_since)
sa.Index("ix_case_files_officer", case_files.c.responsible_officer)
sa.Index("ix_case_files_holder", case_files.c.holder_kind, case_files.c.holder_id)
sa.Index("ix_case_files_incident", case_files.c.incident_id)

case_versions = sa.Table(
    "case_versions", metadata,
    sa.Column("case_id", sa.String(32), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),  # the key refuses two corrections of one version
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

handovers = sa.Table(
    "case_handovers", metadata,
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
sa.Index("ix_case_handovers_case", handovers.c.case_id, handovers.c.proposed_at)
sa.Index("ix_case_handovers_waiting", handovers.c.state, handovers.c.to_holder)
