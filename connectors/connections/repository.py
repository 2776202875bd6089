"""Reads and writes of connections and consent states, and the row lock that serialises token
refreshes across processes.

Connectors may not import billing, so the partner's stored settings (where `config apply` keeps
each `[partner.connections.<name>]` table) are read through a lightweight table description of
`billing_partner` rather than its model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import delete, select, text
from sqlmodel import Session, col

from .models import Connection, OAuthState

__all__ = [
    "connection_by_name",
    "connection_settings",
    "consume_state",
    "get_connection",
    "list_connections",
    "lock_connection",
    "partner_exists",
    "partner_settings",
    "purge_expired_states",
]

_partner = sa.table(
    "billing_partner",
    sa.column("id", sa.String()),
    sa.column("settings", sa.JSON()),
)


def get_connection(session: Session, connection_id: str) -> Connection | None:
    return session.get(Connection, connection_id)


def connection_by_name(session: Session, partner_id: str, name: str) -> Connection | None:
    query = select(Connection).where(
        col(Connection.partner_id) == partner_id, col(Connection.name) == name
    )
    return session.scalars(query).first()


def list_connections(session: Session, partner_id: str | None = None) -> list[Connection]:
    query = select(Connection)
    if partner_id is not None:
        query = query.where(col(Connection.partner_id) == partner_id)
    return list(session.scalars(query.order_by(col(Connection.partner_id), col(Connection.name))))


def lock_connection(session: Session, connection_id: str) -> Connection | None:
    """The connection row, read fresh and locked until the session's transaction ends.

    PostgreSQL: `SELECT ... FOR UPDATE` (other refreshers of this connection wait; readers do
    not). SQLite has no row locks: take the database's write lock first (a no-op UPDATE, the
    ledger's `claim_sqlite_writer` idea) so a second refresher waits for the first to commit
    and then reads what it wrote.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("UPDATE connector_connection SET id = id WHERE 0"))
    query = (
        select(Connection)
        .where(col(Connection.id) == connection_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.scalars(query).first()


def partner_exists(session: Session, partner_id: str) -> bool:
    query = select(_partner.c.id).where(_partner.c.id == partner_id)
    return session.execute(query).first() is not None


def partner_settings(session: Session, partner_id: str) -> dict[str, Any]:
    query = select(_partner.c.settings).where(_partner.c.id == partner_id)
    value = session.execute(query).scalar()
    if isinstance(value, str):  # a driver that hands JSON back as text
        value = json.loads(value)
    return dict(value) if isinstance(value, Mapping) else {}


_NOT_MAPPING = ("provider", "enabled")


def connection_settings(session: Session, partner_id: str, name: str) -> dict[str, Any] | None:
    """The mapping settings of `[partner.connections.<name>]` as `config apply` stored them
    (without `provider` and `enabled`), or None when the partner file has no such table."""
    stored = partner_settings(session, partner_id).get("connections") or {}
    table = stored.get(name) if isinstance(stored, Mapping) else None
    if not isinstance(table, Mapping):
        return None
    return {key: value for key, value in table.items() if key not in _NOT_MAPPING}


def consume_state(session: Session, state: str) -> OAuthState | None:
    """Take a consent state out of the table: of two callbacks racing with the same state,
    only the one whose DELETE removed the row gets it."""
    row = session.get(OAuthState, state)
    if row is None:
        return None
    session.expunge(row)  # keep the loaded values; the row itself goes
    result = session.execute(delete(OAuthState).where(col(OAuthState.state) == state))
    if getattr(result, "rowcount", 0) != 1:
        return None
    return row


def purge_expired_states(session: Session, now: datetime) -> None:
    session.execute(delete(OAuthState).where(col(OAuthState.expires_at) < now))
