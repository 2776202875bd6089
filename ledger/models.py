"""The books' tables: accounts, journal entries and their postings.

Every row carries `partner_id` (the tenant). Entries and postings are append-only; the database
refuses updates and deletes (see the `0001` migration) and refuses an entry whose postings do
not net to zero per currency. Postings are written first and their entry row last: the entry
row seals them, and once it exists no posting can be added to it.

A posting's dimensions are its client, usage type and service period: `service_period` is the
first day of the client's billing period that the amount belongs to (revenue, cost and the
receivables that carry them), whatever the entry's `effective_at`, so margins are read by
billing period in every time zone, and an invoice issued in December for November usage, or a
credit note for an earlier period, moves the period it concerns.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Date, ForeignKey, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from config.db_types import BigId, StrEnumType, UTCDateTime, utcnow

__all__ = ["Account", "AccountType", "JournalEntry", "NormalSide", "Posting"]


class AccountType(enum.StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    REVENUE = "revenue"
    EXPENSE = "expense"

    @property
    def default_normal_side(self) -> NormalSide:
        debit_normal = (AccountType.ASSET, AccountType.EXPENSE)
        return NormalSide.DEBIT if self in debit_normal else NormalSide.CREDIT


class NormalSide(enum.StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"

    @property
    def sign(self) -> int:
        """Multiply a signed (debit-positive) sum by this to read it on the normal side."""
        return 1 if self is NormalSide.DEBIT else -1


class Account(SQLModel, table=True):
    __tablename__ = "ledger_account"
    __table_args__ = (UniqueConstraint("partner_id", "code", "currency"),)

    id: int | None = Field(default=None, primary_key=True)
    partner_id: str = Field(max_length=64, index=True)
    code: str = Field(max_length=80)
    name: str = Field(max_length=200)
    type: AccountType = Field(sa_column=Column(StrEnumType(AccountType, 16), nullable=False))
    role: str | None = Field(default=None, max_length=40)
    currency: str = Field(max_length=3)
    client_id: str | None = Field(default=None, max_length=64)
    usage_type: str | None = Field(default=None, max_length=64)
    normal_side: NormalSide = Field(sa_column=Column(StrEnumType(NormalSide, 6), nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class JournalEntry(SQLModel, table=True):
    __tablename__ = "ledger_entry"
    __table_args__ = (
        UniqueConstraint("partner_id", "idempotency_key"),
        # At most one reversal per entry; partial, so ordinary entries add no index entry.
        Index(
            "uq_ledger_entry_reverses",
            "reverses_entry_id",
            unique=True,
            sqlite_where=text("reverses_entry_id IS NOT NULL"),
            postgresql_where=text("reverses_entry_id IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    partner_id: str = Field(max_length=64)
    idempotency_key: str = Field(max_length=200)
    body_hash: str = Field(max_length=64)
    effective_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    recorded_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    memo: str = Field(default="", max_length=500)
    source_type: str = Field(default="manual", max_length=40)
    source_id: str | None = Field(default=None, max_length=120)

    @property
    def entry_id(self) -> int:
        """The id of a stored entry (entries are only ever read back after insertion)."""
        if self.id is None:
            raise ValueError(f"entry {self.idempotency_key!r} has not been stored")
        return self.id

    reverses_entry_id: int | None = Field(
        default=None,
        sa_column=Column(BigId, ForeignKey("ledger_entry.id"), nullable=True),
    )


class Posting(SQLModel, table=True):
    __tablename__ = "ledger_posting"
    __table_args__ = (
        # Covers the seal check (balance per currency of one entry) without touching the table.
        Index("ix_ledger_posting_entry", "entry_id", "currency", "amount"),
        Index("ix_ledger_posting_balance", "partner_id", "account_id", "effective_at", "amount"),
        # Margins read revenue and cost by service period (migration 0015_service_period).
        Index(
            "ix_ledger_posting_period", "partner_id", "service_period", "account_id", "client_id"
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    entry_id: int = Field(
        sa_column=Column(
            BigId,
            ForeignKey("ledger_entry.id", deferrable=True, initially="DEFERRED"),
            nullable=False,
        )
    )
    partner_id: str = Field(max_length=64)
    account_id: int = Field(foreign_key="ledger_account.id")
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(max_length=3)
    client_id: str | None = Field(default=None, max_length=64)
    usage_type: str | None = Field(default=None, max_length=64)
    effective_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    service_period: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
