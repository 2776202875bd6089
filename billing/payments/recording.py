"""Recording money received: payments against invoices, and Stripe payouts to the bank.

Services never commit: the caller's unit of work does, so the payment row, its ledger entry,
the invoice's new paid amount and status, and the `payment.recorded` billing event land
together or not at all.

Decisions where the issue is silent:
- Overpayment is refused (`OverpaymentError` naming the amount and what is due). Stripe charges
  exactly what is due, QuickBooks and Xero apply at most the balance to an invoice (the rest is
  an unapplied credit there), so an overpayment reaching us is a mistake or the echo of a
  payment already recorded from another source; either way a person decides.
- Draft, approved, void and uncollectible invoices take no payments: the error names the
  invoice and its state.
- A replay (same partner, source, connection and external id) returns the stored payment with
  `created=False`; the same id with a different invoice, amount, currency or fee is an error
  naming that field. A fee missing from the first report (0) and brought by a later one is
  posted then, once (Dr Payment fees / Cr Cash, key `payment:{partner}:{id}:fee`); a later
  report without the fee is a plain replay.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from billing.invoicing.errors import InvoiceNotFoundError
from billing.invoicing.events import record_event
from billing.invoicing.models import BillingEventKind, Invoice, InvoiceStatus
from billing.invoicing.posting import AccountCodes
from billing.invoicing.repository import InvoiceRepository
from billing.invoicing.service import label
from billing.payments.errors import (
    DuplicateConflictError,
    InvalidPaymentError,
    OverpaymentError,
    PaymentStateError,
)
from billing.payments.models import Payment, PaymentMethod, PaymentSource, Payout
from billing.payments.posting import fee_entry, payment_entry, payout_entry
from billing.payments.repository import PaymentFilter, PaymentsRepository
from billing.payments.schemas import RecordedPayment, RecordedPayout
from billing.webhooks import EventType, emit
from billing.webhooks.events import invoice_data, payment_data
from config.db_types import utcnow
from config.money import currency_exponent
from ledger import post_entry

__all__ = [
    "check_amount",
    "check_moment",
    "check_text",
    "payment_payload",
    "payments_for_invoice",
    "record_payment",
    "record_payout",
    "settle",
]

_NO_PAYMENTS = {
    InvoiceStatus.DRAFT: "is a draft; issue it before recording payments",
    InvoiceStatus.APPROVED: "is approved but not issued; issue it before recording payments",
    InvoiceStatus.VOID: "is void; a void invoice takes no payments",
    InvoiceStatus.UNCOLLECTIBLE: "was written off as uncollectible; record a recovery by hand",
}


def check_amount(field: str, value: object, *, allow_zero: bool = False) -> int:
    if type(value) is not int:
        raise InvalidPaymentError(field, f"must be integer minor units, not {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise InvalidPaymentError(field, f"must be {'zero or ' if allow_zero else ''}positive")
    return value


def check_text(field: str, value: str | None, limit: int, *, required: bool = True) -> None:
    if value is None or not value.strip():
        if required:
            raise InvalidPaymentError(field, "must not be empty")
        return
    if len(value) > limit or "\x00" in value:
        raise InvalidPaymentError(field, f"must be at most {limit} characters, without NUL")


def check_moment(field: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidPaymentError(field, "must carry a time zone")


def settle(invoice: Invoice, moment: datetime) -> None:
    """The invoice's status from its figures: paid when nothing is due, partially paid while
    some payment stands, issued (open) otherwise. Void and written-off invoices keep theirs."""
    if invoice.status in (InvoiceStatus.VOID, InvoiceStatus.UNCOLLECTIBLE):
        return
    if invoice.amount_due_minor <= 0:
        status = InvoiceStatus.PAID
    elif invoice.amount_paid_minor > 0:
        status = InvoiceStatus.PARTIALLY_PAID
    else:
        status = InvoiceStatus.ISSUED
    invoice.status = status
    invoice.version += 1
    invoice.updated_at = moment


def payment_payload(payment: Payment, invoice: Invoice) -> dict[str, Any]:
    """What the sync outbox needs to push the payment to every other connection."""
    return {
        "payment_id": str(payment.id),
        "invoice_id": str(invoice.id),
        "invoice_number": invoice.number,
        "client": payment.client_id,
        "amount_minor": payment.amount_minor,
        "fee_minor": payment.fee_minor,
        "currency": payment.currency,
        "received_at": payment.received_at.isoformat(),
        "method": str(payment.method),
        "source": str(payment.source),
        "connection_id": payment.connection_id,
        "external_id": payment.external_id,
        "reference": payment.reference,
    }


def _same(existing: Payment, invoice_id: int, amount: int, currency: str, fee: int) -> None:
    for field, stored, given in (
        ("invoice_id", existing.invoice_id, invoice_id),
        ("amount_minor", existing.amount_minor, amount),
        ("currency", existing.currency, currency),
    ):
        if stored != given:
            raise DuplicateConflictError("payment", existing.external_id, field, stored, given)
    if fee and existing.fee_minor and fee != existing.fee_minor:
        raise DuplicateConflictError(
            "payment", existing.external_id, "fee_minor", existing.fee_minor, fee
        )


def _late_fee(session: Session, payment: Payment, fee: int, invoice: Invoice) -> None:
    """The fee of a payment first reported without one (Stripe's balance transaction was not
    known yet): posted once, as its own entry, when a later report brings it."""
    if fee > payment.amount_minor:
        raise InvalidPaymentError("fee_minor", "must not exceed the amount")
    payment.fee_minor = fee
    spec = fee_entry(AccountCodes(session, payment.partner_id), payment, invoice.number)
    post_entry(session, payment.partner_id, spec)
    session.add(payment)
    session.flush()


def record_payment(
    session: Session,
    *,
    partner_id: str,
    invoice_id: int,
    amount_minor: int,
    currency: str,
    source: PaymentSource,
    external_id: str,
    received_at: datetime,
    method: PaymentMethod = PaymentMethod.CARD,
    fee_minor: int = 0,
    connection_id: str | None = None,
    reference: str | None = None,
) -> RecordedPayment:
    """Record a payment once; see the module doc for what is refused."""
    check_amount("amount_minor", amount_minor)
    check_amount("fee_minor", fee_minor, allow_zero=True)
    if fee_minor > amount_minor:
        raise InvalidPaymentError("fee_minor", "must not exceed the amount")
    try:
        source, method = PaymentSource(source), PaymentMethod(method)
    except ValueError as exc:
        raise InvalidPaymentError("source/method", str(exc)) from exc
    check_text("external_id", external_id, 255)
    check_text("connection_id", connection_id, 64, required=False)
    check_text("reference", reference, 255, required=False)
    check_moment("received_at", received_at)
    currency_exponent(currency)
    repo = PaymentsRepository(session)
    invoice = repo.lock_invoice(partner_id, invoice_id)
    if invoice is None:
        raise InvoiceNotFoundError(str(invoice_id))
    existing = repo.payment_by_external(partner_id, source, connection_id or "", external_id)
    if existing is not None:
        _same(existing, invoice_id, amount_minor, currency.upper(), fee_minor)
        if fee_minor and not existing.fee_minor:
            _late_fee(session, existing, fee_minor, invoice)
        return RecordedPayment(existing, False)
    refusal = _NO_PAYMENTS.get(invoice.status)
    if refusal is not None:
        raise PaymentStateError(f"invoice {label(invoice)}", refusal)
    if currency.upper() != invoice.currency:
        raise InvalidPaymentError(
            "currency", f"{currency} differs from invoice {label(invoice)}'s {invoice.currency}"
        )
    if amount_minor > invoice.amount_due_minor:
        raise OverpaymentError(
            label(invoice), amount_minor, invoice.amount_due_minor, invoice.currency
        )
    payment = repo.add(
        Payment(
            partner_id=partner_id,
            invoice_id=invoice.invoice_id,
            client_id=invoice.client_id,
            currency=invoice.currency,
            amount_minor=amount_minor,
            fee_minor=fee_minor,
            method=method,
            source=source,
            connection_id=connection_id,
            connection_key=connection_id or "",
            external_id=external_id,
            reference=reference,
            received_at=received_at,
        )
    )
    codes = AccountCodes(session, partner_id)
    entry = post_entry(session, partner_id, payment_entry(codes, payment, invoice.number))
    payment.ledger_entry_id = entry.entry_id
    session.add(payment)
    invoice.amount_paid_minor += amount_minor
    settle(invoice, utcnow())
    session.add(invoice)
    session.flush()
    record_event(
        session,
        partner_id,
        BillingEventKind.PAYMENT_RECORDED,
        "payment",
        str(payment.id),
        payment_payload(payment, invoice),
    )
    emit_payment_events(session, partner_id, payment, invoice)
    return RecordedPayment(payment, True)


def emit_payment_events(session: Session, partner_id: str, payment: Payment, invoice: Any) -> None:
    """`payment.succeeded`, and `invoice.paid` when this payment settled the invoice, in the
    transaction that records the payment (docs/webhooks.md)."""
    moment = payment.created_at
    data = payment_data(payment, invoice)
    emit(session, partner_id, EventType.PAYMENT_SUCCEEDED, data, key=str(payment.id), now=moment)
    if invoice.status == InvoiceStatus.PAID:
        paid = invoice_data(invoice) | {"paid_at": payment.received_at.isoformat()}
        emit(session, partner_id, EventType.INVOICE_PAID, paid, key=str(invoice.id), now=moment)


def payments_for_invoice(session: Session, partner_id: str, invoice_id: int) -> list[Payment]:
    """Oldest first, refunded and disputed ones included (see their counters)."""
    return PaymentsRepository(session).payments(partner_id, PaymentFilter(invoice_id=invoice_id))


def record_payout(
    session: Session,
    *,
    partner_id: str,
    amount_minor: int,
    currency: str,
    external_id: str,
    arrived_at: datetime,
) -> RecordedPayout:
    """Stripe moved money to the partner's bank: Dr Bank / Cr Stripe clearing, once."""
    check_amount("amount_minor", amount_minor)
    check_text("external_id", external_id, 255)
    check_moment("arrived_at", arrived_at)
    currency_exponent(currency)
    currency = currency.upper()
    repo = PaymentsRepository(session)
    InvoiceRepository(session).claim_sqlite_writer()
    existing = repo.payout_by_external(partner_id, external_id)
    if existing is None:
        try:
            with session.begin_nested():
                payout = repo.add(
                    Payout(
                        partner_id=partner_id,
                        currency=currency,
                        amount_minor=amount_minor,
                        external_id=external_id,
                        arrived_at=arrived_at,
                    )
                )
        except IntegrityError:  # a concurrent delivery of the same payout won (PostgreSQL)
            existing = repo.payout_by_external(partner_id, external_id)
            if existing is None:
                raise
    if existing is not None:
        for field, stored, given in (
            ("amount_minor", existing.amount_minor, amount_minor),
            ("currency", existing.currency, currency),
        ):
            if stored != given:
                raise DuplicateConflictError("payout", external_id, field, stored, given)
        return RecordedPayout(existing, False)
    assert payout.id is not None
    spec = payout_entry(
        AccountCodes(session, partner_id),
        partner_id,
        payout.id,
        amount_minor,
        currency,
        arrived_at,
        external_id,
    )
    payout.ledger_entry_id = post_entry(session, partner_id, spec).entry_id
    session.add(payout)
    session.flush()
    return RecordedPayout(payout, True)
