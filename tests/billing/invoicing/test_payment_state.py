"""`payment_state_of` (Python, for pages that show loaded invoices: the client portal) and
`browse_invoices`' payment filter (SQL, the dashboard's list) file every invoice alike: over
every combination of status, amounts and due date, an invoice is in the filter of the state
Python gives it, and in no filter when Python gives none."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session

from billing.invoicing.browse_repository import (
    BrowseFilter,
    PaymentState,
    browse_invoices,
    payment_state_of,
)
from billing.invoicing.models import Invoice, InvoiceStatus
from tests.billing.invoicing.builders import SIMPLE, setup_partner

TODAY = date(2026, 3, 15)
STATUSES = (
    InvoiceStatus.ISSUED,
    InvoiceStatus.PARTIALLY_PAID,
    InvoiceStatus.PAID,
    InvoiceStatus.VOID,
    InvoiceStatus.UNCOLLECTIBLE,
)


def test_python_and_sql_payment_states_agree(session: Session) -> None:
    setup_partner(session, SIMPLE)
    moment = datetime(2025, 1, 1, tzinfo=UTC)
    combos = list(
        itertools.product(
            STATUSES,
            (0, 400, 1000),  # paid
            (0, 600),  # credited
            (TODAY - timedelta(days=1), TODAY, None),  # due
        )
    )
    for n, (status, paid, credited, due) in enumerate(combos):
        start = date(2000, 1, 1) + timedelta(days=10 * n)
        session.add(
            Invoice(
                partner_id="acme",
                client_id="c1",
                number=f"PS-{n:04d}",
                status=status,
                currency="USD",
                period_start=start,
                period_end=start + timedelta(days=9),
                period_start_at=datetime.combine(start, datetime.min.time(), UTC),
                period_end_at=datetime.combine(start, datetime.min.time(), UTC)
                + timedelta(days=10),
                timezone="UTC",
                total_minor=1000,
                amount_paid_minor=paid,
                credited_minor=credited,
                cost_minor=100,
                cost_currency="USD",
                watermark=moment,
                issued_at=moment,
                issue_date=start,
                due_at=due,
            )
        )
    session.commit()
    every = browse_invoices(session, "acme", BrowseFilter(), TODAY, limit=1000)
    assert len(every) == len(combos)
    in_filter = {
        state: {
            i.id
            for i in browse_invoices(
                session, "acme", BrowseFilter(payment=state), TODAY, limit=1000
            )
        }
        for state in PaymentState
    }
    for invoice in every:
        state = payment_state_of(invoice, TODAY)
        if state is None:
            assert all(invoice.id not in ids for ids in in_filter.values()), invoice.number
        else:
            assert invoice.id in in_filter[state], (invoice.number, state)
            assert (invoice.id in in_filter[PaymentState.PAID]) == (state is PaymentState.PAID)
