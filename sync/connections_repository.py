"""What sync reads of the stored connections (`connector_connection`, owned by
`connectors.connections`), through a lightweight table clause so sync does not depend on the
token store: `sync.connections` turns the rows into summaries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import String, column, select, table
from sqlmodel import Session

from config.db_types import UTCDateTime

__all__ = ["ConnectionRow", "active_connection_ids_for_tenants", "connection_rows"]

ConnectionRow = tuple[str, str, str, str, str, datetime, datetime, str | None]
"""id, partner id, name, provider, status, created at, updated at, remote tenant's name."""

_connections = table(
    "connector_connection",
    column("id", String()),
    column("partner_id", String()),
    column("name", String()),
    column("provider", String()),
    column("status", String()),
    column("created_at", UTCDateTime()),
    column("updated_at", UTCDateTime()),
    column("remote_tenant", String()),
    column("remote_tenant_name", String()),
)


def connection_rows(
    session: Session,
    *,
    partner_id: str | None = None,
    connection_ids: Sequence[str] | None = None,
    statuses: Sequence[str] | None = None,
) -> list[ConnectionRow]:
    """Connections (of a partner, with these ids, in these statuses), by id."""
    c = _connections.c
    query = select(
        c.id,
        c.partner_id,
        c.name,
        c.provider,
        c.status,
        c.created_at,
        c.updated_at,
        c.remote_tenant_name,
    ).order_by(c.id)
    if partner_id is not None:
        query = query.where(c.partner_id == partner_id)
    if connection_ids is not None:
        query = query.where(c.id.in_(connection_ids))
    if statuses is not None:
        query = query.where(c.status.in_(statuses))
    return [tuple(row) for row in session.execute(query)]


def active_connection_ids_for_tenants(
    session: Session, provider: str, tenants: Iterable[str]
) -> list[str]:
    """Ids of the provider's active connections to these remote tenants (companies), by id."""
    c = _connections.c
    query = (
        select(c.id)
        .where(
            c.provider == str(provider),
            c.remote_tenant.in_(list(tenants)),
            c.status == "active",
        )
        .order_by(c.id)
    )
    return [str(row[0]) for row in session.execute(query)]
