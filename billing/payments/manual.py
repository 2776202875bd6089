"""Payments typed in by a person (CLI, API): a bank transfer or cheque the partner received.

The bank reference is the payment's external id (source `manual`), so entering the same
transfer twice records it once; the amount is given in major units as text (never a float) and
must be exact in the invoice currency's minor unit. A date without a time means midday in the
partner's time zone, so it stays the same calendar day in UTC reports for every zone up to
±12 h.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlmodel import Session

from billing.invoicing.service import get_invoice
from billing.payments.errors import InvalidPaymentError
from billing.payments.models import Payment, PaymentMethod, PaymentSource
from billing.payments.recording import record_payment
from billing.payments.repository import PaymentFilter, PaymentsRepository
from billing.payments.schemas import RecordedPayment
from billing.tenants.service import get_partner
from config.db_types import utcnow
from config.money import parse_major

__all__ = ["list_payments", "record_manual_payment"]


def record_manual_payment(
    session: Session,
    partner_id: str,
    invoice_key: str | int,
    *,
    amount: str,
    reference: str,
    method: PaymentMethod = PaymentMethod.BANK_TRANSFER,
    on: date | None = None,
) -> RecordedPayment:
    invoice = get_invoice(session, partner_id, invoice_key)
    try:
        amount_minor = parse_major(amount, invoice.currency, "amount")
    except ValueError as exc:
        raise InvalidPaymentError("amount", str(exc).removeprefix("amount: ")) from exc
    if on is None:
        received_at = utcnow()
    else:
        zone = ZoneInfo(get_partner(session, partner_id).timezone)
        received_at = datetime.combine(on, time(12), zone)
    return record_payment(
        session,
        partner_id=partner_id,
        invoice_id=invoice.invoice_id,
        amount_minor=amount_minor,
        currency=invoice.currency,
        source=PaymentSource.MANUAL,
        external_id=reference.strip(),
        received_at=received_at,
        method=method,
        reference=reference.strip(),
    )


def list_payments(
    session: Session,
    partner_id: str,
    *,
    invoice_key: str | None = None,
    client_id: str | None = None,
    after: int | None = None,
    limit: int | None = None,
) -> list[Payment]:
    invoice_id = None
    if invoice_key is not None:
        invoice_id = get_invoice(session, partner_id, invoice_key).invoice_id
    return PaymentsRepository(session).payments(
        partner_id,
        PaymentFilter(client_id=client_id, invoice_id=invoice_id),
        after=after,
        limit=limit,
    )
