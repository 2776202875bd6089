"""Shared by the simulator tests: every table's row count, to show nothing was written."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session, SQLModel

import migrations.metadata  # noqa: F401  (every model registered)


def row_counts(session: Session) -> dict[str, int]:
    return {
        table.name: int(session.execute(select(func.count()).select_from(table)).scalar_one())
        for table in SQLModel.metadata.sorted_tables
    }


def untouched(session: Session) -> bool:
    """The session holds nothing to write."""
    return not (session.new or session.dirty or session.deleted)
