"""`make demo`'s sync step: invoices arrive in both sandboxes, once, to the cent; the sandboxes
stop with it, so its connections are disconnected at the end (nothing after the demo tries to
reach them); run again, it does the same against fresh sandboxes."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session, select

from billing.tenants.models import Partner
from connectors.connections.models import Connection, ConnectionStatus
from demo.sync import run_sandbox_sync
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
    assert statuses == [ConnectionStatus.DISCONNECTED] * 4
    partner = session.get(Partner, "acme")
    assert partner is not None and not any(
        name.startswith("sandbox-") for name in partner.settings.get("connections", {})
    )
