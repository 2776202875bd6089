"""Sync-side webhook events, each from the code path that causes it: `sync.failed` when an
outbox row goes dead, `reconciliation.completed` when a run is stored."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import respx
from sqlalchemy import Engine
from sqlmodel import Session

from billing.webhooks import EventType, emit
from billing.webhooks.service import create_endpoint
from config.settings import get_settings
from connectors.connections.crypto import cipher_from_settings
from sandbox.quickbooks import FakeQuickBooks
from sync.cli import run_workers
from sync.connections import ConnectionSummary
from sync.handlers import Remote
from sync.reconcile import reconcile
from sync.scheduler.jobs import JobContext
from sync.scheduler.service import fire
from tests.billing.invoicing.builders import last_month, month_text
from tests.billing.webhooks.emitted import emitted, subscribe
from tests.billing.webhooks.receiver import running_receiver
from tests.fakes.memory_connector import MemoryConnector, MemoryRemote
from tests.sync.helpers import Clock, FakeMapping, issue, make_worker
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


def test_the_worker_and_the_scheduler_send_due_webhooks(
    engine: Engine, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No new process: a `worker` pass sends what is due, and so does the `webhooks` job."""
    monkeypatch.setenv("REBILL_WEBHOOKS_ALLOW_PRIVATE_NETWORKS", "true")
    get_settings.cache_clear()
    issue(session)
    with running_receiver() as receiver:
        create_endpoint(
            session,
            cipher_from_settings(),
            "acme",
            url=receiver.url,
            event_types=["reconciliation.completed"],
            allow_private=True,
        )
        session.commit()
        emit(session, "acme", EventType.RECONCILIATION_COMPLETED, DATA, key="1")
        session.commit()

        def open_remote(connection: ConnectionSummary) -> Remote:
            return Remote(MemoryConnector(MemoryRemote()), FakeMapping())

        run_workers(engine, open_remote, once=True)
        assert len(receiver.requests) == 1
        emit(session, "acme", EventType.RECONCILIATION_COMPLETED, DATA, key="2")
        session.commit()
        outcome = fire(JobContext(engine), "webhooks", datetime.now(UTC))
        assert outcome.ran and "delivered 1" in (outcome.message or "")
        assert len(receiver.requests) == 2
        assert len(set(receiver.ids)) == 2


DATA = {
    "reconciliation_id": "1",
    "period": "2026-10",
    "differences": 0,
    "started_at": "2026-11-01T06:00:00+00:00",
    "finished_at": "2026-11-01T06:00:01+00:00",
}


def test_a_row_whose_workers_keep_dying_emits_sync_failed_when_it_goes_dead(
    engine: Engine, session: Session
) -> None:
    from sync.repository import claim_due, start_rows
    from sync.service import fan_out

    issue(session)
    subscribe(session, "acme", EventType.SYNC_FAILED)
    clock = Clock()
    fan_out(session, now=clock.now)
    session.commit()
    for _ in range(3):  # three workers start on the rows and die (their leases run out)
        claimed = claim_due(session, "doomed", now=clock.now, max_attempts=3)
        start_rows(session, [r.id or 0 for r in claimed], "doomed", clock.now)
        session.commit()
        clock.advance(600)
    assert claim_due(session, "next", now=clock.now, max_attempts=3) == []
    session.commit()
    bodies = emitted(session, EventType.SYNC_FAILED)
    assert len(bodies) == 2
    assert all("worker stopped" in b["data"]["error"] for b in bodies)
    assert {b["data"]["attempts"] for b in bodies} == {3}
