"""The worker pushing through the real QuickBooks connector, its HTTP client and its fake
behind respx: customer, items and invoices arrive once each, to the cent, a timeout after the
remote committed makes no duplicate, and a void follows."""

from __future__ import annotations

from decimal import Decimal

import respx
from sqlalchemy import Engine
from sqlmodel import Session

from billing.invoicing.service import void_invoice
from connectors.base import ConnectionInfo
from connectors.http import RetryPolicy
from connectors.quickbooks import build_connector
from mappings.quickbooks import mapping_from_settings
from sandbox.quickbooks import FakeQuickBooks
from sandbox.transport import FakeTokens
from sync.connections import ConnectionSummary
from sync.handlers import Remote
from sync.models import OutboxStatus
from sync.worker import Worker
from tests.sync.helpers import Clock, issue, rows

REALM = "9130357"
BASE = "https://qbo.sync.test"


async def _no_sleep(seconds: float) -> None:
    return None


def _worker(engine: Engine, fake: FakeQuickBooks, clock: Clock) -> Worker:
    tokens = FakeTokens(fake)
    mapping = mapping_from_settings(
        {"default_income_account": "79", "tax_code": "TAX", "non_tax_code": "NON"}
    )

    def open_remote(connection: ConnectionSummary) -> Remote:
        info = ConnectionInfo(connection.id, connection.partner_id, "quickbooks", REALM, BASE)
        retry = RetryPolicy(max_attempts=2, sleep=_no_sleep)
        return Remote(build_connector(info, tokens, retry=retry), mapping)

    return Worker(engine, open_remote, clock=clock)


def test_invoices_reach_quickbooks_once_to_the_cent(engine: Engine, session: Session) -> None:
    invoices = issue(session, clients=4)
    fake = FakeQuickBooks(REALM)
    clock = Clock()
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="qbo.sync.test").mock(side_effect=fake.handle)
        fake.fail_next("timeout_after_commit", path_contains="/batch")
        worker = _worker(engine, fake, clock)
        for _ in range(5):
            worker.run_once()
            clock.advance(3600)
        void_invoice(session, "acme", str(invoices[0].number), "sent twice")
        session.commit()
        worker.run_once()
    assert {r.status for r in rows(session)} == {OutboxStatus.DONE}, [
        r.last_error for r in rows(session)
    ]
    for invoice in invoices:
        [theirs] = fake.invoices_by_number(str(invoice.number))
        total = Decimal(str(theirs["TotalAmt"]))
        if invoice.id == invoices[0].id:
            assert total == 0  # voided: QuickBooks zeroes a voided invoice
        else:
            assert total * 100 == invoice.total_minor
    assert len(fake.objects("Customer")) == 4
