"""Worked examples: an invoice of 33.00 paid, part-paid, refunded, paid out and disputed, with
what each step does to the books (1000 Bank, 1050 Stripe clearing, 1200 Accounts receivable,
2200 Sales tax payable, 4900 Credit notes and refunds, 6100 Payment fees)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from billing.invoicing.closing import close_cycles
from billing.invoicing.models import BillingEvent, BillingEventKind, Invoice, InvoiceStatus
from billing.invoicing.repository import InvoiceRepository
from billing.invoicing.service import get_invoice, void_invoice
from billing.payments import (
    DuplicateConflictError,
    InvalidPaymentError,
    OverpaymentError,
    PaymentMethod,
    PaymentSource,
    PaymentStateError,
    payments_for_invoice,
    record_dispute,
    record_payment,
    record_payout,
    refund_payment,
)
from ledger import trial_balance
from tests.billing.invoicing.builders import balance, last_month, month_text
from tests.billing.payments.conftest import PAID_AT, legs


def _pay_by_card(session: Session, invoice: Invoice, amount: int = 3300, fee: int = 126) -> int:
    payment, created = record_payment(
        session,
        partner_id="acme",
        invoice_id=invoice.invoice_id,
        amount_minor=amount,
        currency="USD",
        source=PaymentSource.STRIPE,
        external_id="ch_1",
        received_at=PAID_AT,
        fee_minor=fee,
    )
    session.commit()
    assert created
    return payment.payment_id


def _events(session: Session, kind: BillingEventKind) -> list[BillingEvent]:
    return [e for e in InvoiceRepository(session).billing_events("acme") if e.kind is kind]


def test_card_payment_with_fee(session: Session, invoice: Invoice) -> None:
    payment_id = _pay_by_card(session, invoice)
    [payment] = payments_for_invoice(session, "acme", invoice.invoice_id)
    assert payment.id == payment_id
    # Dr Stripe clearing 33.00 / Cr AR 33.00; Dr fees 1.26 / Cr clearing 1.26.
    assert legs(session, payment.ledger_entry_id) == {
        "1050": 3300 - 126,
        "1200": -3300,
        "6100": 126,
    }
    assert balance(session, "1200") == 0
    assert balance(session, "1050") == 3300 - 126
    assert balance(session, "6100") == 126
    assert trial_balance(session, "acme").is_balanced
    paid = get_invoice(session, "acme", invoice.invoice_id)
    assert paid.status is InvoiceStatus.PAID and paid.amount_paid_minor == 3300
    [event] = _events(session, BillingEventKind.PAYMENT_RECORDED)
    assert event.payload == {
        "payment_id": str(payment_id),
        "invoice_id": str(invoice.id),
        "invoice_number": "ACME-000001",
        "client": "c1",
        "amount_minor": 3300,
        "fee_minor": 126,
        "currency": "USD",
        "received_at": PAID_AT.isoformat(),
        "method": "card",
        "source": "stripe",
        "connection_id": None,
        "external_id": "ch_1",
        "reference": None,
    }


def test_partial_bank_transfers_then_paid(session: Session, invoice: Invoice) -> None:
    def transfer(external_id: str, amount: int) -> Invoice:
        record_payment(
            session,
            partner_id="acme",
            invoice_id=invoice.invoice_id,
            amount_minor=amount,
            currency="USD",
            source=PaymentSource.ACCOUNTING,
            connection_id="qbo-1",
            external_id=external_id,
            received_at=PAID_AT,
            method=PaymentMethod.BANK_TRANSFER,
        )
        session.commit()
        return get_invoice(session, "acme", invoice.invoice_id)

    first = transfer("qb-pay-1", 1000)
    assert first.status is InvoiceStatus.PARTIALLY_PAID and first.amount_due_minor == 2300
    assert balance(session, "1000") == 1000 and balance(session, "1200") == 2300
    with pytest.raises(OverpaymentError, match="2300 still due on invoice ACME-000001"):
        transfer("qb-pay-2", 2301)
    session.rollback()
    rest = transfer("qb-pay-2", 2300)
    assert rest.status is InvoiceStatus.PAID and rest.amount_due_minor == 0
    assert balance(session, "1000") == 3300 and balance(session, "1200") == 0
    assert balance(session, "1050") == 0  # never through Stripe
    assert len(_events(session, BillingEventKind.PAYMENT_RECORDED)) == 2
    assert trial_balance(session, "acme").is_balanced


def test_replay_records_once_and_a_different_amount_is_refused(
    session: Session, invoice: Invoice
) -> None:
    _pay_by_card(session, invoice)
    _, created = record_payment(
        session,
        partner_id="acme",
        invoice_id=invoice.invoice_id,
        amount_minor=3300,
        currency="USD",
        source=PaymentSource.STRIPE,
        external_id="ch_1",
        received_at=PAID_AT + timedelta(hours=1),
        fee_minor=126,
    )
    session.commit()
    assert not created
    assert len(payments_for_invoice(session, "acme", invoice.invoice_id)) == 1
    assert len(_events(session, BillingEventKind.PAYMENT_RECORDED)) == 1
    assert balance(session, "1050") == 3300 - 126
    with pytest.raises(DuplicateConflictError, match="amount_minor: payment 'ch_1'") as info:
        record_payment(
            session,
            partner_id="acme",
            invoice_id=invoice.invoice_id,
            amount_minor=3000,
            currency="USD",
            source=PaymentSource.STRIPE,
            external_id="ch_1",
            received_at=PAID_AT,
            fee_minor=126,
        )
    assert info.value.field == "amount_minor"


def test_bad_input_names_the_field(session: Session, invoice: Invoice) -> None:
    base = {
        "partner_id": "acme",
        "invoice_id": invoice.invoice_id,
        "amount_minor": 100,
        "currency": "USD",
        "source": PaymentSource.MANUAL,
        "external_id": "r",
        "received_at": PAID_AT,
    }
    for change, field in (
        ({"amount_minor": 0}, "amount_minor"),
        ({"amount_minor": 1.5}, "amount_minor"),
        ({"fee_minor": 101}, "fee_minor"),
        ({"external_id": " "}, "external_id"),
        ({"currency": "EUR"}, "currency"),
        ({"received_at": PAID_AT.replace(tzinfo=None)}, "received_at"),
    ):
        with pytest.raises(InvalidPaymentError) as info:
            record_payment(session, **{**base, **change})  # type: ignore[arg-type]
        assert info.value.field == field


def test_refund_half_issues_a_credit_note(session: Session, invoice: Invoice) -> None:
    payment_id = _pay_by_card(session, invoice)
    refund, created, note = refund_payment(
        session,
        partner_id="acme",
        payment_id=payment_id,
        amount_minor=1650,
        external_id="re_1",
        refunded_at=PAID_AT + timedelta(days=2),
        reason="half the month",
        documents=False,
    )
    session.commit()
    assert created and note is not None
    # The credit note totals the refund to the cent: 15.00 credited + 1.50 VAT = 16.50.
    assert (note.subtotal_minor, note.tax_minor, note.total_minor) == (1500, 150, 1650)
    assert legs(session, note.ledger_entry_id) == {"4900": 1500, "2200": 150, "1200": -1650}
    # Money out: Dr AR / Cr Stripe clearing.
    assert legs(session, refund.ledger_entry_id) == {"1200": 1650, "1050": -1650}
    assert balance(session, "1200") == 0
    assert balance(session, "1050") == 3300 - 126 - 1650
    after = get_invoice(session, "acme", invoice.invoice_id)
    assert (after.amount_paid_minor, after.credited_minor) == (1650, 1650)
    assert after.status is InvoiceStatus.PAID and after.amount_due_minor == 0
    [event] = _events(session, BillingEventKind.CREDIT_NOTE_ISSUED)
    assert event.payload["total_minor"] == 1650
    # Replayed refund: nothing more.
    again = refund_payment(
        session,
        partner_id="acme",
        payment_id=payment_id,
        amount_minor=1650,
        external_id="re_1",
        refunded_at=PAID_AT,
        reason="replay",
        documents=False,
    )
    assert not again.created and again.credit_note is not None
    with pytest.raises(InvalidPaymentError, match="1650 left of payment"):
        refund_payment(
            session,
            partner_id="acme",
            payment_id=payment_id,
            amount_minor=1651,
            external_id="re_2",
            refunded_at=PAID_AT,
            reason="too much",
            documents=False,
        )
    assert trial_balance(session, "acme").is_balanced


def test_refund_after_a_full_credit_note_only_returns_money(
    session: Session, invoice: Invoice
) -> None:
    from billing.invoicing.credits import create_credit_note

    payment_id = _pay_by_card(session, invoice)
    create_credit_note(session, "acme", invoice.invoice_id, "goodwill", documents=False)
    session.commit()
    assert get_invoice(session, "acme", invoice.invoice_id).amount_due_minor == -3300
    result = refund_payment(
        session,
        partner_id="acme",
        payment_id=payment_id,
        amount_minor=3300,
        external_id="re_9",
        refunded_at=PAID_AT,
        reason="credit balance",
        documents=False,
    )
    session.commit()
    assert result.credit_note is None
    after = get_invoice(session, "acme", invoice.invoice_id)
    assert after.amount_due_minor == 0 and after.status is InvoiceStatus.PAID
    assert balance(session, "1200") == 0 and balance(session, "1050") == -126


def test_payout_moves_clearing_to_bank(session: Session, invoice: Invoice) -> None:
    _pay_by_card(session, invoice)
    payout, created = record_payout(
        session,
        partner_id="acme",
        amount_minor=3174,
        currency="USD",
        external_id="po_1",
        arrived_at=PAID_AT + timedelta(days=2),
    )
    session.commit()
    assert created
    assert legs(session, payout.ledger_entry_id) == {"1000": 3174, "1050": -3174}
    assert balance(session, "1050") == 0 and balance(session, "1000") == 3174
    replay = record_payout(
        session,
        partner_id="acme",
        amount_minor=3174,
        currency="usd",
        external_id="po_1",
        arrived_at=PAID_AT,
    )
    assert not replay.created and balance(session, "1000") == 3174
    with pytest.raises(DuplicateConflictError, match="amount_minor"):
        record_payout(
            session,
            partner_id="acme",
            amount_minor=3175,
            currency="USD",
            external_id="po_1",
            arrived_at=PAID_AT,
        )


def test_dispute_lost_reopens_the_invoice(session: Session, invoice: Invoice) -> None:
    payment_id = _pay_by_card(session, invoice)
    opened = PAID_AT + timedelta(days=10)
    for status in ("needs_response", "under_review", "lost", "under_review"):
        dispute, _ = record_dispute(
            session,
            partner_id="acme",
            payment_id=payment_id,
            amount_minor=3300,
            fee_minor=1500,
            external_id="dp_1",
            status=status,
            opened_at=opened,
        )
        session.commit()
    assert dispute.status == "lost"  # the late "under_review" changed nothing
    # Dr AR 33.00 / Cr clearing 33.00; Dr fees 15.00 / Cr clearing 15.00: posted once.
    assert legs(session, dispute.withdrawal_entry_id) == {"1200": 3300, "1050": -4800, "6100": 1500}
    assert balance(session, "1050") == 3300 - 126 - 3300 - 1500
    assert balance(session, "1200") == 3300 and balance(session, "6100") == 126 + 1500
    reopened = get_invoice(session, "acme", invoice.invoice_id)
    assert reopened.status is InvoiceStatus.ISSUED and reopened.amount_due_minor == 3300
    with pytest.raises(PaymentStateError, match="is lost; cannot become won"):
        record_dispute(
            session,
            partner_id="acme",
            payment_id=payment_id,
            amount_minor=3300,
            fee_minor=1500,
            external_id="dp_1",
            status="won",
            opened_at=opened,
        )
    assert trial_balance(session, "acme").is_balanced


def test_dispute_won_puts_everything_back(session: Session, invoice: Invoice) -> None:
    payment_id = _pay_by_card(session, invoice)
    opened = PAID_AT + timedelta(days=10)
    for status in ("needs_response", "won", "won"):
        dispute, _ = record_dispute(
            session,
            partner_id="acme",
            payment_id=payment_id,
            amount_minor=3300,
            fee_minor=1500,
            external_id="dp_2",
            status=status,
            opened_at=opened,
        )
        session.commit()
    assert not dispute.withdrawn and dispute.reinstatement_entry_id is not None
    assert legs(session, dispute.reinstatement_entry_id) == {
        "1200": -3300,
        "1050": 4800,
        "6100": -1500,
    }
    assert balance(session, "1050") == 3300 - 126 and balance(session, "1200") == 0
    back = get_invoice(session, "acme", invoice.invoice_id)
    assert back.status is InvoiceStatus.PAID and back.amount_paid_minor == 3300


def test_no_payment_on_a_void_or_draft_invoice(session: Session, invoice: Invoice) -> None:
    void_invoice(session, "acme", invoice.invoice_id, "wrong client")
    session.commit()
    with pytest.raises(PaymentStateError, match="invoice ACME-000001: is void"):
        record_payment(
            session,
            partner_id="acme",
            invoice_id=invoice.invoice_id,
            amount_minor=3300,
            currency="USD",
            source=PaymentSource.MANUAL,
            external_id="r1",
            received_at=PAID_AT,
        )
    session.rollback()
    close_cycles(session, "acme", period=month_text(last_month()), client_id="c2")
    session.commit()
    [draft_id] = InvoiceRepository(session).ids_with_status("acme", InvoiceStatus.DRAFT)
    draft = get_invoice(session, "acme", draft_id)
    with pytest.raises(PaymentStateError, match="is a draft"):
        record_payment(
            session,
            partner_id="acme",
            invoice_id=draft.invoice_id,
            amount_minor=100,
            currency="USD",
            source=PaymentSource.MANUAL,
            external_id="r2",
            received_at=PAID_AT,
        )


def test_a_fee_reported_later_is_posted_once(session: Session, invoice: Invoice) -> None:
    def report(fee: int) -> bool:
        _, created = record_payment(
            session,
            partner_id="acme",
            invoice_id=invoice.invoice_id,
            amount_minor=3300,
            currency="USD",
            source=PaymentSource.STRIPE,
            connection_id="acct_1",
            external_id="pi_7",
            received_at=PAID_AT,
            fee_minor=fee,
        )
        session.commit()
        return created

    assert report(0)  # payment_intent.succeeded: no balance transaction yet
    assert balance(session, "1050") == 3300 and balance(session, "6100") == 0
    assert not report(126)  # charge.succeeded with the fee
    assert not report(126) and not report(0)  # replays, with and without it
    assert balance(session, "1050") == 3300 - 126 and balance(session, "6100") == 126
    [payment] = payments_for_invoice(session, "acme", invoice.invoice_id)
    assert payment.fee_minor == 126
    with pytest.raises(DuplicateConflictError, match="fee_minor"):
        report(127)
    assert trial_balance(session, "acme").is_balanced


def test_a_refund_no_credit_note_can_match_reopens_the_amount(
    session: Session, invoice: Invoice
) -> None:
    payment_id = _pay_by_card(session, invoice)
    # With 10% VAT a credit note totals x + round(x / 10): 0.04 -> 0.04, 0.05 -> 0.06, so
    # none totals 0.05.
    refund, _, note = refund_payment(
        session,
        partner_id="acme",
        payment_id=payment_id,
        amount_minor=5,
        external_id="re_5",
        refunded_at=PAID_AT,
        reason="rounding",
        documents=False,
    )
    session.commit()
    assert note is None and refund.credit_note_id is None
    after = get_invoice(session, "acme", invoice.invoice_id)
    assert after.amount_due_minor == 5 and after.status is InvoiceStatus.PARTIALLY_PAID
    assert balance(session, "1200") == 5
    # 25.00 spans two lines: 22.73 credited + 2.27 VAT.
    _, _, note = refund_payment(
        session,
        partner_id="acme",
        payment_id=payment_id,
        amount_minor=2500,
        external_id="re_6",
        refunded_at=PAID_AT,
        reason="outage",
        documents=False,
    )
    session.commit()
    assert note is not None
    assert (note.subtotal_minor, note.tax_minor, note.total_minor) == (2273, 227, 2500)
    assert balance(session, "1200") == 5 and trial_balance(session, "acme").is_balanced
