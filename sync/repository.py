"""Every outbox query and state change (the worker and the CLI never write SQL of their own).

Transitions of a claimed row are guarded by the lease: they apply only while the row is still
in progress under this worker's id, so a worker whose lease ran out cannot overwrite what the
worker that took the row over decided.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult
from sqlmodel import Session, col

from connectors.base import (
    AuthExpiredError,
    ConnectorError,
    NotFoundError,
    RateLimitedError,
    RejectedError,
)
from sync.models import OutboxOp, OutboxRow, OutboxStatus

__all__ = [
    "MAX_ATTEMPTS",
    "backoff",
    "complete_row",
    "dead_rows",
    "fail_row",
    "pause_connection",
    "requeue_invoice_push",
    "resume_connection",
    "retry_rows",
    "row_counts_by_status",
    "start_rows",
]

MAX_ATTEMPTS = 8
_BASE = 2.0  # seconds before the second attempt
_CAP = 3600.0  # never wait more than an hour between attempts


def backoff(attempts: int, retry_after: float | None, rng: random.Random) -> timedelta:
    """Exponential with jitter (between half and all of 2s x 2^(n-1), capped at an hour), and
    never sooner than the remote's Retry-After."""
    ceiling = min(_CAP, _BASE * 2 ** max(0, attempts - 1))
    delay = rng.uniform(ceiling / 2, ceiling)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return timedelta(seconds=delay)


def _mine(row_id: int, worker_id: str) -> list[object]:
    return [
        col(OutboxRow.id) == row_id,
        col(OutboxRow.status) == OutboxStatus.IN_PROGRESS,
        col(OutboxRow.locked_by) == worker_id,
    ]


def _changed(result: object) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def complete_row(
    session: Session, row_id: int, worker_id: str, now: datetime, note: str | None = None
) -> bool:
    """Done (with an optional note such as "already in QuickBooks"); False if the lease was lost."""
    result = session.execute(
        update(OutboxRow)
        .where(*_mine(row_id, worker_id))  # type: ignore[arg-type]
        .values(
            status=OutboxStatus.DONE,
            completed_at=now,
            updated_at=now,
            locked_by=None,
            locked_until=None,
            last_error=note,
            last_outcome="done",
        )
        .execution_options(synchronize_session=False)
    )
    return _changed(result) == 1


def start_rows(session: Session, row_ids: list[int], worker_id: str, now: datetime) -> int:
    """Count an attempt for rows this worker is about to send to the remote (still under its
    lease); how many were charged."""
    if not row_ids:
        return 0
    result = session.execute(
        update(OutboxRow)
        .where(
            col(OutboxRow.id).in_(row_ids),
            col(OutboxRow.status) == OutboxStatus.IN_PROGRESS,
            col(OutboxRow.locked_by) == worker_id,
        )
        .values(attempts=col(OutboxRow.attempts) + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return _changed(result)


def fail_row(
    session: Session,
    row: OutboxRow,
    worker_id: str,
    error: ConnectorError,
    message: str,
    now: datetime,
    rng: random.Random,
    *,
    max_attempts: int = MAX_ATTEMPTS,
) -> OutboxStatus | None:
    """Apply the retry policy to one claimed row; the new status, or None if the lease was lost.

    Retryable and rate-limited: again after the backoff, dead after `max_attempts`.
    Auth expired: paused, the attempt not counted. Rejected and not found: dead at once."""
    values: dict[str, object] = {
        "last_error": message[:4000],
        "last_outcome": str(error.outcome),
        "updated_at": now,
        "locked_by": None,
        "locked_until": None,
    }
    if isinstance(error, AuthExpiredError):
        status = OutboxStatus.PAUSED
        values["attempts"] = max(0, row.attempts - 1)
    elif isinstance(error, RejectedError | NotFoundError) or row.attempts >= max_attempts:
        status = OutboxStatus.DEAD
    else:
        status = OutboxStatus.PENDING
        retry_after = error.retry_after if isinstance(error, RateLimitedError) else None
        values["next_attempt_at"] = now + backoff(row.attempts, retry_after, rng)
    values["status"] = status
    result = session.execute(
        update(OutboxRow)
        .where(*_mine(row.id or 0, worker_id))  # type: ignore[arg-type]
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return status if _changed(result) == 1 else None


def pause_connection(session: Session, connection_id: str, reason: str, now: datetime) -> int:
    """Every pending row of the connection waits for the partner to re-authorise."""
    result = session.execute(
        update(OutboxRow)
        .where(
            col(OutboxRow.connection_id) == connection_id,
            col(OutboxRow.status) == OutboxStatus.PENDING,
        )
        .values(status=OutboxStatus.PAUSED, last_error=reason[:4000], updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return _changed(result)


def resume_connection(session: Session, connection_id: str, now: datetime) -> int:
    """Paused rows become due again (after the partner re-authorised)."""
    result = session.execute(
        update(OutboxRow)
        .where(
            col(OutboxRow.connection_id) == connection_id,
            col(OutboxRow.status) == OutboxStatus.PAUSED,
        )
        .values(status=OutboxStatus.PENDING, next_attempt_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return _changed(result)


def paused_before(session: Session, connection_id: str) -> datetime | None:
    """When the newest paused row of the connection was paused (None: nothing paused)."""
    query = select(func.max(OutboxRow.updated_at)).where(
        col(OutboxRow.connection_id) == connection_id,
        col(OutboxRow.status) == OutboxStatus.PAUSED,
    )
    value = session.execute(query).scalar_one_or_none()
    return value if isinstance(value, datetime) else None


def retry_rows(
    session: Session,
    now: datetime,
    *,
    row_ids: Sequence[int] | None = None,
    connection_id: str | None = None,
    partner_id: str | None = None,
) -> int:
    """Dead (or paused) rows back to pending with a fresh attempt budget; by id, or every dead
    row (of a connection or partner). The last error stays until the next attempt."""
    query = update(OutboxRow).values(
        status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now, updated_at=now
    )
    if row_ids is not None:
        query = query.where(
            col(OutboxRow.id).in_(list(row_ids)),
            col(OutboxRow.status).in_((OutboxStatus.DEAD, OutboxStatus.PAUSED)),
        )
    else:
        query = query.where(col(OutboxRow.status) == OutboxStatus.DEAD)
    if connection_id is not None:
        query = query.where(col(OutboxRow.connection_id) == connection_id)
    if partner_id is not None:
        query = query.where(col(OutboxRow.partner_id) == partner_id)
    return _changed(session.execute(query.execution_options(synchronize_session=False)))


def requeue_invoice_push(
    session: Session, connection_id: str, invoice_id: str, now: datetime
) -> int:
    """The invoice's push rows for the connection back to pending with a fresh attempt budget
    (a row in progress is left to its worker); how many were requeued."""
    query = (
        update(OutboxRow)
        .where(
            col(OutboxRow.connection_id) == connection_id,
            col(OutboxRow.op) == OutboxOp.INVOICE_PUSH,
            col(OutboxRow.our_id) == invoice_id,
            col(OutboxRow.status) != OutboxStatus.IN_PROGRESS,
        )
        .values(
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            updated_at=now,
            completed_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    return _changed(session.execute(query))


def row_counts_by_status(
    session: Session, partner_id: str | None = None
) -> list[tuple[str, OutboxStatus, int, datetime | None]]:
    """(connection, status, rows, oldest row's creation) per connection and status."""
    query = select(
        col(OutboxRow.connection_id),
        col(OutboxRow.status),
        func.count(),
        func.min(OutboxRow.created_at),
    ).group_by(col(OutboxRow.connection_id), col(OutboxRow.status))
    if partner_id is not None:
        query = query.where(col(OutboxRow.partner_id) == partner_id)
    return [(c, s, int(n), oldest) for c, s, n, oldest in session.execute(query)]


def dead_rows(session: Session, partner_id: str | None = None, *, limit: int) -> list[OutboxRow]:
    """Dead rows (of a partner), oldest first, at most `limit`."""
    query = (
        select(OutboxRow)
        .where(col(OutboxRow.status) == OutboxStatus.DEAD)
        .order_by(col(OutboxRow.id))
        .limit(limit)
    )
    if partner_id is not None:
        query = query.where(col(OutboxRow.partner_id) == partner_id)
    return list(session.scalars(query))
