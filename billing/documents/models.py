"""The mail outbox: one row per message to send, written in the caller's transaction.

The rendered message (MIME bytes, PDF included) is stored in the row rather than as a file
path: a rolled-back issue then leaves no mail behind, and a committed one can always be sent,
from any machine that reaches the database.

Statuses: `queued` (never tried), `failed` (tried, waiting for `next_attempt_at`), `sent`,
`dead` (permanently refused or out of attempts; `mail retry` revives it). `next_attempt_at` is
set exactly while the row still wants sending.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, LargeBinary, String, Text
from sqlmodel import Field, SQLModel

from config.db_types import BigId, StrEnumType, UTCDateTime, utcnow

__all__ = ["EmailStatus", "OutgoingEmail"]


class EmailStatus(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    DEAD = "dead"


class OutgoingEmail(SQLModel, table=True):
    __tablename__ = "outgoing_email"
    __table_args__ = (
        Index("ix_outgoing_email_due", "status", "next_attempt_at"),
        Index("ix_outgoing_email_related", "partner_id", "kind", "related_id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    partner_id: str = Field(
        sa_column=Column(String(64), ForeignKey("billing_partner.id"), nullable=False)
    )
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    related_id: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    to_address: str = Field(sa_column=Column(String(998), nullable=False))
    subject: str = Field(sa_column=Column(String(998), nullable=False))
    status: EmailStatus = Field(
        default=EmailStatus.QUEUED,
        sa_column=Column(StrEnumType(EmailStatus, 16), nullable=False),
    )
    attempts: int = Field(default=0, nullable=False)
    next_attempt_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    message_id: str = Field(sa_column=Column(String(998), nullable=False, unique=True))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
