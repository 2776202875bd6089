"""What sync knows of a stored connection (`connector_connection`, owned by
`connectors.connections`): id, partner, provider, status, when it was connected or last
changed, and the name people know it by. Read by `sync.connections_repository`, so sync does
not depend on the token store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from sync.connections_repository import connection_rows

__all__ = [
    "FANNED_OUT_STATUSES",
    "PROVIDER_NAMES",
    "ConnectionSummary",
    "connection_summaries",
    "system_name",
]

# A connection that needs re-authorisation still collects rows (paused until it is back);
# pending (no tokens yet) and disconnected ones collect nothing.
FANNED_OUT_STATUSES = ("active", "needs_reauth")

# How people call each provider's product (reports, notices, the dashboard).
PROVIDER_NAMES = {
    "quickbooks": "QuickBooks Online",
    "xero": "Xero",
    "freshbooks": "FreshBooks",
    "stripe": "Stripe",
}


def system_name(provider: str, remote_name: str | None, connection_name: str) -> str:
    """`"QuickBooks Online: Brightline Inc."`: the product and the organisation it holds the
    books of, as the remote calls it; before consent has named it, the partner's own name for
    the connection (`"Xero (connection main)"`). Never a generated id."""
    product = PROVIDER_NAMES.get(provider, provider.title())
    if remote_name and remote_name.strip():
        return f"{product}: {remote_name.strip()}"
    return f"{product} (connection {connection_name})"


@dataclass(frozen=True, slots=True)
class ConnectionSummary:
    id: str
    partner_id: str
    name: str
    provider: str
    status: str
    created_at: datetime
    updated_at: datetime
    remote_name: str | None = None  # the remote organisation's name (QuickBooks company)

    @property
    def active(self) -> bool:
        return self.status == "active"

    @property
    def display_name(self) -> str:
        return system_name(self.provider, self.remote_name, self.name)


def connection_summaries(
    session: Session,
    *,
    partner_id: str | None = None,
    connection_ids: list[str] | None = None,
    statuses: tuple[str, ...] | None = None,
) -> list[ConnectionSummary]:
    rows = connection_rows(
        session, partner_id=partner_id, connection_ids=connection_ids, statuses=statuses
    )
    return [ConnectionSummary(*row) for row in rows]
