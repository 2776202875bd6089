"""`GET /v1/reconciliations` and `/v1/reconciliations/{id}` (admin keys, own partner only: a
reconciliation compares our wholesale cost with the platform's bill, and cost is for admin
keys only)."""

# No `from __future__ import annotations`: FastAPI must see the route annotations as objects.
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status

from billing.tenants.endpoints import AUTH_RESPONSES, partner_of
from billing.tenants.models import Scope
from billing.tenants.schemas import Principal, RequireScope
from config.bounds import MAX_ID
from config.db import session_scope
from sync.reconcile.report import as_json
from sync.reconcile.repository import differences_of, get_run, list_runs

__all__ = ["build_router"]


def build_router(require: RequireScope) -> APIRouter:
    router = APIRouter(tags=["reconciliation"], responses=AUTH_RESPONSES)
    admin_key = Depends(require(Scope.ADMIN))

    @router.get("/v1/reconciliations", summary="Reconciliation runs, newest first")
    def list_route(
        principal: Annotated[Principal, admin_key],
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> list[dict[str, Any]]:
        with session_scope() as session:
            return [
                {
                    "id": run.id,
                    "period": run.period,
                    "started_at": run.started_at.isoformat(),
                    "finished_at": run.finished_at.isoformat() if run.finished_at else None,
                    "differences": run.differences,
                    "summary": run.summary,
                }
                for run in list_runs(session, partner_of(principal), limit)
            ]

    @router.get("/v1/reconciliations/{run_id}", summary="One run with every difference")
    def get_route(
        run_id: Annotated[int, Path(ge=1, le=MAX_ID, description="A run id.")],
        principal: Annotated[Principal, admin_key],
    ) -> dict[str, Any]:
        with session_scope() as session:
            run = get_run(session, run_id, partner_of(principal))
            if run is None or run.id is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, f"reconciliation {run_id} not found")
            return as_json(run, differences_of(session, run.id))

    return router
