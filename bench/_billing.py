"""Set-up shared by the sync and reconciliation benches: a partner with N clients on one plan,
a stub connection row per remote, and a month closed, approved and issued for real (ledger
entries, usage rows, numbers) through the same services a cycle uses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Integer, String, column, insert, table
from sqlmodel import Session

from billing.invoicing.closing import close_cycles
from billing.invoicing.issuing import issue_invoices
from billing.invoicing.models import InvoiceStatus
from billing.invoicing.repository import InvoiceRepository
from billing.invoicing.service import approve_invoices
from config.db_types import UTCDateTime

__all__ = ["add_connection", "clients_toml", "issue_month", "last_month"]

# The connection table by name: benches stand in for `connections connect`, without tokens.
_connections = table(
    "connector_connection",
    *(column(name, String()) for name in ("id", "partner_id", "name", "provider", "status")),
    column("token_version", Integer()),
    column("created_at", UTCDateTime()),
    column("updated_at", UTCDateTime()),
)


def clients_toml(count: int, plan: str = "std") -> str:
    """`[clients.c00000]` ... tables, all on `plan`."""
    return "".join(
        f'\n[clients.c{i:05}]\nname = "Client {i:05}"\nemail = "c{i}@example.com"\nplan = "{plan}"\n'
        for i in range(count)
    )


def add_connection(
    session: Session, partner_id: str, connection_id: str, name: str, provider: str
) -> None:
    now = datetime.now(UTC)
    session.execute(
        insert(_connections).values(
            id=connection_id,
            partner_id=partner_id,
            name=name,
            provider=provider,
            status="active",
            token_version=0,
            created_at=now,
            updated_at=now,
        )
    )


def last_month() -> date:
    first = datetime.now(UTC).date().replace(day=1)
    return (first - timedelta(days=1)).replace(day=1)


def issue_month(session: Session, partner_id: str, month: date) -> None:
    """Close, approve and issue every client's invoice for `month`; commits."""
    close_cycles(session, partner_id, period=f"{month:%Y-%m}")
    approve_invoices(session, partner_id, by="bench")
    ids = InvoiceRepository(session).ids_with_status(partner_id, InvoiceStatus.APPROVED)
    issue_invoices(session, partner_id, ids, documents=False)
    session.commit()
