"""Keeping idle connections alive: refresh tokens lapse when unused (Xero after 60 days,
QuickBooks after about 100), so a partner who invoices rarely would have to reconnect. The
scheduler (or `connections refresh --due`) calls `refresh_due_connections` daily; it refreshes
every active connection whose refresh token expires within `ahead` (or whose expiry is
unknown and that was not refreshed for `ahead`), each through `DatabaseTokenSource`, so the
lock, the rotation rule and the needs_reauth handling are the same as for the workers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine, and_, or_, select
from sqlmodel import Session, col

from config.db import read_scope
from config.db_types import utcnow
from connectors.base import ConnectorError

from .models import Connection, ConnectionStatus
from .token_source import DatabaseTokenSource, ReauthNotifier

__all__ = ["DEFAULT_AHEAD", "RefreshReport", "due_connections", "refresh_due_connections"]

DEFAULT_AHEAD = timedelta(days=30)


@dataclass
class RefreshReport:
    refreshed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # connection id -> message


def due_connections(
    session: Session, *, ahead: timedelta = DEFAULT_AHEAD, now: datetime | None = None
) -> list[str]:
    horizon = (now or utcnow()) + ahead
    idle_since = (now or utcnow()) - ahead
    query = (
        select(col(Connection.id))
        .where(col(Connection.status) == ConnectionStatus.ACTIVE)
        .where(
            or_(
                col(Connection.refresh_expires_at) < horizon,
                and_(
                    col(Connection.refresh_expires_at).is_(None),
                    col(Connection.updated_at) < idle_since,
                ),
            )
        )
        .order_by(col(Connection.id))
    )
    return list(session.scalars(query))


async def refresh_due_connections(
    engine: Engine,
    *,
    ahead: timedelta = DEFAULT_AHEAD,
    transport: httpx.AsyncBaseTransport | None = None,
    on_needs_reauth: ReauthNotifier | None = None,
) -> RefreshReport:
    """Refresh each due connection; one failure never stops the others."""
    with read_scope(engine) as session:
        due = due_connections(session, ahead=ahead)
    report = RefreshReport()
    for connection_id in due:
        source = DatabaseTokenSource(
            engine,
            connection_id,
            transport=transport,
            on_needs_reauth=on_needs_reauth,
        )
        try:
            await source.force_refresh()
        except ConnectorError as exc:
            report.failed[connection_id] = exc.message
        else:
            report.refreshed.append(connection_id)
    return report
