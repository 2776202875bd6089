"""Issuing posts one balanced entry: receivable = total, unbilled cleared exactly as accrued."""

from __future__ import annotations

from sqlmodel import Session

from billing.invoicing.models import BillingEventKind, InvoiceStatus
from billing.invoicing.repository import InvoiceRepository
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


def _entry_legs(session: Session, entry_id: int) -> dict[str, int]:
    legs: dict[str, int] = {}
    for posting, account in LedgerRepository(session).postings_of([entry_id]):
        legs[account.code] = legs.get(account.code, 0) + posting.amount
    return legs


def test_worked_example_issue_entry(session: Session) -> None:
    """100 minutes at 0.10 + base fee 20.00 + 10% VAT = 33.00; cost 100 x 0.04 = 4.00."""
    setup_partner(session, SIMPLE)
    month = last_month()
    send(
        session,
        [("v1", "c1", "voice", "60", at(month, 2)), ("v2", "c1", "voice", "40", at(month, 9))],
    )
    run_accrual(session)
    assert balance(session, "1150") == 1000 + 2000  # usage and base fee, net of tax
    [invoice, other] = close_and_issue(session, month)
    assert invoice.client_id == "c1" and invoice.number == "ACME-000001"
    assert other.number == "ACME-000002"
    assert (invoice.subtotal_minor, invoice.tax_minor, invoice.total_minor) == (3000, 300, 3300)
    assert invoice.status is InvoiceStatus.ISSUED and invoice.cost_minor == 400
    assert invoice.due_at is not None and invoice.issue_date is not None
    assert (invoice.due_at - invoice.issue_date).days == 15
    assert invoice.ledger_entry_id is not None
    legs = _entry_legs(session, invoice.ledger_entry_id)
    # Issue only reclassifies what accrual recognised (usage and base fee) and adds the tax.
    assert legs == {"1200": 3300, "1150": -3000, "2200": -300}
    assert sum(legs.values()) == 0
    # c2 had no usage: its period was never accrued, so its issue recognises its base fee.
    assert other.ledger_entry_id is not None
    assert _entry_legs(session, other.ledger_entry_id) == {"1200": 2000, "4100": -2000}
    # The receivable is the invoices' totals; unbilled receivable is cleared to zero.
    assert balance(session, "1200") == 3300 + 2000
    assert balance(session, "1150") == 0
    assert balance(session, "4100") == -4000
    assert balance(session, "4000.voice") == -1000
    assert balance(session, "5000.voice") == 400
    assert trial_balance(session, "acme").is_balanced
    # One `invoice.issued` billing event per invoice, for the sync outbox.
    issued = [
        e
        for e in InvoiceRepository(session).billing_events("acme")
        if e.kind is BillingEventKind.INVOICE_ISSUED
    ]
    assert [e.payload["number"] for e in issued] == ["ACME-000001", "ACME-000002"]
    assert issued[0].payload["total_minor"] == 3300 and issued[0].subject_id == str(invoice.id)


def test_true_up_when_usage_arrived_after_the_last_accrual(session: Session) -> None:
    setup_partner(session, SIMPLE)
    month = last_month()
    send(session, [("v1", "c1", "voice", "100", at(month, 2))])
    run_accrual(session)
    send(session, [("v2", "c1", "voice", "50", at(month, 20))])  # not accrued yet
    invoice = close_and_issue(session, month, client_id="c1")[0]
    assert invoice.total_minor == (2000 + 1500) * 110 // 100
    assert invoice.ledger_entry_id is not None
    legs = _entry_legs(session, invoice.ledger_entry_id)
    # Unbilled: exactly what was accrued (10.00 usage, 20.00 base fee); usage revenue: the
    # 5.00 true-up.
    assert legs["1150"] == -3000
    assert legs["4000.voice"] == -500 and "4100" not in legs
    # Wholesale cost: accrued 4.00, invoiced 6.00 -> a 2.00 cost true-up.
    assert legs["5000.voice"] == 200 and legs["2100"] == -200
    assert balance(session, "1150") == 0
    assert balance(session, "4000.voice") == -1500
    assert balance(session, "5000.voice") == 600
    # The invoice brought accrual up to date: a later run posts nothing for billed usage.
    run_accrual(session)
    assert balance(session, "4000.voice") == -1500 and balance(session, "1150") == 0
    assert balance(session, "5000.voice") == 600
    assert trial_balance(session, "acme").is_balanced


def test_issue_without_accrual_books_revenue_directly(session: Session) -> None:
    setup_partner(session, SIMPLE)
    month = last_month()
    send(session, [("v1", "c1", "voice", "100", at(month, 2))])
    invoice = close_and_issue(session, month, client_id="c1")[0]
    assert invoice.ledger_entry_id is not None
    legs = _entry_legs(session, invoice.ledger_entry_id)
    assert "1150" not in legs
    assert legs["4000.voice"] == -1000 and legs["1200"] == 3300
    assert legs["5000.voice"] == 400 and legs["2100"] == -400
