"""The outbox (one row per remote action per connection) and the fan-out cursor.

A row is unique on (billing event, connection, op), so turning the billing event log into rows
twice creates nothing. `subject_id` is the ordering key (``invoice:42``, ``client:c1``): a row
is never claimed while an earlier row of the same connection and subject is unfinished, so a
void never overtakes its invoice and a credit note waits for the invoice it credits.
`our_id` is the object the row acts on (the credit note id for a credit note).
`connection_id` has no foreign key on purpose: the outbox is history and outlives connections.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from config.db_types import BigId, StrEnumType, UTCDateTime, utcnow

__all__ = ["OutboxOp", "OutboxRow", "OutboxStatus", "SyncCursor"]


class OutboxOp(enum.StrEnum):
    CUSTOMER_UPSERT = "customer.upsert"
    INVOICE_PUSH = "invoice.push"
    INVOICE_VOID = "invoice.void"
    CREDIT_NOTE_PUSH = "credit_note.push"
    PAYMENT_PUSH = "payment.push"  # subject: its invoice, so it waits for the invoice's push


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    DEAD = "dead"
    PAUSED = "paused"  # the connection needs the partner to re-authorise


# Rows that hold back later rows of the same subject. Dead counts: a void or credit note waits
# behind a dead push until the partner retries it, or the remote would end up with an open
# invoice we voided (the void finding nothing, then the retried push creating it).
UNFINISHED = (
    OutboxStatus.PENDING,
    OutboxStatus.IN_PROGRESS,
    OutboxStatus.PAUSED,
    OutboxStatus.DEAD,
)


class OutboxRow(SQLModel, table=True):
    __tablename__ = "sync_outbox"
    __table_args__ = (
        UniqueConstraint("billing_event_id", "connection_id", "op", name="uq_sync_outbox_event"),
        Index("ix_sync_outbox_due", "status", "next_attempt_at"),
        Index("ix_sync_outbox_subject", "connection_id", "subject_id", "id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    connection_id: str = Field(sa_column=Column(String(64), nullable=False))
    partner_id: str = Field(
        sa_column=Column(String(64), ForeignKey("billing_partner.id"), nullable=False)
    )
    billing_event_id: int = Field(
        sa_column=Column(BigId, ForeignKey("billing_event.id"), nullable=False)
    )
    op: OutboxOp = Field(sa_column=Column(StrEnumType(OutboxOp, 32), nullable=False))
    subject_id: str = Field(sa_column=Column(String(120), nullable=False))
    our_id: str = Field(sa_column=Column(String(120), nullable=False))
    status: OutboxStatus = Field(
        default=OutboxStatus.PENDING,
        sa_column=Column(StrEnumType(OutboxStatus, 16), nullable=False),
    )
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))
    next_attempt_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    locked_by: str | None = Field(default=None, sa_column=Column(String(100)))
    locked_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    last_outcome: str | None = Field(default=None, sa_column=Column(String(32)))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    completed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class SyncCursor(SQLModel, table=True):
    """Per connection: every billing event with id <= `last_event_id` has been fanned out.
    Created at the connection's first fan-out, starting after the events that existed when
    it connected."""

    __tablename__ = "sync_cursor"

    connection_id: str = Field(sa_column=Column(String(64), primary_key=True))
    partner_id: str = Field(sa_column=Column(String(64), nullable=False))
    last_event_id: int = Field(sa_column=Column(BigId, nullable=False))
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
