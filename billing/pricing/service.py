"""Reading price books: the book of a partner (or of some of its clients), the pricing in
force for a client's period, and plans as the API shows them. Services never commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from sqlmodel import Session

from billing.pricing.book import (
    ClientPricing,
    PlanHeader,
    PriceBook,
    TermsValue,
    Timeline,
    custom_plan_code,
)
from billing.pricing.models import PlanVersion, PriceScope, PriceVersion
from billing.pricing.repository import PriceRow, PricingRepository
from billing.rating import BillingPeriod
from billing.tenants.errors import NotFoundError
from billing.tenants.repository import TenantRepository
from billing.tenants.service import get_client, get_partner
from config.prices import PerUnitPrice, PriceModel, parse_price

_K = TypeVar("_K")
_T = TypeVar("_T")

__all__ = [
    "PlanHistory",
    "PlanVersionView",
    "load_book",
    "plan_histories",
    "plan_history",
    "pricing_for",
]


def load_book(
    session: Session, partner_id: str, client_ids: Sequence[str] | None = None
) -> PriceBook:
    """Every version the partner's rating needs, in a handful of queries; with `client_ids`,
    client-specific rows of those clients only."""
    partner = get_partner(session, partner_id)
    repo = PricingRepository(session)
    book = PriceBook(partner.id, partner.currency, partner.timezone)
    usage_types = TenantRepository(session).usage_types(partner_id)
    book.names = {t.code: t.display_name for t in usage_types}
    book.default_wholesale = {
        t.code: PerUnitPrice(model="per_unit", unit_price=t.wholesale_rate) for t in usage_types
    }
    if client_ids is None:
        plan_rows = repo.plan_versions(partner_id)
    else:
        plan_rows = repo.plan_versions(partner_id, client_plans=False)
        plan_rows += repo.plan_versions(partner_id, [custom_plan_code(c) for c in client_ids])
    for row in plan_rows:
        header = PlanHeader(row.name, row.currency, row.base_fee, row.minimum_spend)
        _timeline(book.plans, row.plan_code).add(row.effective_from, header)
    parsed: dict[str, PriceModel] = {}
    for price_row in repo.book_price_versions(partner_id, client_ids):
        timelines = book.prices.setdefault((price_row.scope, price_row.owner), {})
        timeline = _timeline(timelines, price_row.usage_type)
        timeline.add(price_row.effective_from, _parse(price_row, parsed))
    for terms in repo.book_terms(partner_id, client_ids):
        value = TermsValue(
            terms.plan_code,
            terms.custom_plan,
            terms.discount_percent,
            terms.tax_name,
            terms.tax_percent,
            terms.auto_charge,
        )
        _timeline(book.terms, terms.client_id).add(terms.effective_from, value)
    for dates in repo.client_dates(partner_id, client_ids):
        book.dates[dates.client_id] = (dates.starts_on, dates.ends_on)
    return book


def _timeline(timelines: dict[_K, Timeline[_T]], key: _K) -> Timeline[_T]:
    found = timelines.get(key)
    if found is None:
        found = timelines[key] = Timeline()
    return found


def _parse(row: PriceVersion | PriceRow, parsed: dict[str, PriceModel]) -> PriceModel | None:
    """Plans' prices repeat across versions; each distinct JSON is validated once."""
    if row.price is None:
        return None
    key = repr(sorted(row.price.items()))
    price = parsed.get(key)
    if price is None:
        price = parsed[key] = parse_price(row.price)
    return price


def pricing_for(
    session: Session, partner_id: str, client_id: str, period: BillingPeriod
) -> ClientPricing:
    """`(plan, client terms, wholesale prices)` in force at the start of `period`."""
    get_client(session, partner_id, client_id)
    return load_book(session, partner_id, [client_id]).client_pricing(client_id, period)


@dataclass(frozen=True, slots=True)
class PlanVersionView:
    effective_from: date
    header: PlanHeader
    prices: dict[str, PriceModel]


@dataclass(frozen=True, slots=True)
class PlanHistory:
    code: str
    versions: tuple[PlanVersionView, ...]


def _history(code: str, rows: list[PlanVersion], prices: list[PriceVersion]) -> PlanHistory:
    """Each date on which the header or any price changed, with the whole plan as of then."""
    book = PriceBook("", "", "")
    for row in rows:
        header = PlanHeader(row.name, row.currency, row.base_fee, row.minimum_spend)
        book.plans.setdefault(code, Timeline()).add(row.effective_from, header)
    parsed: dict[str, PriceModel] = {}
    for price_row in prices:
        timelines = book.prices.setdefault((PriceScope.PLAN, code), {})
        timelines.setdefault(price_row.usage_type, Timeline()).add(
            price_row.effective_from, _parse(price_row, parsed)
        )
    days = sorted({r.effective_from for r in rows} | {p.effective_from for p in prices})
    versions = []
    for day in days:
        in_force = book.plans[code].at(day) if code in book.plans else None
        if in_force is not None:
            prices_then = book.prices_at(PriceScope.PLAN, code, day)
            versions.append(PlanVersionView(day, in_force, prices_then))
    return PlanHistory(code, tuple(versions))


def plan_history(session: Session, partner_id: str, code: str) -> PlanHistory:
    repo = PricingRepository(session)
    if repo.plan(partner_id, code) is None:
        raise NotFoundError("plan", code)
    rows = repo.plan_versions(partner_id, [code])
    return _history(code, rows, repo.price_versions(partner_id, PriceScope.PLAN, [code]))


def plan_histories(session: Session, partner_id: str) -> list[PlanHistory]:
    """The partner's plans (not clients' own plans) with every version."""
    repo = PricingRepository(session)
    rows = repo.plan_versions(partner_id, client_plans=False)
    prices = repo.price_versions(partner_id, PriceScope.PLAN)
    codes = [plan.code for plan in repo.plans(partner_id)]
    return [
        _history(
            code,
            [r for r in rows if r.plan_code == code],
            [p for p in prices if p.owner == code],
        )
        for code in codes
    ]
