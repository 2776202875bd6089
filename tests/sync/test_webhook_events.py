"""Sync-side webhook events, each from the code path that causes it: `sync.failed` when an
outbox row goes dead, `reconciliation.completed` when a run is stored."""

from __future__ import annotations

import respx
from sqlalchemy import Engine
from sqlmodel import Session

from billing.webhooks import EventType
from sandbox.quickbooks import FakeQuickBooks
from sync.reconcile import reconcile
from tests.billing.invoicing.builders import last_month, month_text
from tests.billing.webhooks.emitted import emitted, subscribe
from tests.fakes.memory_connector import MemoryRemote
from tests.sync.helpers import Clock, issue, make_worker
from tests.sync.reconcile.test_reconcile import opener, pushed


def test_a_dead_outbox_row_emits_sync_failed(engine: Engine, session: Session) -> None:
    issue(session)
    subscribe(session, "acme", EventType.SYNC_FAILED)
    remote = MemoryRemote()
    remote.fail_next("push_invoices", "rejected")
    stats = make_worker(engine, remote, Clock()).run_once()
    assert stats.dead == 2
    bodies = emitted(session, EventType.SYNC_FAILED)
    assert len(bodies) == 2
    data = bodies[0]["data"]
    assert data["action"] == "push_invoice" or data["action"].startswith("invoice")
    assert "Account code 999 is not a valid code" in data["error"]
    assert data["attempts"] == 1 and data["subject"]


def test_a_stored_reconciliation_emits_reconciliation_completed(
    engine: Engine, session: Session
) -> None:
    fake = FakeQuickBooks("9130357")
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="qbo.reconcile.test").mock(side_effect=fake.handle)
        pushed(engine, session, fake)
        subscribe(session, "acme", EventType.RECONCILIATION_COMPLETED)
        run_id = reconcile(engine, "acme", month_text(last_month()), open_remote=opener(fake))
    [body] = emitted(session, EventType.RECONCILIATION_COMPLETED)
    assert body["data"]["reconciliation_id"] == str(run_id)
    assert body["data"]["period"] == month_text(last_month())
    assert body["data"]["differences"] == 0
