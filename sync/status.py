"""What `sync status` (and the dashboard) shows: per connection, how many rows are in each
state, how old the oldest waiting row is, and the dead rows with their errors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from config.db_types import utcnow
from sync.connections import connection_summaries
from sync.models import OutboxStatus
from sync.repository import dead_rows, row_counts_by_status

__all__ = ["status_report"]


def status_report(
    session: Session, partner_id: str | None = None, *, dead_limit: int = 50
) -> dict[str, Any]:
    now = utcnow()
    names = {c.id: c for c in connection_summaries(session, partner_id=partner_id)}
    connections: dict[str, dict[str, Any]] = {}
    for connection_id, status, count, oldest in row_counts_by_status(session, partner_id):
        summary = names.get(connection_id)
        entry = connections.setdefault(
            connection_id,
            {
                "connection": connection_id,
                "name": summary.name if summary else None,
                "provider": summary.provider if summary else None,
                "connection_status": summary.status if summary else "removed",
                "counts": {s.value: 0 for s in OutboxStatus},
                "oldest_pending_at": None,
                "oldest_pending_seconds": None,
            },
        )
        entry["counts"][str(status)] = int(count)
        if status is OutboxStatus.PENDING and isinstance(oldest, datetime):
            entry["oldest_pending_at"] = oldest.isoformat()
            entry["oldest_pending_seconds"] = int((now - oldest).total_seconds())
    dead = [
        {
            "row": row.id,
            "connection": row.connection_id,
            "op": str(row.op),
            "subject": row.subject_id,
            "attempts": row.attempts,
            "outcome": row.last_outcome,
            "error": row.last_error,
            "updated_at": row.updated_at.isoformat(),
        }
        for row in dead_rows(session, partner_id, limit=dead_limit)
    ]
    return {"connections": list(connections.values()), "dead": dead}
