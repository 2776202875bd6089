"""Claiming due outbox rows, safely with several workers.

A row is due when it is pending and its `next_attempt_at` has come, or when it is in progress
under a lease that ran out (its worker died). A row is never claimed while an earlier row of
the same connection and subject is not done (pending, in progress, paused or dead): an invoice
is pushed before it is voided or credited. Claiming sets the lease (`locked_by`,
`locked_until`) in the claiming transaction, which the caller commits at once. The attempt is
counted when the worker starts the remote work for the row (`sync.repository.start_rows`),
not here: a worker killed while it held 50 rows but had started on 30 charged only those 30.
A row whose attempts are spent when it is taken over (its workers kept dying on it) goes dead
instead.

PostgreSQL: `SELECT ... FOR UPDATE SKIP LOCKED`, so concurrent workers take disjoint rows
without waiting. SQLite: the claiming transaction first takes the database's write lock (a
no-op UPDATE), so two claims are serialised instead of failing with SQLITE_BUSY_SNAPSHOT.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select, text, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from sync.models import UNFINISHED, OutboxOp, OutboxRow, OutboxStatus

__all__ = ["claim_due", "take_write_lock"]


def take_write_lock(session: Session) -> None:
    """On SQLite, start the transaction with the write lock (no row changes); no-op elsewhere."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("UPDATE sync_outbox SET id = id WHERE 0"))


def claim_due(
    session: Session,
    worker_id: str,
    *,
    now: datetime,
    limit: int = 100,
    lease: timedelta = timedelta(minutes=5),
    connection_id: str | None = None,
    ops: tuple[OutboxOp, ...] | None = None,
    max_attempts: int = 8,
) -> list[OutboxRow]:
    """Claim up to `limit` due rows in id order and return them (flushed, not committed)."""
    take_write_lock(session)
    earlier = aliased(OutboxRow)
    blocked = exists().where(
        col(earlier.connection_id) == col(OutboxRow.connection_id),
        col(earlier.subject_id) == col(OutboxRow.subject_id),
        col(earlier.id) < col(OutboxRow.id),
        col(earlier.status).in_(UNFINISHED),
    )
    due = or_(
        and_(
            col(OutboxRow.status) == OutboxStatus.PENDING,
            col(OutboxRow.next_attempt_at) <= now,
        ),
        and_(
            col(OutboxRow.status) == OutboxStatus.IN_PROGRESS,
            col(OutboxRow.locked_until) < now,
        ),
    )
    query = select(col(OutboxRow.id), col(OutboxRow.attempts)).where(due, ~blocked)
    if connection_id is not None:
        query = query.where(col(OutboxRow.connection_id) == connection_id)
    if ops is not None:
        query = query.where(col(OutboxRow.op).in_(ops))
    query = query.order_by(col(OutboxRow.id)).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=OutboxRow)
    found = [(row_id, attempts) for row_id, attempts in session.execute(query)]
    spent = [row_id for row_id, attempts in found if attempts >= max_attempts]
    if spent:  # taken over after its worker died this many times: stop feeding it to workers
        session.execute(
            update(OutboxRow)
            .where(col(OutboxRow.id).in_(spent))
            .values(
                status=OutboxStatus.DEAD,
                locked_by=None,
                locked_until=None,
                updated_at=now,
                last_outcome="retryable",
                last_error=f"the worker stopped while carrying this row out ({max_attempts} "
                "attempts); retry it once the cause is fixed",
            )
            .execution_options(synchronize_session=False)
        )
    ids = [row_id for row_id, attempts in found if attempts < max_attempts]
    if not ids:
        return []
    session.execute(
        update(OutboxRow)
        .where(col(OutboxRow.id).in_(ids))
        .values(
            status=OutboxStatus.IN_PROGRESS,
            locked_by=worker_id,
            locked_until=now + lease,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    rows = session.scalars(
        select(OutboxRow).where(col(OutboxRow.id).in_(ids)).order_by(col(OutboxRow.id))
    ).all()
    for row in rows:
        session.refresh(row)
    return list(rows)
