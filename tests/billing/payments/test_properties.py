"""Property: whatever sequence of payments, refunds and disputes an invoice sees, the books
balance, receivable equals what is due on the invoice, and
amount_paid = sum(payments) - sum(refunds) - sum(disputed amounts withdrawn)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from billing.invoicing.models import Invoice, InvoiceStatus
from billing.invoicing.service import get_invoice
from billing.payments import (
    InvalidPaymentError,
    PaymentSource,
    record_dispute,
    record_payment,
    refund_payment,
)
from ledger import trial_balance
from tests.billing.invoicing.builders import balance
from tests.billing.payments.conftest import PAID_AT

_step = st.one_of(
    st.tuples(st.just("pay"), st.sampled_from(list(PaymentSource)), st.integers(1, 3300)),
    st.tuples(st.just("refund"), st.integers(0, 5), st.integers(1, 3300)),
    st.tuples(
        st.just("dispute"), st.integers(0, 5), st.sampled_from(["needs_response", "won", "lost"])
    ),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(_step, max_size=12))
def test_any_sequence_keeps_the_books_and_the_invoice_in_step(
    session: Session, invoice: Invoice, steps: list[tuple[str, object, object]]
) -> None:
    payments: list[int] = []
    paid = refunded = withdrawn = 0
    disputed: dict[int, str] = {}
    try:
        for n, (kind, a, b) in enumerate(steps):
            current = get_invoice(session, "acme", invoice.invoice_id)
            if kind == "pay":
                amount = min(int(b), current.amount_due_minor)  # type: ignore[call-overload]
                if amount <= 0:
                    continue
                fee = amount // 30 if a is PaymentSource.STRIPE else 0
                payment, _ = record_payment(
                    session,
                    partner_id="acme",
                    invoice_id=invoice.invoice_id,
                    amount_minor=amount,
                    currency="USD",
                    source=a,  # type: ignore[arg-type]
                    external_id=f"p{n}",
                    received_at=PAID_AT,
                    fee_minor=fee,
                )
                payments.append(payment.payment_id)
                paid += amount
            elif kind == "refund" and payments:
                payment_id = payments[int(a) % len(payments)]  # type: ignore[call-overload]
                try:
                    refund_payment(
                        session,
                        partner_id="acme",
                        payment_id=payment_id,
                        amount_minor=int(b),
                        external_id=f"r{n}",  # type: ignore[call-overload]
                        refunded_at=PAID_AT + timedelta(days=1),
                        reason="test",
                        documents=False,
                    )
                except InvalidPaymentError:
                    continue  # more than is left of the payment: refused, nothing written
                refunded += int(b)  # type: ignore[call-overload]
            elif kind == "dispute" and payments:
                payment_id = payments[int(a) % len(payments)]  # type: ignore[call-overload]
                status = str(b)
                before = disputed.get(payment_id)
                if before in ("won", "lost"):
                    continue
                from billing.payments.repository import PaymentsRepository

                payment = PaymentsRepository(session).payment("acme", payment_id)
                assert payment is not None
                amount = payment.net_minor if before is None else None
                if amount is not None and amount <= 0:
                    continue
                stored = record_dispute(
                    session,
                    partner_id="acme",
                    payment_id=payment_id,
                    amount_minor=amount
                    if amount is not None
                    else _dispute_amount(session, payment_id),
                    fee_minor=1500,
                    external_id=f"d{payment_id}",
                    status=status,
                    opened_at=PAID_AT + timedelta(days=5),
                )
                was_out = before in ("needs_response", "lost")
                now_out = stored.dispute.withdrawn
                withdrawn += stored.dispute.amount_minor * (int(now_out) - int(was_out))
                disputed[payment_id] = status
            current = get_invoice(session, "acme", invoice.invoice_id)
            assert current.amount_paid_minor == paid - refunded - withdrawn
            assert balance(session, "1200") == current.amount_due_minor
            assert trial_balance(session, "acme").is_balanced
            if current.amount_due_minor <= 0:
                assert current.status is InvoiceStatus.PAID
            elif current.amount_paid_minor > 0:
                assert current.status is InvoiceStatus.PARTIALLY_PAID
    finally:
        session.rollback()


def _dispute_amount(session: Session, payment_id: int) -> int:
    from billing.payments.repository import PaymentsRepository

    [dispute] = PaymentsRepository(session).disputes("acme", [payment_id])
    return dispute.amount_minor
