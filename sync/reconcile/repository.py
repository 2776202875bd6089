"""Reading stored runs and their differences (CLI, report, endpoints, fixes)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from sync.reconcile.models import ReconcileDifference, ReconcileRun

__all__ = ["differences_of", "get_run", "list_runs"]


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
