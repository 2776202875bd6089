"""The clients page: find a client by name, id or e-mail; filter by plan, status and margin;
sort by revenue or margin; 50 a page. Each row leads to the client's page. A bad filter value
is named with its reason on the page and left off."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.dashboard.clients_index import PAGE, ClientSort, ClientsQuery, client_rows
from api.dashboard.web import SignedIn, month_of, partner_in_view, render
from billing.pricing.book import local_today
from billing.pricing.repository import PricingRepository
from billing.tenants.models import ClientStatus
from config.db_types import utcnow
from config.request_session import DbSession

__all__ = ["router"]

router = APIRouter(prefix="/dashboard/p/{partner_id}", include_in_schema=False)
_FIELDS = ("q", "plan", "status", "under", "sort", "period")


@router.get("/clients")
def clients_page(
    request: Request, partner_id: str, who: SignedIn, db: DbSession, page: int = 1
) -> Response:
    partner = partner_in_view(db, who, partner_id)
    values = {name: (request.query_params.get(name) or "").strip()[:200] for name in _FIELDS}
    problems: list[str] = []
    plans = sorted(p.code for p in PricingRepository(db).plans(partner.id))
    plan = values["plan"] or None
    if plan is not None and plan not in (*plans, "own"):
        problems.append(f"plan: {plan[:40]!r} is not one of {', '.join([*plans, 'own'])}")
        plan = None
    state = _member(values["status"], ClientStatus, "status", problems)
    sort = _member(values["sort"], ClientSort, "sort", problems)
    now = utcnow()
    first = month_of(values["period"] or None, local_today(partner.timezone, now))
    query = ClientsQuery(
        values["q"],
        plan,
        ClientStatus(state) if state else None,
        values["under"] == "1",
        ClientSort(sort) if sort else ClientSort.NAME,
    )
    rows = client_rows(db, partner.id, first, query, now)
    pages = max(1, -(-len(rows) // PAGE))
    page = min(max(page, 1), pages)
    kept = {k: v for k, v in values.items() if v}
    return render(
        request,
        "clients.html",
        who,
        partner,
        db=db,
        rows=rows[(page - 1) * PAGE : page * PAGE],
        total=len(rows),
        page=page,
        pages=pages,
        link=lambda number: urlencode({**kept, "page": number}),
        values=values,
        plans=plans,
        statuses=[s.value for s in ClientStatus],
        sorts=[s.value for s in ClientSort],
        period=f"{first:%Y-%m}",
        problems=problems,
        error=request.query_params.get("error"),
        notice=request.query_params.get("notice"),
    )


def _member(
    value: str, kind: type[ClientStatus] | type[ClientSort], name: str, problems: list[str]
) -> ClientStatus | ClientSort | None:
    if not value:
        return None
    allowed = [member.value for member in kind]
    if value not in allowed:
        problems.append(f"{name}: {value[:40]!r} is not one of {', '.join(allowed)}")
        return None
    return kind(value)
