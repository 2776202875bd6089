"""What the payment services hand back, and the JSON the API reads and writes."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from pydantic import BaseModel, Field

from billing.invoicing.models import CreditNote
from billing.payments.models import Dispute, Payment, PaymentMethod, Payout, Refund
from config.bounds import Day
from config.text import CheckedInput, Line

__all__ = [
    "PaymentIn",
    "PaymentPage",
    "PaymentRead",
    "RecordedDispute",
    "RecordedPayment",
    "RecordedPayout",
    "RecordedRefund",
    "payment_read",
]


class RecordedPayment(NamedTuple):
    """`created` is False when the same payment had been recorded before (a replay)."""

    payment: Payment
    created: bool


class RecordedRefund(NamedTuple):
    """`credit_note` is None when the refund was covered by a credit balance the invoice
    already had, or when no credit note reproduces the amount to the cent (see refunds)."""

    refund: Refund
    created: bool
    credit_note: CreditNote | None


class RecordedPayout(NamedTuple):
    payout: Payout
    created: bool


class RecordedDispute(NamedTuple):
    """`changed` is False for a replay, or for a status older than the one recorded."""

    dispute: Dispute
    changed: bool


class PaymentIn(CheckedInput):
    """A payment received outside Stripe (bank transfer, cheque, ...), recorded by hand."""

    amount: str = Field(
        pattern=r"^\d+(\.\d+)?$",
        description='Major units as a decimal string, e.g. "12.34" (never a float).',
        examples=["12.34"],
    )
    method: PaymentMethod = PaymentMethod.BANK_TRANSFER
    reference: Line = Field(
        min_length=1, max_length=255, description="The bank reference; unique per partner."
    )
    received_on: Day | None = Field(default=None, description="Defaults to today (UTC).")


class PaymentRead(BaseModel):
    id: int
    invoice_id: int
    invoice_number: str | None
    client: str
    currency: str
    amount_minor: int
    fee_minor: int
    refunded_minor: int
    disputed_minor: int
    method: str
    source: str
    connection_id: str | None
    external_id: str
    reference: str | None
    received_at: datetime


class PaymentPage(BaseModel):
    items: list[PaymentRead]
    next_cursor: str | None


def payment_read(payment: Payment, invoice_number: str | None) -> PaymentRead:
    return PaymentRead(
        id=payment.payment_id,
        invoice_id=payment.invoice_id,
        invoice_number=invoice_number,
        client=payment.client_id,
        currency=payment.currency,
        amount_minor=payment.amount_minor,
        fee_minor=payment.fee_minor,
        refunded_minor=payment.refunded_minor,
        disputed_minor=payment.disputed_minor,
        method=str(payment.method),
        source=str(payment.source),
        connection_id=payment.connection_id,
        external_id=payment.external_id,
        reference=payment.reference,
        received_at=payment.received_at,
    )
