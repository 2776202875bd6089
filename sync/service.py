"""Fan-out (billing event log → outbox rows per connection), status and backfill.

The billing event log is written in the transaction that issues, voids or credits an invoice
or changes a client, so an event exists exactly when its change does. `fan_out` turns the
events after each connection's cursor into outbox rows, idempotently (the unique key on
(event, connection, op) with ON CONFLICT DO NOTHING), in the caller's transaction.

A connection sees only its partner's events created after it was connected; older invoices
are pushed on request with `backfill` (`python main.py sync backfill --connection C --since
DATE`), which adds rows for their issue events.

The cursor and concurrent writers: on PostgreSQL ids come from a sequence, so a transaction
still in flight may hold a smaller id than one already committed. The cursor therefore only
moves past events that are settled (created before `now - settle` and before the start of the
oldest write transaction still running, less the same margin); events after it are looked at
again next time, which costs nothing because rows are inserted idempotently. On SQLite, a
single writer at a time, ids are committed in order and the cursor follows at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session

from billing.invoicing.models import BillingEvent, BillingEventKind
from config.db_types import utcnow
from sync.claims import take_write_lock
from sync.connections import FANNED_OUT_STATUSES, ConnectionSummary, connection_summaries
from sync.fanout_repository import (
    cursor_of,
    ensure_cursor,
    events_after,
    events_of_kinds_since,
    insert_outbox_rows_ignoring_existing,
    last_event_id_before,
    oldest_open_write_started_at,
    save_cursor,
)
from sync.models import OutboxOp, OutboxStatus, SyncCursor

__all__ = ["FanOutResult", "backfill", "fan_out", "rows_for_event"]

_SCAN = 5000  # events per connection per call


@dataclass
class FanOutResult:
    rows_created: int = 0
    events_seen: int = 0


def rows_for_event(
    event: BillingEvent, connection_id: str | None = None
) -> list[tuple[OutboxOp, str, str]]:
    """(op, subject, our id) for one event on one connection; events with no remote action
    give none. A payment is pushed to every connection except the one it was read back from
    (it is already there), ordered behind its invoice's push."""
    payload: dict[str, Any] = event.payload or {}
    if event.kind is BillingEventKind.CLIENT_CHANGED:
        return [(OutboxOp.CUSTOMER_UPSERT, f"client:{event.subject_id}", event.subject_id)]
    if event.kind is BillingEventKind.INVOICE_ISSUED:
        return [(OutboxOp.INVOICE_PUSH, f"invoice:{event.subject_id}", event.subject_id)]
    if event.kind is BillingEventKind.INVOICE_VOIDED:
        return [(OutboxOp.INVOICE_VOID, f"invoice:{event.subject_id}", event.subject_id)]
    if event.kind is BillingEventKind.CREDIT_NOTE_ISSUED:
        # Ordered behind the invoice it credits.
        invoice_id = str(payload.get("invoice_id", ""))
        return [(OutboxOp.CREDIT_NOTE_PUSH, f"invoice:{invoice_id}", event.subject_id)]
    if event.kind is BillingEventKind.PAYMENT_RECORDED:
        if connection_id is not None and payload.get("connection_id") == connection_id:
            return []
        invoice_id = str(payload.get("invoice_id", ""))
        return [(OutboxOp.PAYMENT_PUSH, f"invoice:{invoice_id}", event.subject_id)]
    return []


def _watermark(session: Session, now: datetime, settle: timedelta) -> datetime | None:
    """Events created before this instant are all visible (None: no limit, SQLite)."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    oldest = oldest_open_write_started_at(session)
    mark = now - settle
    if isinstance(oldest, datetime):
        mark = min(mark, oldest - settle)
    return mark


def _cursor(session: Session, connection: ConnectionSummary) -> SyncCursor:
    cursor = cursor_of(session, connection.id)
    if cursor is None:
        start = last_event_id_before(session, connection.partner_id, connection.created_at)
        cursor = ensure_cursor(
            session,
            SyncCursor(
                connection_id=connection.id,
                partner_id=connection.partner_id,
                last_event_id=int(start or 0),
            ),
        )
    return cursor


def _row(
    connection: ConnectionSummary,
    event: BillingEvent,
    op: OutboxOp,
    subject: str,
    our_id: str,
    now: datetime,
) -> dict[str, Any]:
    return {
        "connection_id": connection.id,
        "partner_id": connection.partner_id,
        "billing_event_id": event.id,
        "op": op.value,
        "subject_id": subject,
        "our_id": our_id,
        "status": OutboxStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }


def fan_out(
    session: Session,
    *,
    now: datetime | None = None,
    settle: timedelta = timedelta(seconds=60),
    connections: list[ConnectionSummary] | None = None,
) -> FanOutResult:
    """Outbox rows for every event each connection has not seen yet (caller commits)."""
    moment = now or utcnow()
    take_write_lock(session)
    result = FanOutResult()
    targets = (
        connections
        if connections is not None
        else connection_summaries(session, statuses=FANNED_OUT_STATUSES)
    )
    mark = _watermark(session, moment, settle)
    for connection in targets:
        cursor = _cursor(session, connection)
        events = events_after(session, connection.partner_id, cursor.last_event_id, _SCAN)
        result.events_seen += len(events)
        rows = [
            _row(connection, event, op, subject, our_id, moment)
            for event in events
            for op, subject, our_id in rows_for_event(event, connection.id)
        ]
        result.rows_created += insert_outbox_rows_ignoring_existing(session, rows)
        settled = cursor.last_event_id
        for event in events:
            if mark is not None and event.created_at >= mark:
                break
            settled = event.id or settled
        if settled != cursor.last_event_id:
            cursor.last_event_id = settled
            cursor.updated_at = moment
            save_cursor(session, cursor)
    session.flush()
    return result


def backfill(
    session: Session, connection: ConnectionSummary, since: date, *, now: datetime | None = None
) -> int:
    """Rows for the partner's invoices issued since `since` (and their voids and credit
    notes), which a connection made later does not see; idempotent, caller commits."""
    moment = now or utcnow()
    take_write_lock(session)
    start = datetime.combine(since, time.min, tzinfo=moment.tzinfo)
    kinds = (
        BillingEventKind.INVOICE_ISSUED,
        BillingEventKind.INVOICE_VOIDED,
        BillingEventKind.CREDIT_NOTE_ISSUED,
    )
    events = events_of_kinds_since(session, connection.partner_id, kinds, start)
    rows = [
        _row(connection, event, op, subject, our_id, moment)
        for event in events
        for op, subject, our_id in rows_for_event(event)
    ]
    return insert_outbox_rows_ignoring_existing(session, rows)
