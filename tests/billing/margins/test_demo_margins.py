"""`make demo`'s month reads as its invoices net of tax, client by client, except the late event
the demo plants after issue, shown as unbilled; the month after it is empty."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from billing.invoicing.models import InvoiceStatus
from billing.invoicing.repository import InvoiceFilter
from billing.invoicing.service import list_invoices
from billing.margins import margins, month_selection
from billing.margins.selection import shift_month
from demo.billing import PARTNER, demo_month, run_demo
from demo.sync import run_sandbox_sync


@pytest.mark.slow
def test_the_demo_month_is_its_invoices_and_the_late_event(
    engine: Engine, session: Session
) -> None:
    now = datetime.now(UTC)
    month = demo_month(now)
    run_demo(engine)
    run_sandbox_sync(engine, PARTNER, month, lambda _line: None, reconcile_after=True)
    session.rollback()
    invoices = list_invoices(session, PARTNER, InvoiceFilter(period_start=month))
    assert len(invoices) == 20 and {i.status for i in invoices} <= {
        InvoiceStatus.ISSUED,
        InvoiceStatus.PAID,
        InvoiceStatus.PARTIALLY_PAID,
    }
    net = {i.client_id: (i.total_minor - i.tax_minor, i.cost_minor) for i in invoices}
    report = margins(session, PARTNER, month_selection(month), "client", now=now)
    rows = {row.key: row for row in report.rows}
    assert set(rows) == set(net)
    late = {key for key, row in rows.items() if row.unbilled_charge or row.unbilled_cost}
    assert len(late) == 1  # the planted late sms event
    for client, (charge, cost) in net.items():
        row = rows[client]
        assert (row.invoiced_charge, row.invoiced_cost) == (charge, cost), client
        if client not in late:
            assert (row.charge, row.cost) == (charge, cost), client
    [client] = late
    assert rows[client].unbilled_charge > 0 and rows[client].unbilled_cost > 0
    [total] = report.totals
    assert total.invoiced_charge == sum(charge for charge, _ in net.values())
    following = margins(session, PARTNER, month_selection(shift_month(month, 1)), now=now)
    assert following.rows == () and following.totals == ()
