"""The payments domain's entry points (the contract the Stripe and sync code is written
against). Services never commit: the caller's unit of work does.

- `record_payment`: a payment against an issued invoice, once per (partner, source, connection,
  external id); ledger entry, invoice paid amount and status, `payment.recorded` event.
- `refund_payment`: money back to the client, with a credit note for it.
- `record_payout`: Stripe clearing to the bank.
- `record_dispute`: a chargeback opened, lost or won.
- `payments_for_invoice`: what was paid on an invoice.
The decisions (overpayment refused, states that take no payments, replays) are in
`billing.payments.recording` and `billing.payments.reversals`.
"""

from __future__ import annotations

from billing.payments.models import Dispute, Payment, PaymentMethod, PaymentSource, Payout, Refund
from billing.payments.recording import (
    payment_payload,
    payments_for_invoice,
    record_payment,
    record_payout,
    settle,
)
from billing.payments.reversals import record_dispute, refund_payment
from billing.payments.schemas import (
    RecordedDispute,
    RecordedPayment,
    RecordedPayout,
    RecordedRefund,
)

__all__ = [
    "Dispute",
    "Payment",
    "PaymentMethod",
    "PaymentSource",
    "Payout",
    "RecordedDispute",
    "RecordedPayment",
    "RecordedPayout",
    "RecordedRefund",
    "Refund",
    "payment_payload",
    "payments_for_invoice",
    "record_dispute",
    "record_payment",
    "record_payout",
    "refund_payment",
    "settle",
]
