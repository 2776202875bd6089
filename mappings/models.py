"""The external-reference table: where each of our objects lives in each connected system.

One row per (connection, kind, our id): the remote id, its version (QuickBooks SyncToken, Xero
UpdatedDateUTC), the remote's document number, and the SHA-256 of the canonical spec we last
sent, so an unchanged customer or item is not sent again and a changed one is. The row is
written in the same transaction that completes the outbox row that created the object.
`connection_id` carries no foreign key: a connection's history stays readable after it is
removed.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from config.db_types import BigId, StrEnumType, UTCDateTime, utcnow

__all__ = ["ExternalRef", "RefKind"]


class RefKind(enum.StrEnum):
    CUSTOMER = "customer"
    ITEM = "item"
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    PAYMENT = "payment"
    # A create of this invoice was sent (or about to be) on this connection; its answer may
    # have been lost. No remote id (""). See `mappings.references.mark_attempted`.
    INVOICE_ATTEMPT = "invoice_attempt"


class ExternalRef(SQLModel, table=True):
    __tablename__ = "sync_external_ref"
    __table_args__ = (
        UniqueConstraint("connection_id", "kind", "our_id", name="uq_sync_external_ref"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    connection_id: str = Field(sa_column=Column(String(64), nullable=False))
    kind: RefKind = Field(sa_column=Column(StrEnumType(RefKind, 16), nullable=False))
    our_id: str = Field(sa_column=Column(String(120), nullable=False))
    remote_id: str = Field(sa_column=Column(String(200), nullable=False))
    remote_version: str | None = Field(default=None, sa_column=Column(String(200)))
    remote_number: str | None = Field(default=None, sa_column=Column(String(200)))
    sent_hash: str | None = Field(default=None, sa_column=Column(String(64)))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
