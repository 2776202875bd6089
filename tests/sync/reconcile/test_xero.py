"""Reconciliation against the Xero fake (real connector behind respx): clean after the
worker's push; an invoice deleted there and a payment recorded only there are found, and
`fix --apply` re-pushes the deleted one."""

from __future__ import annotations

from decimal import Decimal

import respx
from sqlalchemy import Engine
from sqlmodel import Session

from connectors.base import ConnectionInfo
from connectors.http import RateBudget, RetryPolicy
from connectors.xero import build_connector
from mappings.xero import mapping_from_settings
from sandbox.transport import FakeTokens
from sandbox.xero import FakeXero
from sync.connections import ConnectionSummary
from sync.handlers import Remote
from sync.models import OutboxStatus
from sync.reconcile import reconcile
from sync.reconcile.fixes import apply_fixes
from sync.worker import Worker
from tests.billing.invoicing.builders import last_month, month_text
from tests.sync.helpers import Clock, issue, rows
from tests.sync.reconcile.test_reconcile import diffs_of

TENANT = "tenant-reconcile"
BASE = "https://xero.reconcile.test"


async def _no_sleep(seconds: float) -> None:
    return None


def _opener(fake: FakeXero):  # type: ignore[no-untyped-def]
    tokens = FakeTokens(fake)
    mapping = mapping_from_settings({"default_account_code": "200", "tax_type": "OUTPUT2"})

    def open_remote(connection: ConnectionSummary) -> Remote:
        info = ConnectionInfo(connection.id, connection.partner_id, "xero", TENANT, BASE)
        connector = build_connector(
            info,
            tokens,
            budget=RateBudget("xero-reconcile-test", None),
            retry=RetryPolicy(max_attempts=2, sleep=_no_sleep),
        )
        return Remote(connector, mapping)

    return open_remote


def _drain(engine: Engine, fake: FakeXero) -> None:
    clock = Clock()
    worker = Worker(engine, _opener(fake), clock=clock)
    for _ in range(4):
        worker.run_once()
        clock.advance(3600)


def test_xero(engine: Engine, session: Session) -> None:
    fake = FakeXero(TENANT)
    period = month_text(last_month())
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="xero.reconcile.test").mock(side_effect=fake.handle)
        invoices = sorted(issue(session, clients=3), key=lambda i: str(i.number))
        _drain(engine, fake)
        assert {r.status for r in rows(session)} == {OutboxStatus.DONE}
        clean = reconcile(engine, "acme", period, open_remote=_opener(fake))
        assert [(d.kind, d.subject) for d in diffs_of(session, clean)] == []
        [gone] = fake.invoices_by_number(str(invoices[0].number))
        del fake.invoices[gone["InvoiceID"]]
        [paid] = fake.invoices_by_number(str(invoices[1].number))
        fake.pay(paid["InvoiceID"], Decimal(invoices[1].total_minor) / 100)
        run_id = reconcile(engine, "acme", period, open_remote=_opener(fake))
        found = {(d.kind, d.invoice_number) for d in diffs_of(session, run_id)}
        assert found == {
            ("missing_there", str(invoices[0].number)),
            ("status_mismatch", str(invoices[1].number)),
        }
        outcomes = apply_fixes(engine, run_id, apply=True, open_remote=_opener(fake))
        _drain(engine, fake)
        assert len(fake.invoices_by_number(str(invoices[0].number))) == 1
        again = reconcile(engine, "acme", period, open_remote=_opener(fake))
    pulled = any(o.action == "pull_payment" and o.applied for o in outcomes)
    # With the read-back (sync.readback) the payment is recorded here too; without, it stays.
    assert {d.kind for d in diffs_of(session, again)} == (set() if pulled else {"status_mismatch"})
