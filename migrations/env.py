"""Alembic environment: runs on the connection the runner hands over, or on settings' URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from config.db import create_db_engine
from config.settings import get_settings
from migrations.metadata import target_metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = create_db_engine(get_settings().resolved_database_url)
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
