"""`GET /v1/reconciliations` and `/v1/reconciliations/{id}` (admin keys, own partner only: a
reconciliation compares our wholesale cost with the platform's bill, and cost is for admin
keys only).

Beside the stored machine fields (`summary`, `amount_minor`, ...) each run carries `report`:
what people read (the headline, errors and warnings, the total at stake per currency in major
units, the systems by name), the same figures as the e-mail and the dashboard."""

# No `from __future__ import annotations`: FastAPI must see the route annotations as objects.
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, status

from billing.tenants.auth import AUTH_RESPONSES, AdminKey, partner_of
from config.bounds import MAX_ID
from config.request_session import DbSession
from sync.reconcile.readable import readable_report
from sync.reconcile.report import as_json
from sync.reconcile.repository import differences_of, differences_of_runs, get_run, list_runs

__all__ = ["router"]


router = APIRouter(tags=["reconciliation"], responses=AUTH_RESPONSES)


@router.get("/v1/reconciliations", summary="Reconciliation runs, newest first")
def list_route(
    principal: AdminKey,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[dict[str, Any]]:
    runs = list_runs(session, partner_of(principal), limit)
    diffs = differences_of_runs(session, [run.id for run in runs if run.id is not None])
    return [
        {
            "id": run.id,
            "period": run.period,
            "started_at": run.started_at.isoformat(),
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "differences": run.differences,
            "summary": run.summary,
            "report": readable_report(session, run, diffs.get(run.id or 0, [])).as_json(),
        }
        for run in runs
    ]


@router.get("/v1/reconciliations/{run_id}", summary="One run with every difference")
def get_route(
    run_id: Annotated[int, Path(ge=1, le=MAX_ID, description="A run id.")],
    principal: AdminKey,
    session: DbSession,
) -> dict[str, Any]:
    run = get_run(session, run_id, partner_of(principal))
    if run is None or run.id is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"reconciliation {run_id} not found")
    diffs = differences_of(session, run.id)
    return as_json(run, diffs, readable_report(session, run, diffs))
