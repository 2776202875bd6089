"""Usage drill-down (filter by client, usage type and month; page through events; stream the
selection as CSV) and the sync and reconciliation page."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from api.dashboard.figures import month_end
from api.dashboard.sync_state import retry_dead_rows, sync_overview
from api.dashboard.web import SignedIn, check_csrf, month_of, partner_in_view, render
from billing.metering.export import EXPORT_COLUMNS, export_csv_chunks
from billing.metering.repository import EventFilter
from billing.metering.service import InvalidCursorError, list_events
from billing.pricing.book import local_today
from billing.tenants.models import Partner
from billing.tenants.repository import TenantRepository
from config.db_types import utcnow
from config.request_session import AppEngine, DbSession

__all__ = ["EXPORT_COLUMNS", "router"]

PAGE = 50
Text = Annotated[str | None, Query(max_length=64)]


def _filter(
    partner: Partner, client: str | None, usage_type: str | None, period: str | None
) -> tuple[EventFilter, str]:
    """The events of the month (in the partner's time zone) or of all time ('all')."""
    if period == "all":
        return EventFilter(client or None, usage_type or None), "all"
    first = month_of(period, local_today(partner.timezone, utcnow()))
    zone = ZoneInfo(partner.timezone)
    start = datetime.combine(first, time.min, zone).astimezone(UTC)
    end = datetime.combine(month_end(first) + timedelta(days=1), time.min, zone).astimezone(UTC)
    return EventFilter(client or None, usage_type or None, start, end), f"{first:%Y-%m}"


router = APIRouter(prefix="/dashboard/p/{partner_id}", include_in_schema=False)


@router.get("/usage")
def usage_page(
    request: Request,
    partner_id: str,
    who: SignedIn,
    db: DbSession,
    client: Text = None,
    usage_type: Text = None,
    period: Annotated[str | None, Query(max_length=7)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    partner = partner_in_view(db, who, partner_id)
    where, shown = _filter(partner, client, usage_type, period)
    try:
        events, next_cursor = list_events(db, partner.id, where, cursor, PAGE)
    except InvalidCursorError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"cursor: {exc}") from exc
    tenants = TenantRepository(db)
    return render(
        request,
        "usage.html",
        who,
        partner,
        db=db,
        events=events,
        next_cursor=next_cursor,
        client=client or "",
        usage_type=usage_type or "",
        period=shown,
        clients=tenants.clients(partner.id),
        usage_types=tenants.usage_types(partner.id),
        first_page=cursor is None,
    )


@router.get("/usage.csv")
def usage_csv(
    partner_id: str,
    who: SignedIn,
    db: DbSession,
    engine: AppEngine,
    client: Text = None,
    usage_type: Text = None,
    period: Annotated[str | None, Query(max_length=7)] = None,
) -> Response:
    partner = partner_in_view(db, who, partner_id)
    where, shown = _filter(partner, client, usage_type, period)
    name = f"usage-{partner.id}-{shown}.csv"
    return StreamingResponse(
        export_csv_chunks(partner.id, where, costs=True, engine=engine),  # operators see margins
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/sync")
def sync_page(request: Request, partner_id: str, who: SignedIn, db: DbSession) -> Response:
    partner = partner_in_view(db, who, partner_id)
    return render(
        request,
        "sync.html",
        who,
        partner,
        db=db,
        overview=sync_overview(db, partner.id),
        retried=request.query_params.get("retried"),
    )


@router.post("/sync/retry", dependencies=[Depends(check_csrf)])
async def retry_dead(request: Request, partner_id: str, who: SignedIn, db: DbSession) -> Response:
    """Dead outbox rows of this partner back to pending (the sync package's own retry)."""
    form = await request.form()
    try:
        ids = [int(str(value)) for value in form.getlist("row")]
    except ValueError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "row: must be outbox row ids") from exc
    partner = partner_in_view(db, who, partner_id)
    every = form.get("all") == "1"
    count = retry_dead_rows(db, partner.id, None if every else ids) if ids or every else 0
    target = f"/dashboard/p/{partner_id}/sync?retried={count}"
    return RedirectResponse(target, status_code=303)
