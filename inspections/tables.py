"""SQL tables of building inspections (SQLAlchemy Core; created by migration 0030, branch ``inspections``).

* ``inspection_buildings`` holds each building's current record (一栋楼一档案); every version of it,
  the first included, is kept in ``inspection_building_versions``: a correction adds version n+1 and
  nothing is ever deleted.
* ``inspection_inspections`` is one inspection's state; its self-check rounds, its decisions (each
  with the seq of its entry in the hash-chained audit log) and its enforcement task (after an
  escalation) are rows of their own, so nothing is overwritten.
  ``open_building`` is the building id while the inspection is open and NULL once closed: its unique
  index lets the database itself refuse a second open inspection of a building, whichever process asks.
* ``inspection_photos``: photos received through ``cases.upload`` (streamed, hashed, kept whole or not at
  all), one row per building and sha256.
* ``inspection_alerts``: the console alert raised for each overdue step, so a restart neither raises
  it again nor loses one not yet published (``published_at`` NULL).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
TS = sa.DateTime(timezone=True)

buildings = sa.Table(
    "inspection_buildings", metadata,
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
sa.Index("ix_inspection_buildings_grid", buildings.c.grid_id)
sa.Index("ix_inspection_buildings_manager", buildings.c.manager_id)
sa.Index("uq_inspection_buildings_code", buildings.c.building_code, unique=True)

building_versions = sa.Table(
    "inspection_building_versions", metadata,
    sa.Column("building_id", sa.String(32), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("record", sa.JSON, nullable=False),  # the whole record as registered or corrected
    sa.Column("changed", sa.JSON, nullable=False),  # field names changed from the version before
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("at", TS, nullable=False),
)

inspections = sa.Table(
    "inspection_inspections", metadata,
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
sa.Index("ix_inspection_inspections_building", inspections.c.building_id, inspections.c.created_at)
sa.Index("ix_inspection_inspections_state", inspections.c.state)
sa.Index("uq_inspection_inspections_open", inspections.c.open_building, unique=True)

self_checks = sa.Table(
    "inspection_self_checks", metadata,
    sa.Column("inspection_id", sa.String(32), primary_key=True),
    sa.Column("round", sa.Integer, primary_key=True),
    sa.Column("answers", sa.JSON, nullable=False),
    sa.Column("photos", sa.JSON, nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("submitted_by", sa.String(200), nullable=False),
    sa.Column("submitted_at", TS, nullable=False),
)

decisions = sa.Table(
    "inspection_decisions", metadata,
    sa.Column("inspection_id", sa.String(32), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("at", TS, nullable=False),
    sa.Column("from_state", sa.String(16), nullable=True),
    sa.Column("to_state", sa.String(16), nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Column("audit_seq", sa.Integer, nullable=False),  # its entry in the hash-chained audit log
)

tasks = sa.Table(
    "inspection_tasks", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("inspection_id", sa.String(32), nullable=False),
    sa.Column("building_id", sa.String(32), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # open | resolved
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
sa.Index("uq_inspection_tasks_inspection", tasks.c.inspection_id, unique=True)
sa.Index("ix_inspection_tasks_state", tasks.c.state, tasks.c.escalated_at)

photos = sa.Table(
    "inspection_photos", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("building_id", sa.String(32), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("content_type", sa.String(64), nullable=False),
    sa.Column("name", sa.String(255), nullable=True),  # the file name the uploader gave
    sa.Column("path", sa.String(500), nullable=False),  # relative to the data dir
    sa.Column("uploaded_by", sa.String(200), nullable=False),
    sa.Column("uploaded_at", TS, nullable=False),
)
sa.Index("uq_inspection_photos_sha", photos.c.building_id, photos.c.sha256, unique=True)

alerts = sa.Table(
    "inspection_alerts", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("inspection_id", sa.String(32), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("step_since", TS, nullable=False),  # with inspection_id and state: which step is overdue
    sa.Column("waiting_for", sa.String(32), nullable=False),
    sa.Column("deadline_at", TS, nullable=False),
    sa.Column("detected_at", TS, nullable=False),
    sa.Column("event", sa.JSON, nullable=False),  # the alert as inspections.overdue built it
    sa.Column("alert_id", sa.String(32), nullable=True),  # the console alert (dispatch_alerts) once raised
    sa.Column("published_at", TS, nullable=True),
)
sa.Index("uq_inspection_alerts_step", alerts.c.inspection_id, alerts.c.state, alerts.c.step_since, unique=True)
sa.Index("ix_inspection_alerts_unpublished", alerts.c.published_at)
