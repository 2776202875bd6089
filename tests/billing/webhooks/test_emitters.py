"""Each event type is emitted by the real code path that causes it, in the same transaction:
a committed change has exactly one event (and one delivery per endpoint), a rolled-back change
none. Every payload validates against its type's JSON Schema."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, select

from billing.invoicing.closing import close_cycles
from billing.invoicing.credits import create_credit_note
from billing.invoicing.issuing import issue_invoices
from billing.invoicing.models import InvoiceStatus
from billing.invoicing.repository import InvoiceRepository
from billing.invoicing.service import approve_invoices, void_invoice
from billing.payments.manual import record_manual_payment
from billing.webhooks import EventType
from tests.billing.invoicing.builders import (
    SIMPLE,
    at,
    close_and_issue,
    last_month,
    month_text,
    run_accrual,
    send,
    setup_partner,
)
from tests.billing.webhooks.emitted import emitted, subscribe


@pytest.fixture
def month(session: Session) -> date:
    setup_partner(session, SIMPLE)
    subscribe(session, "acme")
    month = last_month()
    send(session, [("v1", "c1", "voice", "100", at(month, 2))])
    run_accrual(session)
    return month


def test_closing_a_cycle_emits_invoice_drafted(session: Session, month: date) -> None:
    close_cycles(session, "acme", period=month_text(month), client_id="c1")
    session.commit()
    [body] = emitted(session, EventType.INVOICE_DRAFTED)
    data = body["data"]
    assert data["client_id"] == "c1" and data["number"] is None
    assert data["status"] == "draft"
    assert data["total_minor"] == 3300 and data["currency"] == "USD"


def test_a_rolled_back_close_emits_nothing(session: Session, month: date) -> None:
    close_cycles(session, "acme", period=month_text(month), client_id="c1")
    session.rollback()
    assert emitted(session, EventType.INVOICE_DRAFTED) == []


def test_issuing_emits_invoice_issued_once(session: Session, month: date) -> None:
    [invoice] = close_and_issue(session, month, client_id="c1")
    [body] = emitted(session, EventType.INVOICE_ISSUED)
    assert body["type"] == "invoice.issued" and body["version"] == 1
    data = body["data"]
    assert data["invoice_id"] == str(invoice.id)
    assert data["number"] == invoice.number == "ACME-000001"
    assert data["total_minor"] == 3300 and data["tax_minor"] == 300
    assert data["amount_due_minor"] == 3300 and data["due_at"] is not None


def test_a_rolled_back_issue_emits_nothing(session: Session, month: date) -> None:
    close_cycles(session, "acme", period=month_text(month), client_id="c1")
    approve_invoices(session, "acme", by="test")
    session.commit()
    ids = InvoiceRepository(session).ids_with_status("acme", InvoiceStatus.APPROVED)
    issue_invoices(session, "acme", ids, documents=False)
    session.rollback()
    assert emitted(session, EventType.INVOICE_ISSUED) == []


def test_void_emits_invoice_voided(session: Session, month: date) -> None:
    [invoice] = close_and_issue(session, month, client_id="c1")
    void_invoice(session, "acme", str(invoice.number), "wrong client")
    session.commit()
    [body] = emitted(session, EventType.INVOICE_VOIDED)
    assert body["data"]["reason"] == "wrong client"
    assert body["data"]["status"] == "void"


def test_a_credit_note_emits_credit_note_issued_and_a_full_credit_invoice_paid(
    session: Session, month: date
) -> None:
    [invoice] = close_and_issue(session, month, client_id="c1")
    create_credit_note(session, "acme", str(invoice.number), "goodwill", documents=False)
    session.commit()
    [body] = emitted(session, EventType.CREDIT_NOTE_ISSUED)
    data = body["data"]
    assert data["invoice_number"] == invoice.number and data["total_minor"] == 3300
    assert data["reason"] == "goodwill" and data["currency"] == "USD"
    [paid] = emitted(session, EventType.INVOICE_PAID)
    assert paid["data"]["amount_due_minor"] == 0


def test_payments_emit_payment_succeeded_and_the_settling_one_invoice_paid(
    session: Session, month: date
) -> None:
    [invoice] = close_and_issue(session, month, client_id="c1")
    record_manual_payment(session, "acme", str(invoice.number), amount="10.00", reference="T-1")
    session.commit()
    assert emitted(session, EventType.INVOICE_PAID) == []
    record_manual_payment(session, "acme", str(invoice.number), amount="23.00", reference="T-2")
    session.commit()
    payments = emitted(session, EventType.PAYMENT_SUCCEEDED)
    assert [p["data"]["amount_minor"] for p in payments] == [1000, 2300]
    assert [p["data"]["invoice_amount_due_minor"] for p in payments] == [2300, 0]
    assert payments[0]["data"]["invoice_number"] == invoice.number
    [paid] = emitted(session, EventType.INVOICE_PAID)
    assert paid["data"]["status"] == "paid" and paid["data"]["amount_paid_minor"] == 3300


def test_a_rolled_back_payment_emits_nothing(session: Session, month: date) -> None:
    [invoice] = close_and_issue(session, month, client_id="c1")
    record_manual_payment(session, "acme", str(invoice.number), amount="33.00", reference="T-1")
    session.rollback()
    assert emitted(session, EventType.PAYMENT_SUCCEEDED) == []
    assert emitted(session, EventType.INVOICE_PAID) == []


def test_only_subscribed_types_are_stored(session: Session) -> None:
    setup_partner(session, SIMPLE)
    subscribe(session, "acme", EventType.INVOICE_VOIDED)
    month = last_month()
    send(session, [("v1", "c1", "voice", "100", at(month, 2))])
    run_accrual(session)
    close_and_issue(session, month, client_id="c1")
    assert emitted(session, EventType.INVOICE_ISSUED) == []


def test_a_margin_alert_emits_client_margin_alert_once_per_client_and_period(
    session: Session,
) -> None:
    from billing.margins.alerts import send_alerts
    from tests.billing.margins.test_alerts import OCTOBER_20, _october
    from tests.billing.margins.world import PARTNER

    _october(session)
    subscribe(session, PARTNER, EventType.CLIENT_MARGIN_ALERT)
    run = send_alerts(session, PARTNER, OCTOBER_20, base_url="https://rebill.example")
    session.commit()
    bodies = emitted(session, EventType.CLIENT_MARGIN_ALERT)
    assert len(bodies) == run.sent > 0
    tokyo = next(b["data"] for b in bodies if b["data"]["client_id"] == "tokyo")
    assert tokyo["margin_percent"] == "71.43" and tokyo["previous_margin_percent"] == "78.75"
    assert tokyo["revenue_minor"] == 5600 and tokyo["cost_minor"] == 1600
    assert sorted(tokyo["reasons"]) == ["below", "drop"]
    assert tokyo["period_start"] == "2026-10-01"


def test_a_partner_alerted_by_webhook_only_gets_the_webhook_and_no_email(
    session: Session,
) -> None:
    """No operator or finance address, one endpoint for margin alerts: the alerts are still
    found, recorded once and sent by webhook; no e-mail is queued. Without the endpoint either,
    nothing is recorded (nobody would hear of it)."""
    from billing.documents.models import OutgoingEmail
    from billing.margins.alerts import send_alerts
    from billing.margins.models import MarginAlert
    from tests.billing.margins.test_alerts import OCTOBER_20, _october, _settings
    from tests.billing.margins.world import PARTNER

    _october(session)
    _settings(session, operator_emails=[], finance_emails=[])
    nobody = send_alerts(session, PARTNER, OCTOBER_20, base_url="https://rebill.example")
    assert nobody.sent == 0 and nobody.skipped is not None
    assert session.exec(select(MarginAlert)).all() == []

    subscribe(session, PARTNER, EventType.CLIENT_MARGIN_ALERT)
    run = send_alerts(session, PARTNER, OCTOBER_20, base_url="https://rebill.example")
    session.commit()
    assert run.sent > 0
    assert len(emitted(session, EventType.CLIENT_MARGIN_ALERT)) == run.sent
    assert len(session.exec(select(MarginAlert)).all()) == run.sent
    assert session.exec(select(OutgoingEmail)).all() == []
    again = send_alerts(session, PARTNER, OCTOBER_20, base_url="https://rebill.example")
    session.commit()
    assert again.sent == 0
    assert len(emitted(session, EventType.CLIENT_MARGIN_ALERT)) == run.sent
