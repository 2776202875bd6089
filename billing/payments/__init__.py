"""Payments: money received against invoices (Stripe, accounting tools, by hand), refunds,
disputes and payouts, each recorded once, in the books and on the invoice.

This package's public API (the contract the Stripe and sync code is written against). The
services never commit: the caller's unit of work does.

- `record_payment`: a payment against an issued invoice, once per (partner, source, connection,
  external id); ledger entry, invoice paid amount and status, `payment.recorded` event.
- `refund_payment`: money back to the client, with a credit note for it.
- `record_payout`: Stripe clearing to the bank.
- `record_dispute`: a chargeback opened, lost or won.
- `payments_for_invoice`: what was paid on an invoice.
The rules (overpayment refused, states that take no payments, replays) are in
`billing.payments.recording` and `billing.payments.reversals`.
"""

from billing.payments.errors import (
    DuplicateConflictError,
    InvalidPaymentError,
    OverpaymentError,
    PaymentNotFoundError,
    PaymentsError,
    PaymentStateError,
)
from billing.payments.models import Dispute, Payment, PaymentMethod, PaymentSource, Payout, Refund
from billing.payments.recording import payments_for_invoice, record_payment, record_payout
from billing.payments.reversals import record_dispute, refund_payment
from billing.payments.schemas import (
    RecordedDispute,
    RecordedPayment,
    RecordedPayout,
    RecordedRefund,
)

__all__ = [
    "Dispute",
    "DuplicateConflictError",
    "InvalidPaymentError",
    "OverpaymentError",
    "Payment",
    "PaymentMethod",
    "PaymentNotFoundError",
    "PaymentSource",
    "PaymentStateError",
    "PaymentsError",
    "Payout",
    "RecordedDispute",
    "RecordedPayment",
    "RecordedPayout",
    "RecordedRefund",
    "Refund",
    "payments_for_invoice",
    "record_dispute",
    "record_payment",
    "record_payout",
    "refund_payment",
]
