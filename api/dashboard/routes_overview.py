"""Portfolio (margins for a period, trend, best/worst, alerts) and client pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import col, select

from api.dashboard.charts import COST_COLOR, MARGIN_COLOR, Series, column_chart, trend_chart
from api.dashboard.figures import client_periods, month_end, portfolio, previous_month
from api.dashboard.web import SignedIn, brand_of, month_of, not_found, partner_in_view, render
from billing.invoicing.repository import InvoiceFilter
from billing.invoicing.service import list_invoices
from billing.payments.repository import PaymentFilter, PaymentsRepository
from billing.pricing.book import client_period, local_today
from billing.pricing.describe import describe_price
from billing.pricing.live import live_figures
from billing.pricing.repository import PricingRepository
from billing.pricing.service import pricing_for
from billing.tenants.errors import TenantError
from billing.tenants.logos import get_logo
from billing.tenants.service import get_client
from config.db_types import utcnow
from config.request_session import DbSession
from sync.stripe.models import StripeCustomer

__all__ = ["router"]

Period = Annotated[str | None, Query(max_length=7, description="A month such as 2026-10.")]

router = APIRouter(prefix="/dashboard/p/{partner_id}", include_in_schema=False)


@router.get("")
def portfolio_page(
    request: Request,
    partner_id: str,
    who: SignedIn,
    db: DbSession,
    period: Period = None,
) -> Response:
    partner = partner_in_view(db, who, partner_id)
    first = month_of(period, local_today(partner.timezone, utcnow()))
    view = portfolio(db, partner.id, partner.currency, first)
    brand = brand_of(partner)
    labels = [point.label for point in view.trend]
    chart = trend_chart(
        f"Revenue, wholesale cost and margin per billing period, {labels[0]} to {labels[-1]}",
        labels,
        [
            Series("Revenue", brand.color, tuple(p.charge for p in view.trend)),
            Series("Wholesale cost", COST_COLOR, tuple(p.cost for p in view.trend)),
            Series("Margin", MARGIN_COLOR, tuple(p.margin for p in view.trend)),
        ],
        partner.currency,
    )
    return render(
        request,
        "portfolio.html",
        who,
        partner,
        db=db,
        view=view,
        chart=chart,
        period=f"{first:%Y-%m}",
        previous=f"{previous_month(first):%Y-%m}",
        following=f"{month_end(first) + timedelta(days=1):%Y-%m}",
    )


@router.get("/logo")
def logo(partner_id: str, who: SignedIn, db: DbSession) -> Response:
    """The partner's logo file (the one its invoices embed), for the page header."""
    partner = partner_in_view(db, who, partner_id)
    found = get_logo(db, partner.id)
    if found is None:
        raise not_found()
    return Response(
        found.content,
        media_type=found.media_type,
        headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=300",
        },
    )


@router.get("/clients/{client_id}")
def client_page(
    request: Request,
    partner_id: str,
    client_id: str,
    who: SignedIn,
    db: DbSession,
) -> Response:
    partner = partner_in_view(db, who, partner_id)
    try:
        client = get_client(db, partner.id, client_id)
    except TenantError as exc:
        raise not_found() from exc
    figures = live_figures(db, partner.id, client.id, utcnow())
    pricing = pricing_for(db, partner.id, client.id, figures.period)
    invoices = list_invoices(db, partner.id, InvoiceFilter(client_id=client.id))
    payments = PaymentsRepository(db).payments(partner.id, PaymentFilter(client_id=client.id))
    numbers = {i.invoice_id: i.number for i in invoices}
    card = db.exec(
        select(StripeCustomer).where(
            col(StripeCustomer.partner_id) == partner.id,
            col(StripeCustomer.client_id) == client.id,
        )
    ).first()
    invoices.sort(key=lambda i: (i.period_start, i.invoice_id), reverse=True)
    rows = figures.margins
    chart = column_chart(
        f"Charge and wholesale cost per usage type, {figures.period.start} to date",
        [figures.names.get(m.usage_type, m.usage_type) for m in rows],
        [
            Series("Charge", brand_of(partner).color, tuple(m.charge for m in rows)),
            Series("Wholesale cost", COST_COLOR, tuple(m.cost for m in rows)),
        ],
        figures.statement.currency,
    )
    today = local_today(client.timezone, utcnow())
    periods = client_periods(db, partner.id, client.id, today)
    current = client_period(client.billing_anchor_day, today)
    by_month = {f"{i.period_start:%Y-%m}": i for i in invoices if i.status != "void"}
    prices = {code: describe_price(price) for code, price in sorted(pricing.plan.prices.items())}
    overrides = {
        code: describe_price(price) for code, price in sorted(pricing.terms.price_overrides.items())
    }
    return render(
        request,
        "client.html",
        who,
        partner,
        db=db,
        client=client,
        figures=figures,
        rows=rows,
        chart=chart,
        plan=pricing.plan,
        terms=pricing.terms,
        prices=prices,
        overrides=overrides,
        invoices=invoices,
        payments=list(reversed(payments)),
        numbers=numbers,
        card=card,
        period_last=figures.period.end - timedelta(days=1),
        periods=periods,
        invoice_of=by_month,
        plan_codes=sorted(p.code for p in PricingRepository(db).plans(partner.id)),
        current=current,
        notice=request.query_params.get("notice"),
        error=request.query_params.get("error"),
    )
