"""`make demo`'s sync step: invoices arrive in both sandboxes, once, to the cent; run again, it
retires the previous run's sandbox connections and does the same against fresh sandboxes."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session, select

from connectors.connections.models import Connection, ConnectionStatus
from sync.demo import run_sandbox_sync
from tests.billing.invoicing.builders import last_month
from tests.sync.helpers import issue


def test_the_demo_sync_shows_every_invoice_in_both_sandboxes(
    engine: Engine, session: Session
) -> None:
    invoices = issue(session, clients=3)
    said: list[str] = []
    first = run_sandbox_sync(engine, "acme", last_month(), said.append)
    assert first == {"quickbooks": len(invoices), "xero": len(invoices)}
    assert any("3/3 invoices present once" in line for line in said)

    second = run_sandbox_sync(engine, "acme", last_month(), said.append)
    assert second == first
    session.expire_all()
    sandboxes = session.exec(select(Connection).where(Connection.name.startswith("sandbox-")))
    statuses = sorted(str(c.status) for c in sandboxes)
    assert statuses == sorted([ConnectionStatus.DISCONNECTED] * 2 + [ConnectionStatus.ACTIVE] * 2)
