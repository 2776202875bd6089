"""The sync outbox as a work-queue table, and how its due rows are claimed (`workqueue` does
the claiming, `sync.repository.claim_due` asks it to; docs/work-queue.md).

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

from datetime import timedelta

from sqlmodel import Session

from sync.models import UNFINISHED, OutboxRow, OutboxStatus
from workqueue import QueueTable, table_of
from workqueue import repository as queue

__all__ = ["OUTBOX_QUEUE", "take_write_lock"]

OUTBOX_QUEUE = QueueTable(
    kind="sync_outbox",
    table=table_of(OutboxRow),
    waiting=(OutboxStatus.PENDING,),
    leased=OutboxStatus.IN_PROGRESS,
    dead=OutboxStatus.DEAD,
    lease_column="locked_until",
    owner_column="locked_by",
    subject_columns=("connection_id", "subject_id"),
    holds_back=UNFINISHED,
    lease=timedelta(minutes=5),
    updated_column="updated_at",
)


def take_write_lock(session: Session) -> None:
    """On SQLite, start the transaction with the write lock (no row changes); no-op elsewhere."""
    queue.take_write_lock(session, OUTBOX_QUEUE)
