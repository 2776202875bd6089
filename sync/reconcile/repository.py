"""Stored runs and their differences (storing a run, reading it for the CLI, report,
endpoints and fixes, marking a difference fixed), and the client names a report prints."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, select

from billing.tenants.models import Client
from config.key_arrays import keyed_queries, on_postgres
from mappings.models import ExternalRef, RefKind
from sync.reconcile.models import ReconcileDifference, ReconcileRun

__all__ = [
    "add_differences",
    "add_run",
    "client_names",
    "differences_of",
    "differences_of_runs",
    "forget_invoice_ref",
    "get_run",
    "list_runs",
    "mark_difference_fixed",
    "run_started_since",
]


def get_run(session: Session, run_id: int, partner_id: str | None = None) -> ReconcileRun | None:
    run = session.get(ReconcileRun, run_id)
    if run is None or (partner_id is not None and run.partner_id != partner_id):
        return None
    return run


def list_runs(
    session: Session, partner_id: str, limit: int = 50, before: int | None = None
) -> list[ReconcileRun]:
    """Newest first; `before`: only runs older than this id (keyset paging)."""
    query = select(ReconcileRun).where(col(ReconcileRun.partner_id) == partner_id)
    if before is not None:
        query = query.where(col(ReconcileRun.id) < before)
    return list(session.exec(query.order_by(col(ReconcileRun.id).desc()).limit(limit)))


def differences_of(session: Session, run_id: int) -> list[ReconcileDifference]:
    query = (
        select(ReconcileDifference)
        .where(col(ReconcileDifference.run_id) == run_id)
        .order_by(col(ReconcileDifference.kind), col(ReconcileDifference.id))
    )
    return list(session.exec(query))


def differences_of_runs(
    session: Session, run_ids: Sequence[int]
) -> dict[int, list[ReconcileDifference]]:
    """Run id -> its differences (as `differences_of` orders them): IN lists on SQLite, a join
    on an array on PostgreSQL (`config.key_arrays`)."""
    found: dict[int, list[ReconcileDifference]] = defaultdict(list)
    query = select(ReconcileDifference).order_by(
        col(ReconcileDifference.kind), col(ReconcileDifference.id)
    )
    column = col(ReconcileDifference.run_id)
    for chunk in keyed_queries(query, column, run_ids, postgres=on_postgres(session)):
        for diff in session.exec(chunk):
            found[diff.run_id].append(diff)
    return found


def client_names(session: Session, partner_id: str) -> dict[str, str]:
    """Client id -> name, every client of the partner (archived ones too: old invoices)."""
    query = select(col(Client.id), col(Client.name)).where(col(Client.partner_id) == partner_id)
    return {str(client_id): str(name) for client_id, name in session.execute(query)}


def add_run(session: Session, run: ReconcileRun) -> int:
    """Store a new run; its id (for its differences)."""
    session.add(run)
    session.flush()
    assert run.id is not None
    return run.id


def add_differences(session: Session, differences: Iterable[ReconcileDifference]) -> None:
    session.add_all(differences)


def run_started_since(session: Session, partner_id: str, since: datetime) -> int | None:
    """The id of a run of the partner started at or after `since`, if any."""
    query = select(ReconcileRun.id).where(
        col(ReconcileRun.partner_id) == partner_id,
        col(ReconcileRun.started_at) >= since,
    )
    return session.exec(query).first()


def mark_difference_fixed(session: Session, difference_id: int, when: datetime) -> None:
    row = session.exec(
        select(ReconcileDifference).where(col(ReconcileDifference.id) == difference_id)
    ).one()
    row.fixed_at = when
    session.add(row)


def forget_invoice_ref(session: Session, connection_id: str, invoice_id: int) -> None:
    """Drop the stored remote id of our invoice on the connection, so the next push creates
    it there again instead of updating what the remote lost."""
    session.execute(
        delete(ExternalRef).where(
            col(ExternalRef.connection_id) == connection_id,
            col(ExternalRef.kind) == RefKind.INVOICE,
            col(ExternalRef.our_id) == str(invoice_id),
        )
    )
