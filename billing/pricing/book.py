"""The price book in memory: every version of a partner's plans, prices and client terms, and
the one rule that picks the version in force for a period.

Pure (no database): the repository loads rows, this module answers "what did client C pay in
the period starting D?". The rule (docs/partner-file.md, "Versions"): each thing's version with the greatest
`effective_from` on or before the period's first day, so a change dated after a period began
never reaches that period. Loaded once per run, it rates 10,000 clients without a query each.
"""

from __future__ import annotations

import calendar
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Generic, NamedTuple, TypeVar
from zoneinfo import ZoneInfo

from billing.pricing.models import PriceScope
from billing.rating import BillingPeriod, ClientTerms, PlanLike, PlanPricing, TaxRate
from config.prices import PriceModel

__all__ = [
    "BEGINNING",
    "NO_PLAN",
    "ClientPricing",
    "PlanHeader",
    "PriceBook",
    "TermsValue",
    "Timeline",
    "client_period",
    "custom_plan_code",
    "local_today",
    "period_window",
]

BEGINNING = date(1970, 1, 1)
"""`effective_from` of a first version created without a date: it covers all time before it,
because nothing was priced before and so nothing already rated can change."""

NO_PLAN = PlanPricing(name="No plan in force")
"""What a client without a plan in force is rated with: nothing is charged, cost still counts."""

_T = TypeVar("_T")


def custom_plan_code(client_id: str) -> str:
    """The code of a client's own plan; a colon never occurs in a partner's plan codes."""
    return f"client:{client_id}"


def local_today(timezone: str, now: datetime) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


def _anchor(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _shift(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + months
    return index // 12, index % 12 + 1


def client_period(billing_day: int, on: date) -> BillingPeriod:
    """The monthly period containing `on` anchored on `billing_day`. Days 29 to 31 (accepted
    by the tenants API) mean that day, or the month's last day in a shorter month."""
    if billing_day <= 28:
        return BillingPeriod.monthly(on, billing_day)
    this = _anchor(on.year, on.month, billing_day)
    if on >= this:
        return BillingPeriod(this, _anchor(*_shift(on.year, on.month, 1), billing_day))
    return BillingPeriod(_anchor(*_shift(on.year, on.month, -1), billing_day), this)


def period_window(period: BillingPeriod, timezone: str) -> tuple[datetime, datetime]:
    """The period's `[start, end)` as UTC instants: local midnights in the client's zone."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(period.start, time.min, zone).astimezone(UTC)
    end = datetime.combine(period.end, time.min, zone).astimezone(UTC)
    return start, end


@dataclass(frozen=True, slots=True)
class PlanHeader:
    """A plan version without its prices (money in major units of `currency`)."""

    name: str
    currency: str
    base_fee: Decimal
    minimum_spend: Decimal | None


@dataclass(frozen=True, slots=True)
class TermsValue:
    """A client terms version: plan assignment, own plan or not, discount, tax, auto charge."""

    plan_code: str | None
    custom_plan: bool
    discount_percent: Decimal
    tax_name: str | None
    tax_percent: Decimal | None
    auto_charge: bool


class Timeline(Generic[_T]):
    """The versions of one thing, ordered by `effective_from`."""

    __slots__ = ("dates", "values")

    def __init__(self, versions: Iterable[tuple[date, _T]] = ()) -> None:
        ordered = sorted(versions, key=lambda version: version[0])
        self.dates = [day for day, _ in ordered]
        self.values = [value for _, value in ordered]

    def add(self, day: date, value: _T) -> None:
        index = bisect_right(self.dates, day)
        if index and self.dates[index - 1] == day:
            self.values[index - 1] = value
            return
        self.dates.insert(index, day)
        self.values.insert(index, value)

    def at(self, day: date) -> _T | None:
        """The version in force on `day`, or None before the first one."""
        index = bisect_right(self.dates, day)
        return self.values[index - 1] if index else None

    def latest(self) -> tuple[date, _T] | None:
        return (self.dates[-1], self.values[-1]) if self.dates else None

    def __bool__(self) -> bool:
        return bool(self.dates)


class ClientPricing(NamedTuple):
    """What `rate_period` and `rate_costs` need for one client and period."""

    plan: PlanLike
    terms: ClientTerms
    wholesale: dict[str, PriceModel]


@dataclass
class PriceBook:
    """One partner's versions (all of them, or those of some clients)."""

    partner_id: str
    currency: str
    timezone: str
    names: dict[str, str] = field(default_factory=dict)
    plans: dict[str, Timeline[PlanHeader]] = field(default_factory=dict)
    prices: dict[tuple[PriceScope, str], dict[str, Timeline[PriceModel | None]]] = field(
        default_factory=dict
    )
    terms: dict[str, Timeline[TermsValue]] = field(default_factory=dict)
    dates: dict[str, tuple[date | None, date | None]] = field(default_factory=dict)
    default_wholesale: dict[str, PriceModel] = field(default_factory=dict)
    _plan_cache: dict[tuple[str, date], PlanPricing | None] = field(default_factory=dict)
    _price_cache: dict[tuple[PriceScope, str, date], dict[str, PriceModel]] = field(
        default_factory=dict
    )

    def prices_at(self, scope: PriceScope, owner: str, day: date) -> dict[str, PriceModel]:
        """Every usage type's price of one owner in force on `day` (removed ones left out)."""
        key = (scope, owner, day)
        cached = self._price_cache.get(key)
        if cached is None:
            cached = {}
            for usage_type, timeline in self.prices.get((scope, owner), {}).items():
                price = timeline.at(day)
                if price is not None:
                    cached[usage_type] = price
            self._price_cache[key] = cached
        return cached

    def plan_at(self, code: str, day: date) -> PlanPricing | None:
        key = (code, day)
        if key in self._plan_cache:
            return self._plan_cache[key]
        timeline = self.plans.get(code)
        header = timeline.at(day) if timeline else None
        plan = None
        if header is not None:
            plan = PlanPricing(
                name=header.name,
                base_fee=header.base_fee,
                minimum_spend=header.minimum_spend,
                prices=self.prices_at(PriceScope.PLAN, code, day),
            )
        self._plan_cache[key] = plan
        return plan

    def plan_currency(self, code: str, day: date) -> str | None:
        timeline = self.plans.get(code)
        header = timeline.at(day) if timeline else None
        return None if header is None else header.currency

    def wholesale_at(self, day: date) -> dict[str, PriceModel]:
        """Wholesale prices in force; a usage type without one (set up through the tenants API,
        not a partner file) costs its per-unit `wholesale_rate`."""
        versions = self.prices_at(PriceScope.WHOLESALE, "", day)
        if not self.default_wholesale:
            return versions
        return {**self.default_wholesale, **versions}

    def terms_at(self, client_id: str, day: date) -> TermsValue | None:
        timeline = self.terms.get(client_id)
        return timeline.at(day) if timeline else None

    def client_pricing(self, client_id: str, period: BillingPeriod) -> ClientPricing:
        """The plan, terms and wholesale prices in force at the start of `period`."""
        day = period.start
        starts_on, ends_on = self.dates.get(client_id, (None, None))
        wholesale = self.wholesale_at(day)
        version = self.terms_at(client_id, day)
        overrides = self.prices_at(PriceScope.CLIENT, client_id, day)
        if version is None:
            terms = ClientTerms(price_overrides=overrides, starts_on=starts_on, ends_on=ends_on)
            return ClientPricing(NO_PLAN, terms, wholesale)
        base = self.plan_at(version.plan_code, day) if version.plan_code else None
        own = self.plan_at(custom_plan_code(client_id), day) if version.custom_plan else None
        plan: PlanLike = base or own or NO_PLAN
        override = own if base is not None else None
        tax = None
        if version.tax_percent is not None:
            tax = TaxRate(version.tax_name or "Tax", version.tax_percent)
        terms = ClientTerms(
            discount_percent=version.discount_percent,
            tax=tax,
            price_overrides=overrides,
            plan_override=override,
            starts_on=starts_on,
            ends_on=ends_on,
        )
        return ClientPricing(plan, terms, wholesale)
