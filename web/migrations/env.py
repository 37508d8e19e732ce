"""Alembic environment: always run with a connection handed in by ``web.db.migrate``."""

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `jingyun migrate` or server start-up, not the alembic CLI")

context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
