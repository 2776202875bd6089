"""Void, credit notes and write-offs: worked examples in the ledger, never an edit of history."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from billing.invoicing.credits import CreditRequest, create_credit_note
from billing.invoicing.errors import InvalidCreditError, InvalidTransitionError
from billing.invoicing.issuing import issue_invoices
from billing.invoicing.models import BillingEvent, BillingEventKind, InvoiceStatus
from billing.invoicing.repository import InvoiceRepository
from billing.invoicing.service import get_invoice, mark_uncollectible, void_invoice
from ledger import trial_balance
from ledger.repository import LedgerRepository
from tests.billing.invoicing.builders import (
    SIMPLE,
    at,
    balance,
    close_and_issue,
    last_month,
    run_accrual,
    send,
    setup_partner,
)


def _legs(session: Session, entry_id: int | None) -> dict[str, int]:
    assert entry_id is not None
    legs: dict[str, int] = {}
    for posting, account in LedgerRepository(session).postings_of([entry_id]):
        legs[account.code] = legs.get(account.code, 0) + posting.amount
    return legs


@pytest.fixture
def issued(session: Session) -> str:
    """c1: 100 minutes at 0.10 + base 20.00 + VAT 10% = 33.00 (ACME-000001), accrued first
    (usage and base fee: 30.00 of unbilled receivable)."""
    setup_partner(session, SIMPLE)
    month = last_month()
    send(session, [("v1", "c1", "voice", "100", at(month, 2))])
    run_accrual(session)
    [invoice] = close_and_issue(session, month, client_id="c1")
    return str(invoice.number)


def _events(session: Session, kind: BillingEventKind) -> list[BillingEvent]:
    return [e for e in InvoiceRepository(session).billing_events("acme") if e.kind is kind]


def test_void_reverses_the_issue_entry_and_restores_unbilled(session: Session, issued: str) -> None:
    invoice, draft = void_invoice(session, "acme", issued, "wrong client")
    session.commit()
    assert draft is None
    assert invoice.status is InvoiceStatus.VOID and invoice.void_reason == "wrong client"
    # Accrual had recognised usage and base fee (30.00): the issue only reclassified them, so
    # the void hands them back to unbilled receivable; the tax goes.
    assert _legs(session, invoice.closing_entry_id) == {"1200": -3300, "1150": 3000, "2200": 300}
    assert balance(session, "1200") == 0
    assert balance(session, "1150") == 3000  # the period is unbilled again
    assert balance(session, "4000.voice") == -1000 and balance(session, "4100") == -2000
    [event] = _events(session, BillingEventKind.INVOICE_VOIDED)
    assert event.payload["number"] == issued and event.payload["reason"] == "wrong client"
    # Accrual agrees: nothing to post again for the voided period.
    run_accrual(session)
    assert balance(session, "1150") == 3000 and balance(session, "4000.voice") == -1000
    with pytest.raises(InvalidTransitionError):
        void_invoice(session, "acme", issued, "twice")
    assert trial_balance(session, "acme").is_balanced


def test_void_and_rebill_drafts_the_period_again(session: Session, issued: str) -> None:
    _, draft = void_invoice(session, "acme", issued, "re-rate", rebill=True)
    session.commit()
    assert draft is not None
    fresh = get_invoice(session, "acme", draft)
    assert fresh.status is InvoiceStatus.DRAFT and fresh.total_minor == 3300
    from billing.invoicing.service import approve_invoice

    approve_invoice(session, "acme", draft, by="test")
    [again] = issue_invoices(session, "acme", [draft], documents=False).invoices
    session.commit()
    assert again.number == "ACME-000002"
    assert _legs(session, again.ledger_entry_id) == {"1200": 3300, "1150": -3000, "2200": -300}
    assert balance(session, "1150") == 0 and balance(session, "1200") == 3300


def test_full_credit_note(session: Session, issued: str) -> None:
    credit = create_credit_note(session, "acme", issued, "service outage", documents=False)
    session.commit()
    note = credit.note
    assert note.number == "ACME-CN-000001"
    assert (note.subtotal_minor, note.tax_minor, note.total_minor) == (3000, 300, 3300)
    assert _legs(session, note.ledger_entry_id) == {"4900": 3000, "2200": 300, "1200": -3300}
    invoice = get_invoice(session, "acme", issued)
    assert invoice.credited_minor == 3300 and invoice.status is InvoiceStatus.PAID
    assert invoice.amount_due_minor == 0
    assert balance(session, "1200") == 0
    [event] = _events(session, BillingEventKind.CREDIT_NOTE_ISSUED)
    assert event.payload["invoice_number"] == issued and event.payload["total_minor"] == 3300
    with pytest.raises(InvalidCreditError):
        create_credit_note(session, "acme", issued, "again", documents=False)


def test_credit_part_of_a_line_takes_its_tax_share(session: Session, issued: str) -> None:
    lines = InvoiceRepository(session).lines([get_invoice(session, "acme", issued).invoice_id])
    usage = next(ln for ln in next(iter(lines.values())) if ln.usage_type == "voice")
    credit = create_credit_note(
        session,
        "acme",
        issued,
        "dropped calls",
        lines=[CreditRequest(usage.position, 555)],
        documents=False,
    )
    session.commit()
    note = credit.note
    # 5.55 credited; VAT 10% of 5.55 = 0.555 -> 0.56 (half-up, once).
    assert (note.subtotal_minor, note.tax_minor, note.total_minor) == (555, 56, 611)
    assert _legs(session, note.ledger_entry_id) == {"4900": 555, "2200": 56, "1200": -611}
    invoice = get_invoice(session, "acme", issued)
    assert invoice.status is InvoiceStatus.ISSUED and invoice.amount_due_minor == 3300 - 611
    # The rest of the line can be credited, not more; the whole rest of the invoice too.
    with pytest.raises(InvalidCreditError):
        create_credit_note(
            session,
            "acme",
            issued,
            "too much",
            lines=[CreditRequest(usage.position, 446)],
            documents=False,
        )
    rest = create_credit_note(session, "acme", issued, "close it", documents=False).note
    session.commit()
    assert rest.total_minor == 3300 - 611 and rest.number == "ACME-CN-000002"
    assert balance(session, "1200") == 0 and balance(session, "2200") == 0
    # A credited invoice cannot be voided (the credit notes would be orphaned).
    with pytest.raises(InvalidTransitionError):
        void_invoice(session, "acme", issued, "late")


def test_uncollectible_writes_off_what_is_due(session: Session, issued: str) -> None:
    create_credit_note(
        session, "acme", issued, "goodwill", lines=[CreditRequest(1, 1000)], documents=False
    )
    invoice = mark_uncollectible(session, "acme", issued)
    session.commit()
    assert invoice.status is InvoiceStatus.UNCOLLECTIBLE
    assert _legs(session, invoice.closing_entry_id) == {"6200": 3300 - 1100, "1200": -2200}
    assert balance(session, "1200") == 0
    assert trial_balance(session, "acme").is_balanced


def test_drafts_cannot_be_voided_or_credited(session: Session) -> None:
    setup_partner(session, SIMPLE)
    from billing.invoicing.closing import close_cycles
    from tests.billing.invoicing.builders import month_text

    result = close_cycles(session, "acme", period=month_text(last_month()))
    session.commit()
    draft = result.created[0]
    with pytest.raises(InvalidTransitionError):
        void_invoice(session, "acme", draft, "no")
    with pytest.raises(InvalidTransitionError):
        create_credit_note(session, "acme", draft, "no", documents=False)
    with pytest.raises(InvalidTransitionError):
        issue_invoices(session, "acme", [draft], documents=False)


def test_client_changes_are_logged_for_the_outbox(session: Session) -> None:
    from billing.tenants import ClientUpdate, update_client

    setup_partner(session, SIMPLE)
    created = _events(session, BillingEventKind.CLIENT_CHANGED)
    assert {e.subject_id for e in created} == {"c1", "c2"}
    update_client(session, "acme", "c1", ClientUpdate(name="Client One Ltd"))
    session.commit()
    changed = _events(session, BillingEventKind.CLIENT_CHANGED)
    assert len(changed) == 3 and changed[-1].payload["name"] == "Client One Ltd"
    update_client(session, "acme", "c1", ClientUpdate(name="Client One Ltd"))  # no change
    session.commit()
    assert len(_events(session, BillingEventKind.CLIENT_CHANGED)) == 3
