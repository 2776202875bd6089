"""The worker pushing through the real FreshBooks connector and its fake behind respx: clients,
items, invoices (one a request, looked up by number before and after a lost answer), a credit
note and a void, each once and to the cent."""

from __future__ import annotations

from decimal import Decimal

import respx
from sqlalchemy import Engine
from sqlmodel import Session

from billing.invoicing.credits import create_credit_note
from billing.invoicing.service import void_invoice
from connectors.base import ConnectionInfo
from connectors.freshbooks import build_connector
from connectors.http import RateBudget, RetryPolicy
from mappings.freshbooks import mapping_from_settings
from sandbox.freshbooks import FakeFreshBooks
from sandbox.transport import FakeTokens
from sync.connections import ConnectionSummary
from sync.handlers import Remote
from sync.models import OutboxStatus
from sync.worker import Worker
from tests.sync.helpers import Clock, issue, rows

ACCOUNT = "acc-sync"


async def _no_sleep(seconds: float) -> None:
    return None


def _worker(engine: Engine, fake: FakeFreshBooks, clock: Clock) -> Worker:
    tokens = FakeTokens(fake)
    mapping = mapping_from_settings({"tax_name": "Sales tax"})

    def open_remote(connection: ConnectionSummary) -> Remote:
        info = ConnectionInfo(
            connection.id, connection.partner_id, "freshbooks", ACCOUNT, "https://fb.sync.test"
        )
        connector = build_connector(
            info,
            tokens,
            budget=RateBudget("freshbooks-sync-test", None),
            retry=RetryPolicy(max_attempts=2, sleep=_no_sleep),
        )
        return Remote(connector, mapping)

    return Worker(engine, open_remote, clock=clock)


def test_invoices_credit_notes_and_voids_reach_freshbooks(engine: Engine, session: Session) -> None:
    invoices = sorted(issue(session, clients=3), key=lambda i: i.client_id)
    credited, voided = invoices[0], invoices[1]
    note = create_credit_note(session, "acme", str(credited.number), "goodwill", documents=False)
    session.commit()
    fake = FakeFreshBooks(ACCOUNT, limits=False)
    clock = Clock()
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="fb.sync.test").mock(side_effect=fake.handle)
        fake.fail_next("timeout_after_commit", path_contains="/invoices/invoices", method="POST")
        worker = _worker(engine, fake, clock)
        for _ in range(4):
            worker.run_once()
            clock.advance(3600)
        void_invoice(session, "acme", str(voided.number), "duplicate")
        session.commit()
        worker.run_once()
    assert fake.pending_failures == 0
    assert {r.status for r in rows(session)} == {OutboxStatus.DONE}, [
        r.last_error for r in rows(session)
    ]
    assert len(fake.records["users/clients"]) == 3
    for invoice in invoices:
        [theirs] = fake.invoices_by_number(str(invoice.number))
        assert Decimal(theirs["amount"]["amount"]) * 100 == invoice.total_minor
        if invoice is voided:
            assert theirs["vis_state"] == 1
        else:
            assert theirs["v3_status"] == "sent"
    [remote_note] = fake.records["credit_notes/credit_notes"].values()
    assert remote_note["credit_number"] == note.note.number
    assert Decimal(remote_note["amount"]["amount"]) * 100 == note.note.total_minor
