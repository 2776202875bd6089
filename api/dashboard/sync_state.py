"""What the sync and reconciliation page reads, through the sync package's own functions:
connections (`sync.connections.connection_summaries`), outbox counts and dead rows
(`sync.status.status_report`, what `sync status` prints), the retry of dead rows
(`sync.repository.retry_rows`), per invoice the state of its latest outbox row per
connection, and the latest reconciliation as finance reads it
(`sync.reconcile.readable.readable_report`, the same figures as the e-mailed report). Every
call is scoped to one partner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from billing.invoicing.browse_repository import MISSING_KIND
from config.db_types import utcnow
from config.key_arrays import keyed_queries, on_postgres
from sync.connections import ConnectionSummary, connection_summaries
from sync.models import OutboxOp, OutboxRow, OutboxStatus
from sync.reconcile.models import ReconcileRun
from sync.reconcile.readable import ReadableReport, readable_report
from sync.reconcile.repository import differences_of, list_runs
from sync.repository import retry_rows
from sync.status import status_report

__all__ = [
    "MISSING",
    "SyncOverview",
    "invoice_sync_status",
    "retry_dead_rows",
    "sync_overview",
]

STATES = tuple(status.value for status in OutboxStatus)
_INVOICE_OPS = (OutboxOp.INVOICE_PUSH, OutboxOp.INVOICE_VOID)
MISSING = "missing"
_NOT_IN_USE = ("disconnected", "pending")  # connectors' ConnectionStatus


@dataclass
class SyncOverview:
    connections: list[ConnectionSummary] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    dead: list[dict[str, Any]] = field(default_factory=list)
    states: tuple[str, ...] = STATES
    reconciliation: ReconcileRun | None = None  # the newest run of the partner
    report: ReadableReport | None = None  # that run as finance reads it

    def name_of(self, connection_id: str) -> str:
        for connection in self.connections:
            if connection.id == connection_id:
                return connection.display_name
        return connection_id


def sync_overview(db: Session, partner_id: str) -> SyncOverview:
    report = status_report(db, partner_id, dead_limit=100)
    runs = list_runs(db, partner_id, limit=1)
    latest = runs[0] if runs else None
    return SyncOverview(
        connections=connection_summaries(db, partner_id=partner_id),
        outbox=list(report["connections"]),
        dead=list(report["dead"]),
        reconciliation=latest,
        # Links relative to the dashboard being looked at, not the configured public URL.
        report=readable_report(db, latest, base_url="") if latest is not None else None,
    )


def invoice_sync_status(
    db: Session, partner_id: str, invoice_ids: Sequence[int]
) -> dict[int, dict[str, str]] | None:
    """invoice id -> {connection name: state of its newest invoice row}, for the partner's
    connections in use only: a disconnected (or never completed) system's old rows say nothing
    about today; one waiting to be authorised again stays, its rows read `paused`, because
    that is something to act on. None when no connection is in use. An invoice the latest reconciliation found missing in
    a system reads `missing` there, whatever its row says: "done" would be false comfort."""
    active = [
        c for c in connection_summaries(db, partner_id=partner_id) if c.status not in _NOT_IN_USE
    ]
    if not active:
        return None
    names = {c.id: c.name for c in active}
    found: dict[int, dict[str, str]] = {}
    wanted = [str(i) for i in invoice_ids]
    query = (
        select(OutboxRow.our_id, OutboxRow.connection_id, OutboxRow.status)
        .where(col(OutboxRow.partner_id) == partner_id, col(OutboxRow.op).in_(_INVOICE_OPS))
        .order_by(col(OutboxRow.id))
    )
    column = col(OutboxRow.our_id)
    for chunk in keyed_queries(query, column, wanted, postgres=on_postgres(db)):
        for our_id, connection_id, state in db.exec(chunk):
            if connection_id in names:
                found.setdefault(int(our_id), {})[names[connection_id]] = str(state)
    for invoice_id, name in _missing(db, partner_id, active, set(invoice_ids)):
        found.setdefault(invoice_id, {})[name] = MISSING
    return found


def _missing(
    db: Session, partner_id: str, active: Sequence[ConnectionSummary], invoice_ids: set[int]
) -> list[tuple[int, str]]:
    """(invoice id, connection name) the partner's latest reconciliation found missing."""
    runs = list_runs(db, partner_id, limit=1)
    if not runs or runs[0].id is None or not invoice_ids:
        return []
    by_system = {f"{c.provider}:{c.name}": c.name for c in active}
    return [
        (difference.invoice_id, by_system[difference.system])
        for difference in differences_of(db, runs[0].id)
        if difference.kind == MISSING_KIND
        and difference.invoice_id in invoice_ids
        and difference.system in by_system
    ]


def retry_dead_rows(db: Session, partner_id: str, row_ids: Sequence[int] | None) -> int:
    """Dead (or paused) rows of this partner back to pending; every dead row when `row_ids`
    is None."""
    return retry_rows(db, utcnow(), row_ids=row_ids, partner_id=partner_id)
