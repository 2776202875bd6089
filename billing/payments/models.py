"""Payments, refunds, payouts and disputes: money that moved, as reported by its source.

Each row is keyed by the id its source gave it (a Stripe charge, refund, payout or dispute id, a
QuickBooks / Xero payment id, or a reference typed in by hand), unique per partner, so a webhook
replay or a read-back of something already recorded finds the row instead of adding one.
Payments are scoped by source and connection as well: two accounting connections may both use
small integer ids. `connection_key` is `connection_id` or "" (NULLs never collide in a unique
constraint, "" does).

Money is integer minor units of the row's currency (the invoice's currency for payments).
`refunded_minor` and `disputed_minor` on a payment move as refunds and disputes are recorded;
every other column is written once.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from config.db_types import BigId, StrEnumType, UTCDateTime, utcnow

__all__ = [
    "DISPUTE_STATUSES",
    "FUNDS_WITHDRAWN",
    "Dispute",
    "Payment",
    "PaymentMethod",
    "PaymentSource",
    "Payout",
    "Refund",
]


class PaymentMethod(enum.StrEnum):
    CARD = "card"
    BANK_TRANSFER = "bank_transfer"
    OTHER = "other"


class PaymentSource(enum.StrEnum):
    """Where we heard of the payment; decides the cash account (Stripe clearing or Bank)."""

    STRIPE = "stripe"
    ACCOUNTING = "accounting"
    MANUAL = "manual"


DISPUTE_STATUSES = frozenset(
    {
        "warning_needs_response",
        "warning_under_review",
        "warning_closed",
        "needs_response",
        "under_review",
        "won",
        "lost",
    }
)
"""Stripe's dispute statuses. `warning_*` are inquiries: no money moves."""

FUNDS_WITHDRAWN = frozenset({"needs_response", "under_review", "lost"})
"""Statuses in which the disputed amount (and the fee) has left Stripe clearing."""


def _money() -> Any:
    return Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))


def _partner() -> Any:
    return Field(sa_column=Column(String(64), ForeignKey("billing_partner.id"), nullable=False))


class Payment(SQLModel, table=True):
    __tablename__ = "billing_payment"
    __table_args__ = (
        UniqueConstraint(
            "partner_id", "source", "connection_key", "external_id", name="uq_billing_payment_ext"
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    partner_id: str = _partner()
    invoice_id: int = Field(
        sa_column=Column(BigId, ForeignKey("invoice.id"), nullable=False, index=True)
    )
    client_id: str = Field(max_length=64)
    currency: str = Field(max_length=3)
    amount_minor: int = _money()
    fee_minor: int = _money()
    method: PaymentMethod = Field(sa_column=Column(StrEnumType(PaymentMethod, 16), nullable=False))
    source: PaymentSource = Field(sa_column=Column(StrEnumType(PaymentSource, 16), nullable=False))
    connection_id: str | None = Field(default=None, max_length=64)
    connection_key: str = Field(default="", max_length=64)
    external_id: str = Field(max_length=255)
    reference: str | None = Field(default=None, max_length=255)
    received_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    refunded_minor: int = _money()
    disputed_minor: int = _money()
    ledger_entry_id: int | None = Field(
        default=None, sa_column=Column(BigId, ForeignKey("ledger_entry.id"), nullable=True)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )

    @property
    def payment_id(self) -> int:
        if self.id is None:
            raise ValueError("payment has not been stored")
        return self.id

    @property
    def net_minor(self) -> int:
        """What the payment still counts for on its invoice."""
        return self.amount_minor - self.refunded_minor - self.disputed_minor


class Refund(SQLModel, table=True):
    __tablename__ = "billing_refund"
    __table_args__ = (UniqueConstraint("partner_id", "external_id", name="uq_billing_refund_ext"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    partner_id: str = _partner()
    payment_id: int = Field(
        sa_column=Column(BigId, ForeignKey("billing_payment.id"), nullable=False, index=True)
    )
    invoice_id: int = Field(sa_column=Column(BigId, ForeignKey("invoice.id"), nullable=False))
    currency: str = Field(max_length=3)
    amount_minor: int = _money()
    external_id: str = Field(max_length=255)
    reason: str = Field(max_length=500)
    refunded_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    credit_note_id: int | None = Field(
        default=None, sa_column=Column(BigId, ForeignKey("credit_note.id"), nullable=True)
    )
    ledger_entry_id: int | None = Field(
        default=None, sa_column=Column(BigId, ForeignKey("ledger_entry.id"), nullable=True)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Payout(SQLModel, table=True):
    __tablename__ = "billing_payout"
    __table_args__ = (UniqueConstraint("partner_id", "external_id", name="uq_billing_payout_ext"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    partner_id: str = _partner()
    currency: str = Field(max_length=3)
    amount_minor: int = _money()
    external_id: str = Field(max_length=255)
    arrived_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    ledger_entry_id: int | None = Field(
        default=None, sa_column=Column(BigId, ForeignKey("ledger_entry.id"), nullable=True)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Dispute(SQLModel, table=True):
    """A chargeback on a payment. `withdrawn` says whether the disputed amount is out of Stripe
    clearing right now (posted by `withdrawal_entry_id`, put back by `reinstatement_entry_id`)."""

    __tablename__ = "billing_dispute"
    __table_args__ = (UniqueConstraint("partner_id", "external_id", name="uq_billing_dispute_ext"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    partner_id: str = _partner()
    payment_id: int = Field(
        sa_column=Column(BigId, ForeignKey("billing_payment.id"), nullable=False, index=True)
    )
    invoice_id: int = Field(sa_column=Column(BigId, ForeignKey("invoice.id"), nullable=False))
    currency: str = Field(max_length=3)
    amount_minor: int = _money()
    fee_minor: int = _money()
    external_id: str = Field(max_length=255)
    status: str = Field(max_length=32)
    opened_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    withdrawn: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    withdrawal_entry_id: int | None = Field(
        default=None, sa_column=Column(BigId, ForeignKey("ledger_entry.id"), nullable=True)
    )
    reinstatement_entry_id: int | None = Field(
        default=None, sa_column=Column(BigId, ForeignKey("ledger_entry.id"), nullable=True)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
