"""Reading stored runs and their differences (CLI, report, endpoints, fixes), and the client
names a report prints."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlmodel import Session, col, select

from billing.tenants.models import Client
from sync.reconcile.models import ReconcileDifference, ReconcileRun

__all__ = ["client_names", "differences_of", "differences_of_runs", "get_run", "list_runs"]

_CHUNK = 500


def get_run(session: Session, run_id: int, partner_id: str | None = None) -> ReconcileRun | None:
    run = session.get(ReconcileRun, run_id)
    if run is None or (partner_id is not None and run.partner_id != partner_id):
        return None
    return run


def list_runs(session: Session, partner_id: str, limit: int = 50) -> list[ReconcileRun]:
    query = (
        select(ReconcileRun)
        .where(col(ReconcileRun.partner_id) == partner_id)
        .order_by(col(ReconcileRun.id).desc())
        .limit(limit)
    )
    return list(session.exec(query))


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
    """Run id -> its differences (as `differences_of` orders them), in one query per 500 runs."""
    found: dict[int, list[ReconcileDifference]] = defaultdict(list)
    wanted = list(run_ids)
    for start in range(0, len(wanted), _CHUNK):
        query = (
            select(ReconcileDifference)
            .where(col(ReconcileDifference.run_id).in_(wanted[start : start + _CHUNK]))
            .order_by(col(ReconcileDifference.kind), col(ReconcileDifference.id))
        )
        for diff in session.exec(query):
            found[diff.run_id].append(diff)
    return found


def client_names(session: Session, partner_id: str) -> dict[str, str]:
    """Client id -> name, every client of the partner (archived ones too: old invoices)."""
    query = select(col(Client.id), col(Client.name)).where(col(Client.partner_id) == partner_id)
    return {str(client_id): str(name) for client_id, name in session.execute(query)}
