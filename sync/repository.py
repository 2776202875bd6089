"""Every outbox query and state change (the worker and the CLI never write SQL of their own).

Claiming, leases, attempts, the retry policy, dead and retry by hand are the work queue's
(`workqueue`, `sync.claims.OUTBOX_QUEUE`); what is the outbox's own is here: which failure
pauses a connection (auth expired) or kills a row at once (rejected, not found).

Transitions of a claimed row are guarded by the lease: they apply only while the row is still
in progress under this worker's id, so a worker whose lease ran out cannot overwrite what the
worker that took the row over decided.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.engine import CursorResult
from sqlmodel import Session, col

from billing.webhooks import EventType, emit
from connectors.base import (
    AuthExpiredError,
    ConnectorError,
    NotFoundError,
    RateLimitedError,
    RejectedError,
)
from connectors.connections.models import Connection
from sync.claims import OUTBOX_QUEUE
from sync.models import OutboxOp, OutboxRow, OutboxStatus
from workqueue import RetryPolicy
from workqueue import repository as queue

__all__ = [
    "MAX_ATTEMPTS",
    "RETRY_POLICY",
    "backoff",
    "claim_due",
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

RETRY_POLICY = RetryPolicy(
    max_attempts=8, base=timedelta(seconds=2), factor=2.0, cap=timedelta(hours=1)
)
"""Between half and all of 2 s x 2^(n-1), capped at an hour, never sooner than Retry-After."""
MAX_ATTEMPTS = RETRY_POLICY.max_attempts


def backoff(attempts: int, retry_after: float | None, rng: random.Random) -> timedelta:
    """The outbox's wait after failed attempt `attempts` (the work queue's retry policy)."""
    return RETRY_POLICY.delay(attempts, retry_after, rng)


def _changed(result: object) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def claim_due(
    session: Session,
    worker_id: str,
    *,
    now: datetime,
    limit: int = 100,
    lease: timedelta = timedelta(minutes=5),
    connection_id: str | None = None,
    ops: tuple[OutboxOp, ...] | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> list[OutboxRow]:
    """Claim up to `limit` due rows in id order and return them (flushed, not committed: the
    caller commits at once). A row whose attempts are spent goes dead instead (its workers
    kept dying on it)."""
    where: list[ColumnElement[bool]] = []
    if connection_id is not None:
        where.append(col(OutboxRow.connection_id) == connection_id)
    if ops is not None:
        where.append(col(OutboxRow.op).in_(ops))
    ids = queue.claim(
        session,
        OUTBOX_QUEUE,
        now,
        limit=limit,
        where=where,
        owner=worker_id,
        lease=lease,
        max_attempts=max_attempts,
        spent_error="the worker stopped while carrying this row out ({attempts} attempts); "
        "retry it once the cause is fixed",
        spent_values={"last_outcome": "retryable"},
        on_spent=lambda spent: _emit_spent(session, spent, now),
    )
    if not ids:
        return []
    rows = session.scalars(
        select(OutboxRow).where(col(OutboxRow.id).in_(ids)).order_by(col(OutboxRow.id))
    ).all()
    for row in rows:
        # The claim wrote the lease with a bulk UPDATE that does not touch the rows this
        # session may already hold: reload them so the caller sees the lease it now has.
        session.refresh(row)
    return list(rows)


def complete_row(
    session: Session, row_id: int, worker_id: str, now: datetime, note: str | None = None
) -> bool:
    """Done (with an optional note such as "already in QuickBooks"); False if the lease was lost."""
    values = {
        **queue.release_values(OUTBOX_QUEUE, now),
        "status": OutboxStatus.DONE,
        "completed_at": now,
        "last_error": note,
        "last_outcome": "done",
    }
    return queue.settle(session, OUTBOX_QUEUE, row_id, values, owner=worker_id)


def start_rows(session: Session, row_ids: list[int], worker_id: str, now: datetime) -> int:
    """Count an attempt for rows this worker is about to send to the remote (still under its
    lease); how many were charged."""
    return queue.start(session, OUTBOX_QUEUE, row_ids, worker_id, now)


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
    outcome = {"last_outcome": str(error.outcome)}
    if isinstance(error, AuthExpiredError):
        values = {
            **queue.release_values(OUTBOX_QUEUE, now),
            "status": OutboxStatus.PAUSED,
            "attempts": max(0, row.attempts - 1),
            "last_error": message[: OUTBOX_QUEUE.error_limit],
            **outcome,
        }
        paused = queue.settle(session, OUTBOX_QUEUE, row.id or 0, values, owner=worker_id)
        return OutboxStatus.PAUSED if paused else None
    status = queue.fail(
        session,
        OUTBOX_QUEUE,
        row.id or 0,
        attempts=row.attempts,
        error=message,
        now=now,
        policy=replace(RETRY_POLICY, max_attempts=max_attempts),
        rng=rng,
        retry_after=error.retry_after if isinstance(error, RateLimitedError) else None,
        permanent=isinstance(error, RejectedError | NotFoundError),
        owner=worker_id,
        values=outcome,
    )
    if status == OutboxStatus.DEAD:
        _emit_dead(session, row, message, now)
    return None if status is None else OutboxStatus(status)


def _emit_spent(session: Session, row_ids: list[int], now: datetime) -> None:
    """`sync.failed` for rows that went dead at the claim (their workers kept dying)."""
    rows = session.scalars(select(OutboxRow).where(col(OutboxRow.id).in_(row_ids))).all()
    for row in rows:
        session.refresh(row)
        _emit_dead(session, row, row.last_error or "out of attempts", now)


def _emit_dead(session: Session, row: OutboxRow, message: str, now: datetime) -> None:
    """`sync.failed` to the partner's webhooks, in the transaction that made the row dead
    (docs/webhooks.md). A retried row that dies again is a new event (its attempts differ)."""
    connection = session.get(Connection, row.connection_id)
    data = {
        "outbox_row_id": str(row.id),
        "connection_id": row.connection_id,
        "provider": str(connection.provider) if connection is not None else "",
        "action": str(row.op),
        "subject": row.subject_id,
        "attempts": row.attempts,
        "error": message[:2000],
    }
    key = f"{row.id}:{now.isoformat()}"
    emit(session, row.partner_id, EventType.SYNC_FAILED, data, key=key, now=now)


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
    where: list[ColumnElement[bool]] = []
    if connection_id is not None:
        where.append(col(OutboxRow.connection_id) == connection_id)
    if partner_id is not None:
        where.append(col(OutboxRow.partner_id) == partner_id)
    revivable = (OutboxStatus.DEAD, OutboxStatus.PAUSED) if row_ids is not None else None
    return queue.retry(session, OUTBOX_QUEUE, now, ids=row_ids, statuses=revivable, where=where)


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
