"""The fan-out's queries (`sync.service`): the billing event log read in id order, each
connection's cursor into it, and the idempotent insert of outbox rows.

Both inserts ignore rows that already exist (ON CONFLICT DO NOTHING), because on PostgreSQL
the fan-out's lock is no lock at all: two workers may fan out at once. Their outbox rows meet
on the unique key of event, connection and op; their first cursor for a connection meets on
its primary key, where a plain INSERT made the second worker die with an IntegrityError
(issue 17). On SQLite the fan-out holds the write lock, so neither ever conflicts there."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from billing.invoicing.models import BillingEvent, BillingEventKind
from sync.models import OutboxRow, SyncCursor

__all__ = [
    "cursor_of",
    "ensure_cursor",
    "events_after",
    "events_of_kinds_since",
    "insert_outbox_rows_ignoring_existing",
    "last_event_id_before",
    "oldest_open_write_started_at",
    "save_cursor",
]


def insert_outbox_rows_ignoring_existing(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert rows that do not exist yet (ON CONFLICT DO NOTHING on the unique key of event,
    connection and op); how many were new."""
    if not rows:
        return 0
    table: Any = OutboxRow.__table__  # type: ignore[attr-defined]
    statement = _insert(session, table).on_conflict_do_nothing().returning(table.c.id)
    return len(session.execute(statement, rows).all())


def _insert(session: Session, table: Any) -> Any:
    """The database's own INSERT, the one that has ON CONFLICT."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def oldest_open_write_started_at(session: Session) -> object:
    """PostgreSQL only: when the oldest other write transaction of this database began (None
    when there is none); its sequence ids may still be invisible to us."""
    return session.execute(
        text(
            "SELECT min(xact_start) FROM pg_stat_activity "
            "WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid() "
            "AND datname = current_database()"
        )
    ).scalar_one_or_none()


def cursor_of(session: Session, connection_id: str) -> SyncCursor | None:
    return session.get(SyncCursor, connection_id)


def last_event_id_before(session: Session, partner_id: str, before: datetime) -> int | None:
    """The partner's newest billing event created before `before` (a new cursor starts there)."""
    found = session.execute(
        select(func.max(BillingEvent.id)).where(
            col(BillingEvent.partner_id) == partner_id,
            col(BillingEvent.created_at) < before,
        )
    ).scalar_one_or_none()
    return None if found is None else int(found)


def ensure_cursor(session: Session, cursor: SyncCursor) -> SyncCursor:
    """The connection's stored cursor: `cursor` inserted unless one exists. When another
    worker's first fan-out inserted it and has not committed yet, PostgreSQL makes this insert
    wait for that commit and then skip the row, and the read that follows (READ COMMITTED)
    finds the other worker's cursor."""
    table: Any = SyncCursor.__table__  # type: ignore[attr-defined]
    session.execute(_insert(session, table).on_conflict_do_nothing(), [cursor.model_dump()])
    stored = session.get(SyncCursor, cursor.connection_id)
    if stored is None:  # only if the row were deleted in between, which nothing does
        raise LookupError(f"sync cursor of connection {cursor.connection_id} vanished")
    return stored


def save_cursor(session: Session, cursor: SyncCursor) -> None:
    session.add(cursor)


def events_after(
    session: Session, partner_id: str, after_id: int, limit: int
) -> list[BillingEvent]:
    """The partner's billing events after `after_id`, oldest first, at most `limit`."""
    query = (
        select(BillingEvent)
        .where(col(BillingEvent.partner_id) == partner_id, col(BillingEvent.id) > after_id)
        .order_by(col(BillingEvent.id))
        .limit(limit)
    )
    return list(session.scalars(query))


def events_of_kinds_since(
    session: Session, partner_id: str, kinds: Collection[BillingEventKind], since: datetime
) -> list[BillingEvent]:
    """The partner's billing events of these kinds created at or after `since`, oldest first."""
    query = (
        select(BillingEvent)
        .where(
            col(BillingEvent.partner_id) == partner_id,
            col(BillingEvent.kind).in_(kinds),
            col(BillingEvent.created_at) >= since,
        )
        .order_by(col(BillingEvent.id))
    )
    return list(session.scalars(query))
