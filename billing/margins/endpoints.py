"""`GET /v1/margins`: margins per billing period, as `python main.py margins` prints them.

`?period=2026-11` is every client's period starting in November 2026; `?from=&to=` (days)
select the periods starting on those days. Admin keys only (margins carry wholesale cost,
which read keys never see); the key's partner only.
"""

# No `from __future__ import annotations`: FastAPI must see the route annotations as objects.
from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from billing.margins.cli import selection_of
from billing.margins.schemas import MarginReportOut, margins_out
from billing.margins.service import GroupBy, margins
from billing.pricing.book import local_today
from billing.tenants.auth import AUTH_RESPONSES, AdminKey, partner_of
from billing.tenants.endpoints import translate_errors
from billing.tenants.service import get_partner
from config.db_types import utcnow
from config.request_session import DbSession

__all__ = ["router"]


router = APIRouter(prefix="/v1", responses=AUTH_RESPONSES)


@router.get(
    "/margins",
    tags=["margins"],
    response_model_by_alias=True,
    summary="Charge, cost and margin per billing period (admin keys only)",
)
def get_margins(
    principal: AdminKey,
    session: DbSession,
    period: Annotated[
        str | None,
        Query(max_length=7, description="A month such as 2026-11 (default: this month)."),
    ] = None,
    start: Annotated[
        date | None, Query(alias="from", description="Periods starting on or after this day.")
    ] = None,
    end: Annotated[
        date | None, Query(alias="to", description="Periods starting on or before this day.")
    ] = None,
    group_by: Annotated[GroupBy, Query(description="client, usage_type or period")] = "client",
) -> MarginReportOut:
    """Charge, cost, margin and margin % per billing period: invoices net of tax, plus
    what is not invoiced yet (`unbilled_charge`: late usage of an invoiced period, or a
    period still open, shown with its live figures). Clients under the partner's
    `margin_alert_percent` are flagged."""
    partner_id = partner_of(principal)
    with translate_errors():
        today = local_today(get_partner(session, partner_id).timezone, utcnow())
        try:
            selection = selection_of(period, start, end, today)
        except ValueError as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
        return margins_out(margins(session, partner_id, selection, group_by))
