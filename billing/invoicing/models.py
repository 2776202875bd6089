"""Invoices, their lines and usage, credit notes, number sequences and the billing event log.

What the database enforces (migration `0005`), so no code path can get it wrong:
- one live invoice per client and period (a partial unique index that ignores voided invoices,
  so a voided period can be billed again on purpose, while closing a cycle twice creates
  nothing);
- numbers unique per partner; allocated from `invoicing_sequence` in the issuing transaction;
- once issued, an invoice's amounts, number, dates, lines and usage rows never change (only its
  payment state, credited amount and void/uncollectible marks move); it cannot be deleted;
- credit notes, their lines and billing events are append-only.

Money is integer minor units of the row's currency; quantities and rates exact `Decimal` text.
Wholesale cost (`cost_minor`) is in the partner's currency (`cost_currency`) and is internal:
it never reaches a client-facing document.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from config.db_types import BigId, DecimalText, StrEnumType, UTCDateTime, utcnow

__all__ = [
    "ISSUED_STATES",
    "BillingEvent",
    "BillingEventKind",
    "ClientBillingSettings",
    "CreditNote",
    "CreditNoteLine",
    "Invoice",
    "InvoiceLine",
    "InvoiceLineKind",
    "InvoiceStatus",
    "InvoiceUsage",
    "NumberSequence",
    "SequenceKind",
]


class InvoiceStatus(enum.StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    ISSUED = "issued"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"


ISSUED_STATES = frozenset(
    {
        InvoiceStatus.ISSUED,
        InvoiceStatus.PARTIALLY_PAID,
        InvoiceStatus.PAID,
        InvoiceStatus.UNCOLLECTIBLE,
    }
)
"""Invoices that were issued and stand (not voided): their usage counts as billed."""


class InvoiceLineKind(enum.StrEnum):
    """Rating's line kinds plus the ones only invoices have."""

    BASE_FEE = "base_fee"
    USAGE = "usage"
    INCLUDED = "included"
    OVERAGE = "overage"
    MINIMUM_TRUE_UP = "minimum_true_up"
    DISCOUNT = "discount"
    TAX = "tax"
    PRIOR_PERIOD_ADJUSTMENT = "prior_period_adjustment"


class SequenceKind(enum.StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class BillingEventKind(enum.StrEnum):
    CLIENT_CHANGED = "client.changed"
    INVOICE_ISSUED = "invoice.issued"
    INVOICE_VOIDED = "invoice.voided"
    INVOICE_UNCOLLECTIBLE = "invoice.uncollectible"
    CREDIT_NOTE_ISSUED = "credit_note.issued"
    PAYMENT_RECORDED = "payment.recorded"


def _money(*, nullable: bool = False) -> Any:
    return Field(default=0, sa_column=Column(BigInteger, nullable=nullable, default=0))


class Invoice(SQLModel, table=True):
    """One client's bill for one period. `period_start` is the first day and `period_end` the
    last day included, in the client's time zone (what the invoice prints);
    `period_start_at` / `period_end_at` are the same period as UTC instants, end exclusive
    (what usage is selected with)."""

    __tablename__ = "invoice"
    __table_args__ = (
        ForeignKeyConstraint(
            ["partner_id", "client_id"], ["billing_client.partner_id", "billing_client.id"]
        ),
        UniqueConstraint("partner_id", "number", name="uq_invoice_number"),
        Index(
            "uq_invoice_client_period",
            "partner_id",
            "client_id",
            "period_start",
            unique=True,
            sqlite_where=text("status <> 'void'"),
            postgresql_where=text("status <> 'void'"),
        ),
        Index("ix_invoice_partner_status", "partner_id", "status", "period_start"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    partner_id: str = Field(
        sa_column=Column(String(64), ForeignKey("billing_partner.id"), nullable=False)
    )
    client_id: str = Field(max_length=64)
    number: str | None = Field(default=None, max_length=40)
    status: InvoiceStatus = Field(sa_column=Column(StrEnumType(InvoiceStatus, 16), nullable=False))
    currency: str = Field(max_length=3)
    period_start: date = Field(sa_column=Column(Date, nullable=False))
    period_end: date = Field(sa_column=Column(Date, nullable=False))
    period_start_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    period_end_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    timezone: str = Field(max_length=64)
    plan_name: str = Field(default="", max_length=200)
    subtotal_minor: int = _money()
    discount_minor: int = _money()
    tax_minor: int = _money()
    total_minor: int = _money()
    discount_percent: Decimal = Field(
        default=Decimal(0), sa_column=Column(DecimalText, nullable=False)
    )
    tax_name: str | None = Field(default=None, max_length=200)
    tax_percent: Decimal | None = Field(default=None, sa_column=Column(DecimalText))
    amount_paid_minor: int = _money()
    credited_minor: int = _money()
    cost_minor: int = _money()
    cost_currency: str = Field(max_length=3)
    auto_charge: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    watermark: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    usage_events: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))
    approved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    approved_by: str | None = Field(default=None, max_length=200)
    issued_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    issue_date: date | None = Field(default=None, sa_column=Column(Date))
    due_at: date | None = Field(default=None, sa_column=Column(Date))
    net_terms_days: int = Field(default=30, sa_column=Column(Integer, nullable=False))
    voided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    void_reason: str | None = Field(default=None, max_length=500)
    uncollectible_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    ledger_entry_id: int | None = Field(
        default=None, sa_column=Column(BigId, ForeignKey("ledger_entry.id"), nullable=True)
    )
    closing_entry_id: int | None = Field(
        default=None, sa_column=Column(BigId, ForeignKey("ledger_entry.id"), nullable=True)
    )
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False, default=1))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )

    @property
    def invoice_id(self) -> int:
        if self.id is None:
            raise ValueError("invoice has not been stored")
        return self.id

    @property
    def amount_due_minor(self) -> int:
        if self.status in (InvoiceStatus.VOID, InvoiceStatus.UNCOLLECTIBLE):
            return 0
        return self.total_minor - self.amount_paid_minor - self.credited_minor


class InvoiceLine(SQLModel, table=True):
    """One printed line. `quantity * unit_price` rounds (half-up, once) to `amount_minor`.
    `origin_period_start` is set on prior-period adjustments: the period the late usage is
    from; `adjusts` is the kind of that period's line the adjustment changes (usage, base fee,
    minimum-spend true-up or discount; None on other lines and on older adjustments, which
    were all usage). `cost_minor` (partner currency) is internal."""

    __tablename__ = "invoice_line"
    __table_args__ = (UniqueConstraint("invoice_id", "position"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    invoice_id: int = Field(
        sa_column=Column(BigId, ForeignKey("invoice.id"), nullable=False, index=True)
    )
    position: int = Field(sa_column=Column(Integer, nullable=False))
    kind: InvoiceLineKind = Field(
        sa_column=Column(StrEnumType(InvoiceLineKind, 32), nullable=False)
    )
    usage_type: str | None = Field(default=None, max_length=64)
    description: str = Field(max_length=500)
    quantity: Decimal = Field(sa_column=Column(DecimalText, nullable=False))
    unit_price: Decimal = Field(sa_column=Column(DecimalText, nullable=False))
    amount_minor: int = _money()
    cost_minor: int = _money()
    tier: int | None = Field(default=None, sa_column=Column(Integer))
    block_size: Decimal | None = Field(default=None, sa_column=Column(DecimalText))
    origin_period_start: date | None = Field(default=None, sa_column=Column(Date))
    adjusts: InvoiceLineKind | None = Field(
        default=None, sa_column=Column(StrEnumType(InvoiceLineKind, 32), nullable=True)
    )


class InvoiceUsage(SQLModel, table=True):
    """What an invoice billed of one usage type of one period, as a change to what earlier
    invoices billed of it: the invoice's own period (the whole quantity), or an earlier period
    (the late usage found since). Summed over the client's invoices that stand, these rows say
    how much of a period is billed, so late usage is billed once and never dropped.

    At issue, `unbilled_cleared_minor` / `cost_cleared_minor` record how much of the accrual
    (pricing's `AccrualState`) this invoice moved out of unbilled receivable / reconciled with
    the accrued wholesale cost; a later invoice clears only what has been accrued since."""

    __tablename__ = "invoice_usage"
    __table_args__ = (
        UniqueConstraint("invoice_id", "usage_type", "origin_period_start"),
        Index("ix_invoice_usage_client", "partner_id", "client_id", "origin_period_start"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    invoice_id: int = Field(sa_column=Column(BigId, ForeignKey("invoice.id"), nullable=False))
    partner_id: str = Field(max_length=64)
    client_id: str = Field(max_length=64)
    usage_type: str = Field(max_length=64)
    origin_period_start: date = Field(sa_column=Column(Date, nullable=False))
    quantity: Decimal = Field(sa_column=Column(DecimalText, nullable=False))
    total_quantity: Decimal = Field(sa_column=Column(DecimalText, nullable=False))
    charge_minor: int = _money()
    cost_minor: int = _money()
    events: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))
    watermark: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    unbilled_cleared_minor: int = _money()
    cost_cleared_minor: int = _money()


class NumberSequence(SQLModel, table=True):
    """The last number handed out per partner and kind. Incremented by one row-locking
    `UPDATE ... RETURNING` inside the issuing transaction: a rollback returns the number."""

    __tablename__ = "invoicing_sequence"

    partner_id: str = Field(
        sa_column=Column(String(64), ForeignKey("billing_partner.id"), primary_key=True)
    )
    kind: SequenceKind = Field(sa_column=Column(StrEnumType(SequenceKind, 16), primary_key=True))
    last_value: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))


class ClientBillingSettings(SQLModel, table=True):
    """Per-client invoicing preferences that override the partner's (None: inherit)."""

    __tablename__ = "invoicing_client_settings"
    __table_args__ = (
        ForeignKeyConstraint(
            ["partner_id", "client_id"], ["billing_client.partner_id", "billing_client.id"]
        ),
    )

    partner_id: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(primary_key=True, max_length=64)
    auto_approve: bool | None = Field(default=None, sa_column=Column(Boolean, nullable=True))


class CreditNote(SQLModel, table=True):
    """A correction of an issued invoice; issued (numbered, posted) when created."""

    __tablename__ = "credit_note"
    __table_args__ = (UniqueConstraint("partner_id", "number", name="uq_credit_note_number"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    partner_id: str = Field(
        sa_column=Column(String(64), ForeignKey("billing_partner.id"), nullable=False)
    )
    client_id: str = Field(max_length=64)
    invoice_id: int = Field(
        sa_column=Column(BigId, ForeignKey("invoice.id"), nullable=False, index=True)
    )
    number: str = Field(max_length=40)
    currency: str = Field(max_length=3)
    reason: str = Field(max_length=500)
    subtotal_minor: int = _money()
    discount_minor: int = _money()
    tax_minor: int = _money()
    total_minor: int = _money()
    issued_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    issue_date: date = Field(sa_column=Column(Date, nullable=False))
    ledger_entry_id: int | None = Field(
        default=None, sa_column=Column(BigId, ForeignKey("ledger_entry.id"), nullable=True)
    )
    created_by: str | None = Field(default=None, max_length=200)


class CreditNoteLine(SQLModel, table=True):
    """A credited amount (positive) of one invoice line; discount and tax shares are lines of
    kind `discount` (negative) and `tax`."""

    __tablename__ = "credit_note_line"
    __table_args__ = (UniqueConstraint("credit_note_id", "position"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    credit_note_id: int = Field(
        sa_column=Column(BigId, ForeignKey("credit_note.id"), nullable=False)
    )
    position: int = Field(sa_column=Column(Integer, nullable=False))
    invoice_line_id: int | None = Field(
        default=None, sa_column=Column(BigId, ForeignKey("invoice_line.id"), nullable=True)
    )
    kind: InvoiceLineKind = Field(
        sa_column=Column(StrEnumType(InvoiceLineKind, 32), nullable=False)
    )
    usage_type: str | None = Field(default=None, max_length=64)
    description: str = Field(max_length=500)
    quantity: Decimal = Field(sa_column=Column(DecimalText, nullable=False))
    unit_price: Decimal = Field(sa_column=Column(DecimalText, nullable=False))
    amount_minor: int = _money()


class BillingEvent(SQLModel, table=True):
    """The append-only log of changes the outside world must hear of, written in the same
    transaction as the change. The sync outbox reads it (billing never imports sync)."""

    __tablename__ = "billing_event"
    __table_args__ = (Index("ix_billing_event_partner", "partner_id", "id"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    partner_id: str = Field(
        sa_column=Column(String(64), ForeignKey("billing_partner.id"), nullable=False)
    )
    kind: BillingEventKind = Field(
        sa_column=Column(StrEnumType(BillingEventKind, 40), nullable=False)
    )
    subject_type: str = Field(max_length=40)
    subject_id: str = Field(max_length=120)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
