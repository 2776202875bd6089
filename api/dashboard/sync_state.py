"""What the sync and reconciliation page reads: connections, the outbox by state, dead rows.

The sync package (issue 6) is being built beside the dashboard, so this module reads its
tables by reflection (`connector_connection`, `sync_outbox`) when they exist and degrades to
"no connections yet" when they do not, instead of importing models that may not be there.
Columns are picked by name from what the table has; nothing here writes.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import MetaData, Table, func, inspect, select
from sqlmodel import Session

from config.db_types import utcnow

__all__ = ["SyncOverview", "invoice_sync_status", "retry_dead_rows", "sync_overview"]

OUTBOX = "sync_outbox"
CONNECTIONS = "connector_connection"
DEAD = "dead"
_SHOWN = ("id", "operation", "op", "kind", "object_type", "object_id", "our_id", "attempts",
          "last_outcome", "last_error", "updated_at")  # fmt: skip
_OBJECT_ID = ("invoice_id", "object_id", "our_id", "entity_id", "subject_id")
_OBJECT_KIND = ("object_type", "entity_type", "subject_type", "operation", "op", "kind")


@dataclass
class SyncOverview:
    connections: list[dict[str, Any]] = field(default_factory=list)
    outbox_exists: bool = False
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    dead: list[dict[str, Any]] = field(default_factory=list)
    dead_columns: list[str] = field(default_factory=list)

    @property
    def statuses(self) -> list[str]:
        return sorted({state for _, state in self.counts})


def _table(db: Session, name: str) -> Table | None:
    connection = db.connection()
    if not inspect(connection).has_table(name):
        return None
    return Table(name, MetaData(), autoload_with=connection)


def _connections(db: Session, partner_id: str) -> tuple[Table | None, list[dict[str, Any]]]:
    table = _table(db, CONNECTIONS)
    if table is None or "partner_id" not in table.c:
        return None, []
    wanted = [c for c in ("id", "name", "provider", "status", "last_error") if c in table.c]
    query = select(*[table.c[c] for c in wanted]).where(table.c.partner_id == partner_id)
    rows = [dict(row._mapping) for row in db.execute(query)]
    return table, rows


def _partner_filter(outbox: Table, partner_id: str, connection_ids: Sequence[str]) -> Any:
    if "partner_id" in outbox.c:
        return outbox.c.partner_id == partner_id
    if "connection_id" in outbox.c:
        return outbox.c.connection_id.in_(list(connection_ids) or [""])
    return None


def sync_overview(db: Session, partner_id: str) -> SyncOverview:
    overview = SyncOverview()
    _, overview.connections = _connections(db, partner_id)
    outbox = _table(db, OUTBOX)
    if outbox is None or "status" not in outbox.c:
        return overview
    overview.outbox_exists = True
    ids = [str(c["id"]) for c in overview.connections if "id" in c]
    where = _partner_filter(outbox, partner_id, ids)
    if where is None:
        return overview
    has_connection = "connection_id" in outbox.c
    key = outbox.c.connection_id if has_connection else outbox.c.status
    query = select(key, outbox.c.status, func.count()).where(where).group_by(key, outbox.c.status)
    names = {str(c.get("id")): str(c.get("name") or c.get("id")) for c in overview.connections}
    for connection_id, state, count in db.execute(query):
        name = names.get(str(connection_id), str(connection_id)) if has_connection else "all"
        overview.counts[(name, str(state))] = int(count)
    shown = [c for c in _SHOWN if c in outbox.c]
    if has_connection:
        shown.insert(1, "connection_id")
    overview.dead_columns = shown
    dead = select(*[outbox.c[c] for c in shown]).where(where, outbox.c.status == DEAD).limit(100)
    overview.dead = [dict(row._mapping) for row in db.execute(dead)]
    for row in overview.dead:
        if "connection_id" in row:
            row["connection_id"] = names.get(str(row["connection_id"]), row["connection_id"])
    return overview


def invoice_sync_status(
    db: Session, partner_id: str, invoice_ids: Sequence[int]
) -> dict[int, dict[str, str]] | None:
    """invoice id -> {connection: latest outbox status}; None when nothing is connected (or
    the outbox does not say which invoice a row is about)."""
    _, connections = _connections(db, partner_id)
    outbox = _table(db, OUTBOX)
    if not connections or outbox is None or "status" not in outbox.c or not invoice_ids:
        return None
    id_column = next((c for c in _OBJECT_ID if c in outbox.c), None)
    if id_column is None:
        return None
    names = {str(c.get("id")): str(c.get("name") or c.get("provider")) for c in connections}
    where = _partner_filter(outbox, partner_id, list(names))
    column = outbox.c[id_column]
    wanted = [str(i) for i in invoice_ids]
    query = select(column, outbox.c.status).where(where, column.in_(wanted))
    kind = next((c for c in _OBJECT_KIND if c in outbox.c), None)
    if "connection_id" in outbox.c:
        query = query.add_columns(outbox.c.connection_id)
    if kind is not None:
        query = query.add_columns(outbox.c[kind])
    found: dict[int, dict[str, str]] = {}
    for row in db.execute(query.order_by(*[c for c in outbox.primary_key.columns])):
        values = row._mapping
        if kind is not None and "invoice" not in str(values[kind]) and id_column != "invoice_id":
            continue
        connection = names.get(str(values.get("connection_id")), "all")
        try:
            invoice_id = int(str(values[id_column]))
        except ValueError:
            continue
        found.setdefault(invoice_id, {})[connection] = str(values["status"])
    return found


def retry_dead_rows(db: Session, partner_id: str, row_ids: Sequence[int] | None) -> int:
    """Through `sync.repository.retry_rows` (always scoped to the partner); 0 when the sync
    package is not installed. Looked up at run time: sync is built alongside the dashboard."""
    try:
        repository: Any = importlib.import_module("sync.repository")
    except ImportError:
        return 0
    retry = getattr(repository, "retry_rows", None)
    if retry is None:
        return 0
    return int(retry(db, utcnow(), row_ids=row_ids, partner_id=partner_id))
