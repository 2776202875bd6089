"""`GET /v1/reconciliations` and `/v1/reconciliations/{id}` (admin keys, own partner only: a
reconciliation compares our wholesale cost with the platform's bill, and cost is for admin
keys only).

Beside the stored machine fields (`summary`, `amount_minor`, ...) each run carries `report`:
what people read (the headline, errors and warnings, the total at stake per currency in major
units, the systems by name), the same figures as the e-mail and the dashboard."""

# No `from __future__ import annotations`: FastAPI must see the route annotations as objects.
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel, Field

from billing.tenants.auth import AUTH_RESPONSES, AdminKey, partner_of
from billing.tenants.schemas import ErrorResponse
from config.bounds import MAX_ID, database_id
from config.request_session import DbSession
from sync.reconcile.readable import readable_report
from sync.reconcile.report import as_json
from sync.reconcile.repository import differences_of, differences_of_runs, get_run, list_runs

__all__ = ["router"]


class RunOut(BaseModel):
    id: int
    period: str = Field(description="The month reconciled, e.g. 2026-10.")
    started_at: str = Field(description="ISO 8601, UTC.")
    finished_at: str | None
    differences: int
    summary: dict[str, Any] = Field(description="Per system: matched count and totals.")
    report: dict[str, Any] = Field(description="What people read (as the e-mail says it).")


class RunPage(BaseModel):
    items: list[RunOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page.")


_BAD_CURSOR: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "A cursor this API did not return."}
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "No such run for this key's partner."}
}

router = APIRouter(tags=["reconciliation"], responses=AUTH_RESPONSES)


@router.get(
    "/v1/reconciliations", summary="Reconciliation runs, newest first", responses=_BAD_CURSOR
)
def list_route(
    principal: AdminKey,
    session: DbSession,
    cursor: Annotated[str | None, Query(description="From the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> RunPage:
    """Keyset paging on the run id: a run finished while a client pages lands on the first
    page, never twice."""
    before = None if cursor is None else database_id(cursor)
    if cursor is not None and before is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "cursor: not one this API returned")
    rows = list_runs(session, partner_of(principal), limit + 1, before=before)
    runs = [run for run in rows[:limit] if run.id is not None]
    diffs = differences_of_runs(session, [run.id for run in runs if run.id is not None])
    items = [
        RunOut(
            id=run.id,
            period=run.period,
            started_at=run.started_at.isoformat(),
            finished_at=run.finished_at.isoformat() if run.finished_at else None,
            differences=run.differences,
            summary=run.summary,
            report=readable_report(session, run, diffs.get(run.id, [])).as_json(),
        )
        for run in runs
        if run.id is not None
    ]
    next_cursor = str(items[-1].id) if len(rows) > limit and items else None
    return RunPage(items=items, next_cursor=next_cursor)


@router.get(
    "/v1/reconciliations/{run_id}", summary="One run with every difference", responses=_NOT_FOUND
)
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
