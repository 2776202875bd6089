"""Every query of the work queue: enqueue, claim, lease, attempts, retry later, dead, retry by
hand. The four queues of Rebill (mail, Stripe charges, the sync outbox, scheduler runs) call
these and write no claiming SQL of their own.

Claiming is safe with any number of workers:
* PostgreSQL: `SELECT ... FOR UPDATE SKIP LOCKED`, so concurrent claimers take disjoint items
  without waiting on each other, then the lease is written in the same transaction;
* SQLite: the claiming transaction first takes the database's write lock (a no-op UPDATE on
  the queue's table; `BEGIN` is deferred, see config/db.py), so claims are serialised and
  the second claimer sees the first one's lease instead of failing with SQLITE_BUSY_SNAPSHOT.
The caller commits the claim at once and does its slow work (SMTP, Stripe, a connector)
outside any transaction: no database lock is held while a remote is called.

Transitions of a claimed item are guarded by its lease ("still mine": the leased status, the
owner, or the attempt number), so a worker whose lease ran out cannot overwrite what the
worker that took the item over decided.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Insert, and_, exists, or_, select, text, true, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from .models import QueueTable
from .policy import RetryPolicy

__all__ = [
    "claim",
    "claim_by_insert",
    "dead_values",
    "due_ids",
    "enqueue",
    "fail",
    "release_values",
    "retry",
    "settle",
    "start",
    "take_write_lock",
    "waiting_values",
]

Condition = ColumnElement[bool]


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _changed(result: object) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def take_write_lock(session: Session, queue: QueueTable) -> None:
    """On SQLite, start the transaction with the write lock (no row changes); no-op elsewhere."""
    if _dialect(session) == "sqlite":
        name = queue.table.name
        session.execute(text(f"UPDATE {name} SET {queue.id_column} = {queue.id_column} WHERE 0"))


def _due(queue: QueueTable, now: datetime) -> Condition:
    waiting = and_(queue.status.in_(queue.waiting), queue.next_attempt_at <= now)
    if queue.leased is None:
        return waiting
    lapsed = and_(queue.status == queue.leased, queue.lease_until <= now)
    return or_(waiting, lapsed)


def _not_blocked(queue: QueueTable) -> Condition:
    """No earlier item of the same subject is unfinished (per-subject ordering)."""
    if not queue.subject_columns:
        return true()
    earlier = queue.table.alias("earlier")
    same = [earlier.c[name] == queue.column(name) for name in queue.subject_columns]
    return ~exists().where(
        *same,
        earlier.c[queue.id_column] < queue.id,
        earlier.c.status.in_(queue.holds_back),
    )


def _order(queue: QueueTable) -> tuple[Any, ...]:
    """Subject-ordered queues go in id (arrival) order; the others soonest-due first."""
    if queue.subject_columns:
        return (queue.id,)
    return (queue.next_attempt_at, queue.id)


def due_ids(
    session: Session,
    queue: QueueTable,
    now: datetime,
    *,
    limit: int = 100,
    where: Sequence[Condition] = (),
) -> list[int]:
    """Ids of items due at `now` (a read; claim them one by one, another worker may win)."""
    query = (
        select(queue.id)
        .where(_due(queue, now), _not_blocked(queue), *where)
        .order_by(*_order(queue))
        .limit(limit)
    )
    return [int(item_id) for item_id in session.execute(query).scalars() if item_id is not None]


def claim(
    session: Session,
    queue: QueueTable,
    now: datetime,
    *,
    limit: int = 100,
    ids: Sequence[int] | None = None,
    where: Sequence[Condition] = (),
    owner: str | None = None,
    lease: timedelta | None = None,
    count_attempt: bool = False,
    max_attempts: int | None = None,
    spent_error: str = "the worker stopped while carrying this item out ({attempts} attempts); "
    "retry it once the cause is fixed",
    spent_values: dict[str, Any] | None = None,
    on_spent: Callable[[list[int]], object] | None = None,
) -> list[int]:
    """Lease up to `limit` due items (or those of `ids` still due) and return their ids in
    claim order (flushed, not committed: the caller commits at once).

    `count_attempt` counts the attempt now (queues whose work starts at once); others count
    it with `start` when the remote call begins. An item found with `max_attempts` already
    spent (its workers kept dying on it) goes dead with `spent_error` (its `{attempts}` filled
    in) and the domain's `spent_values` instead, and `on_spent` hears their ids (in the same
    transaction: a domain that reports dead items, such as partner webhooks, does it there)."""
    take_write_lock(session, queue)
    query = select(queue.id, queue.attempts).where(_due(queue, now), _not_blocked(queue), *where)
    if ids is not None:
        query = query.where(queue.id.in_(list(ids)))
    query = query.order_by(*_order(queue)).limit(limit)
    if _dialect(session) == "postgresql":
        query = query.with_for_update(skip_locked=True, of=queue.table)
    found = [(int(item_id), int(attempts)) for item_id, attempts in session.execute(query)]
    spent = [i for i, attempts in found if max_attempts is not None and attempts >= max_attempts]
    if spent:
        error = spent_error.format(attempts=max_attempts)
        dead = {**dead_values(queue, error, now), **(spent_values or {})}
        session.execute(
            update(queue.table)
            .where(queue.id.in_(spent))
            .values(dead)
            .execution_options(synchronize_session=False)
        )
        if on_spent is not None:
            on_spent(spent)
    claimed = [i for i, _ in found if i not in spent]
    if not claimed:
        return []
    values: dict[str, Any] = {queue.lease_column: now + (lease or queue.lease)}
    if queue.leased is not None:
        values["status"] = queue.leased
    if queue.owner_column is not None:
        values[queue.owner_column] = owner
    if queue.updated_column is not None:
        values[queue.updated_column] = now
    if count_attempt:
        values["attempts"] = queue.attempts + 1
    session.execute(
        update(queue.table)
        .where(queue.id.in_(claimed))
        .values(values)
        .execution_options(synchronize_session=False)
    )
    return claimed


def _mine(
    queue: QueueTable, item_ids: Sequence[int], owner: str | None, attempt: int | None
) -> list[Condition]:
    guard: list[Condition] = [queue.id.in_(list(item_ids))]
    if queue.leased is not None:
        guard.append(queue.status == queue.leased)
    if queue.owner_column is not None and owner is not None:
        guard.append(queue.column(queue.owner_column) == owner)
    if attempt is not None:
        guard.append(queue.attempts == attempt)
    return guard


def start(
    session: Session, queue: QueueTable, item_ids: Sequence[int], owner: str, now: datetime
) -> int:
    """Count an attempt for leased items this owner is about to carry out; how many were."""
    if not item_ids:
        return 0
    values: dict[str, Any] = {"attempts": queue.attempts + 1}
    if queue.updated_column is not None:
        values[queue.updated_column] = now
    result = session.execute(
        update(queue.table)
        .where(*_mine(queue, item_ids, owner, None))
        .values(values)
        .execution_options(synchronize_session=False)
    )
    return _changed(result)


def release_values(queue: QueueTable, now: datetime) -> dict[str, Any]:
    """The lease's columns cleared (the item is no longer held by anyone)."""
    values: dict[str, Any] = {}
    if queue.owner_column is not None:
        values[queue.owner_column] = None
    if queue.lease_column != "next_attempt_at":
        values[queue.lease_column] = None
    if queue.updated_column is not None:
        values[queue.updated_column] = now
    return values


def _error(queue: QueueTable, error: str | None) -> dict[str, Any]:
    if queue.error_column is None:
        return {}
    return {queue.error_column: None if error is None else error[: queue.error_limit]}


def dead_values(queue: QueueTable, error: str | None, now: datetime) -> dict[str, Any]:
    """The columns of an item that is dead: out of attempts or refused for good, its last
    error kept, not due any more (where the table allows no due time)."""
    values = {**release_values(queue, now), "status": queue.dead, **_error(queue, error)}
    if queue.next_attempt_at.nullable:
        values["next_attempt_at"] = None
    return values


def waiting_values(
    queue: QueueTable, error: str | None, at: datetime, now: datetime
) -> dict[str, Any]:
    """The columns of an item that failed and is tried again at `at` (the last waiting
    status: "failed, retrying")."""
    return {
        **release_values(queue, now),
        "status": queue.waiting[-1],
        "next_attempt_at": at,
        **_error(queue, error),
    }


def settle(
    session: Session,
    queue: QueueTable,
    item_id: int,
    values: dict[str, Any],
    *,
    owner: str | None = None,
    attempt: int | None = None,
) -> bool:
    """Write a claimed item's outcome (`values`), unless its lease was lost meanwhile."""
    result = session.execute(
        update(queue.table)
        .where(*_mine(queue, [item_id], owner, attempt))
        .values(values)
        .execution_options(synchronize_session=False)
    )
    return _changed(result) == 1


def fail(
    session: Session,
    queue: QueueTable,
    item_id: int,
    *,
    attempts: int,
    error: str,
    now: datetime,
    policy: RetryPolicy,
    rng: random.Random | None = None,
    retry_after: float | None = None,
    permanent: bool = False,
    owner: str | None = None,
    attempt: int | None = None,
    values: dict[str, Any] | None = None,
) -> str | None:
    """Apply the retry policy to a claimed item that failed its attempt number `attempts`:
    tried again after the backoff (never before `retry_after`), or dead when `permanent` or
    out of attempts. The new status, or None when the lease was lost. `values` adds
    columns of the domain (the outcome's class, say)."""
    if permanent or policy.exhausted(attempts):
        outcome = dead_values(queue, error, now)
    else:
        at = now + policy.delay(attempts, retry_after, rng)
        outcome = waiting_values(queue, error, at, now)
    outcome.update(values or {})
    if not settle(session, queue, item_id, outcome, owner=owner, attempt=attempt):
        return None
    return str(outcome["status"])


def retry(
    session: Session,
    queue: QueueTable,
    now: datetime,
    *,
    ids: Sequence[int] | None = None,
    statuses: Sequence[str] | None = None,
    where: Sequence[Condition] = (),
    clear_error: bool = False,
) -> int:
    """Retry by hand: dead items (or those in `statuses`) become due now with a fresh attempt
    budget, by id or every one matching `where`. How many were revived."""
    values: dict[str, Any] = {
        "status": queue.waiting[0],
        "attempts": 0,
        "next_attempt_at": now,
        **release_values(queue, now),
    }
    if clear_error:
        values.update(_error(queue, None))
    query = update(queue.table).where(queue.status.in_(list(statuses or (queue.dead,))), *where)
    if ids is not None:
        query = query.where(queue.id.in_(list(ids)))
    return _changed(
        session.execute(query.values(values).execution_options(synchronize_session=False))
    )


def enqueue(session: Session, item: object) -> bool:
    """Add an item (a model instance, or an INSERT statement) in the caller's transaction;
    False (and nothing added) when its key (a
    unique constraint of the table) is already queued: enqueueing is idempotent per key."""
    try:
        with session.begin_nested():
            if isinstance(item, Insert):
                session.execute(item)
            else:
                session.add(item)
    except IntegrityError:
        return False
    return True


def claim_by_insert(session: Session, item: object, *, lock_key: int) -> bool:
    """Claim a one-off occurrence by inserting its row: exactly one inserter of a key wins,
    on SQLite and PostgreSQL alike. On PostgreSQL a transaction-scoped advisory lock on
    `lock_key` is taken first, so a loser gives up at once instead of waiting on the
    winner's uncommitted row. The caller commits."""
    if _dialect(session) == "postgresql":
        locked = session.execute(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": lock_key}
        ).scalar_one()
        if not locked:
            return False
    return enqueue(session, item)
