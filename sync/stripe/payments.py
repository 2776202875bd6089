"""A Stripe payment into our books, once: the same function for the charge path and for
webhooks, so whichever hears of a success first records it and the other finds it recorded
(`record_payment` is idempotent on the PaymentIntent id).

The amount is what Stripe charged and the fee what its balance transaction says; the moment
is the charge's creation time. A payment that cannot be recorded (the invoice was voided, or
already paid another way: an overpayment) is not hidden: the error is returned for the caller
to store and report, and nothing of it is written.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session

from billing.invoicing.errors import InvoiceNotFoundError
from billing.payments import record_payment
from billing.payments.errors import PaymentsError
from billing.payments.models import PaymentMethod, PaymentSource
from config.db_types import utcnow
from connectors.stripe import ChargeDetails
from sync.stripe.models import ChargeStatus
from sync.stripe.repository import charge_of_invoice

__all__ = ["PaymentFacts", "Recorded", "mark_charge_paid", "record_stripe_payment"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PaymentFacts:
    intent_id: str
    charge_id: str
    invoice_id: int
    amount_minor: int
    currency: str
    fee_minor: int
    received_at: datetime

    @classmethod
    def from_charge(cls, charge: ChargeDetails, invoice_id: int) -> PaymentFacts:
        return cls(
            intent_id=charge.payment_intent_id or charge.id,
            charge_id=charge.id,
            invoice_id=invoice_id,
            amount_minor=charge.amount_minor,
            currency=charge.currency,
            fee_minor=charge.fee.fee_minor if charge.fee else 0,
            received_at=datetime.fromtimestamp(charge.created, UTC),
        )


@dataclass(frozen=True, slots=True)
class Recorded:
    payment_id: int | None
    created: bool = False
    error: str | None = None


def record_stripe_payment(
    session: Session, account_id: str, partner_id: str, facts: PaymentFacts
) -> Recorded:
    """Record (or find) the payment in a savepoint; on a refusal nothing is written and the
    reason is returned. Caller commits."""
    try:
        with session.begin_nested():
            result = record_payment(
                session,
                partner_id=partner_id,
                invoice_id=facts.invoice_id,
                amount_minor=facts.amount_minor,
                currency=facts.currency,
                source=PaymentSource.STRIPE,
                external_id=facts.intent_id,
                received_at=facts.received_at,
                method=PaymentMethod.CARD,
                fee_minor=facts.fee_minor,
                connection_id=account_id,
                reference=facts.charge_id,
            )
    except (PaymentsError, InvoiceNotFoundError) as exc:
        log.error("stripe payment %s not recorded: %s", facts.intent_id, exc)
        return Recorded(
            None, error=f"charged at Stripe ({facts.intent_id}) but not recorded: {exc}"
        )
    payment_id = result.payment.id
    mark_charge_paid(session, facts.invoice_id, facts.intent_id, payment_id)
    return Recorded(payment_id, result.created)


def mark_charge_paid(
    session: Session, invoice_id: int, intent_id: str, payment_id: int | None
) -> None:
    """The invoice's charge row, if any, is settled by this payment."""
    row = charge_of_invoice(session, invoice_id)
    if row is None or row.status is ChargeStatus.SUCCEEDED:
        return
    row.status = ChargeStatus.SUCCEEDED
    row.payment_intent_id = intent_id
    row.payment_id = payment_id
    row.next_attempt_at = None
    row.updated_at = utcnow()
