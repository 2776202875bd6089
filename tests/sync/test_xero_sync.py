"""The worker pushing through the real Xero connector and its fake behind respx: contacts,
items, invoices (in one PUT with per-element answers), a credit note allocated to its invoice,
and a void, each once and to the cent."""

from __future__ import annotations

from decimal import Decimal

import respx
from sqlalchemy import Engine
from sqlmodel import Session

from billing.invoicing.credits import create_credit_note
from billing.invoicing.service import void_invoice
from connectors.base import ConnectionInfo
from connectors.http import RateBudget, RetryPolicy
from connectors.xero import build_connector
from mappings.xero import mapping_from_settings
from sandbox.transport import FakeTokens
from sandbox.xero import FakeXero
from sync.connections import ConnectionSummary
from sync.handlers import Remote
from sync.models import OutboxStatus
from sync.worker import Worker
from tests.sync.helpers import Clock, issue, rows

TENANT = "tenant-sync"


async def _no_sleep(seconds: float) -> None:
    return None


def _worker(engine: Engine, fake: FakeXero, clock: Clock) -> Worker:
    tokens = FakeTokens(fake)
    mapping = mapping_from_settings({"default_account_code": "200", "tax_type": "OUTPUT2"})

    def open_remote(connection: ConnectionSummary) -> Remote:
        info = ConnectionInfo(
            connection.id, connection.partner_id, "xero", TENANT, "https://xero.sync.test"
        )
        connector = build_connector(
            info,
            tokens,
            budget=RateBudget("xero-sync-test", None),
            retry=RetryPolicy(max_attempts=2, sleep=_no_sleep),
        )
        return Remote(connector, mapping)

    return Worker(engine, open_remote, clock=clock)


def test_invoices_credit_notes_and_voids_reach_xero(engine: Engine, session: Session) -> None:
    invoices = sorted(issue(session, clients=3), key=lambda i: i.client_id)
    credited, voided = invoices[0], invoices[1]
    note = create_credit_note(session, "acme", str(credited.number), "goodwill", documents=False)
    session.commit()
    fake = FakeXero(TENANT)
    clock = Clock()
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="xero.sync.test").mock(side_effect=fake.handle)
        fake.fail_next("timeout_after_commit", path_contains="/Invoices")
        worker = _worker(engine, fake, clock)
        for _ in range(4):
            worker.run_once()
            clock.advance(3600)
        void_invoice(session, "acme", str(voided.number), "duplicate")
        session.commit()
        worker.run_once()
    assert {r.status for r in rows(session)} == {OutboxStatus.DONE}, [
        r.last_error for r in rows(session)
    ]
    for invoice in invoices:
        [theirs] = fake.invoices_by_number(str(invoice.number))
        assert Decimal(str(theirs["Total"])) * 100 == invoice.total_minor
        if invoice is voided:
            assert theirs["Status"] == "VOIDED"
    [remote_note] = fake.credit_notes.values()
    assert remote_note["CreditNoteNumber"] == note.note.number
    assert Decimal(str(remote_note["Total"])) * 100 == note.note.total_minor
