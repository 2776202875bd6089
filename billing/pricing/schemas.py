"""What the pricing API and the command line's `--json` accept and return.

Money leaves as integer minor units with its currency; rates, quantities and percentages as
decimal strings ("0.15", "42.50"), never JSON numbers, so nobody parses them into a float.
Inputs reuse the partner file's models (`PlanSpec`, prices), so the API refuses exactly what
the file refuses, with the same messages.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from billing.pricing.book import ClientPricing
from billing.pricing.live import ClientFigures
from billing.pricing.service import PlanHistory
from billing.pricing.versions import FieldChange
from billing.rating import BillingPeriod, ChargeLine, effective_prices, margin_percent
from config.bounds import Day
from config.partner_file import PlanOverrideSpec, PriceEntry, TaxSpec
from config.prices import Percent, canonical_decimal, price_to_json
from config.text import CheckedInput, Line

__all__ = [
    "ChangeOut",
    "ClientPricingIn",
    "EffectivePricesOut",
    "FieldChangeOut",
    "LineOut",
    "LiveFiguresOut",
    "PeriodOut",
    "PlanOut",
    "PlanVersionOut",
    "UsageFigureOut",
    "effective_prices_out",
    "live_out",
    "percent_text",
    "plan_out",
]


def percent_text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


class ClientPricingIn(CheckedInput):
    """`PUT /v1/clients/{id}/prices`. Only the keys sent change: `prices` replaces the
    client's own prices (a usage type left out falls back to the plan's), `plan_override`
    sets (or, with null, drops) the client's own plan, `plan` assigns a partner plan."""

    model_config = ConfigDict(extra="forbid")

    plan: Line | None = None
    plan_override: PlanOverrideSpec | None = None
    prices: dict[str, PriceEntry] | None = None
    discount_percent: Percent | None = None
    tax: TaxSpec | None = None
    auto_charge: StrictBool | None = None
    starts_on: Day | None = None
    ends_on: Day | None = None
    effective_from: Day | None = Field(
        default=None,
        description="When the change takes effect; default today, i.e. from each period "
        "that starts after today. A date before the client's current period is refused "
        "unless `force=true`.",
    )


class PeriodOut(BaseModel):
    start: date
    end: date = Field(description="Exclusive: the next period's first day.")
    days: int

    @classmethod
    def of(cls, period: BillingPeriod) -> PeriodOut:
        return cls(start=period.start, end=period.end, days=period.days)


class LineOut(BaseModel):
    kind: str
    description: str
    quantity: str
    unit_price: str
    amount: int
    usage_type: str | None
    tier: int | None

    @classmethod
    def of(cls, line: ChargeLine) -> LineOut:
        return cls(
            kind=line.kind.value,
            description=line.description,
            quantity=canonical_decimal(line.quantity),
            unit_price=canonical_decimal(line.unit_price),
            amount=line.amount,
            usage_type=line.usage_type,
            tier=line.tier,
        )


class UsageFigureOut(BaseModel):
    usage_type: str
    name: str
    quantity: str
    events: int
    charge: int
    cost: int | None = Field(description="Wholesale cost; null for non-admin keys.")
    margin: int | None = Field(
        description="None when charge and cost are in other currencies, or for non-admin keys."
    )
    margin_percent: str | None = Field(
        description="2 places; None when nothing was charged, or for non-admin keys."
    )
    priced: bool
    lines: list[LineOut]


class LiveFiguresOut(BaseModel):
    partner: str
    client: str
    plan: str
    period: PeriodOut
    active_days: int
    currency: str
    cost_currency: str | None = Field(description="Null for non-admin keys.")
    usage: list[UsageFigureOut]
    base_fee: int
    usage_total: int
    subtotal: int
    minimum_true_up: int
    discount: int
    tax: int
    total: int
    charge: int = Field(
        description="The period's charge net of tax (total - tax): usage, base fee, minimum-"
        "spend true-up, discount. What margins count for the period."
    )
    cost: int | None = Field(description="Wholesale cost; cost and margin null for non-admin keys.")
    margin: int | None = Field(
        description="charge - cost; null in different currencies and for non-admin keys."
    )
    margin_percent: str | None
    usage_margin: int | None = Field(description="Usage charge - cost, per usage type summed.")
    lines: list[LineOut]
    unpriced_usage: list[str]


def live_out(partner_id: str, figures: ClientFigures) -> LiveFiguresOut:
    statement = figures.statement
    same = figures.cost_currency == statement.currency
    margins = {m.usage_type: m for m in figures.margins}
    usage = []
    for code in figures.usage_types:
        rated = statement.usage_charge(code)
        total = figures.totals.get(code)
        charge, cost = figures.charge(code), figures.cost(code)
        margin = margins.get(code)
        usage.append(
            UsageFigureOut(
                usage_type=code,
                name=figures.names.get(code, code),
                quantity=canonical_decimal(total.quantity if total else Decimal(0)),
                events=total.events if total else 0,
                charge=charge,
                cost=cost,
                margin=charge - cost if same else None,
                margin_percent=percent_text(margin.margin_percent) if margin else None,
                priced=rated is not None,
                lines=[LineOut.of(line) for line in rated.lines] if rated else [],
            )
        )

    def amount(line: ChargeLine | None) -> int:
        return 0 if line is None else line.amount

    usage_total = figures.usage_total
    charge = statement.taxable
    return LiveFiguresOut(
        partner=partner_id,
        client=figures.client_id,
        plan=statement.plan_name,
        period=PeriodOut.of(figures.period),
        active_days=statement.active_days,
        currency=statement.currency,
        cost_currency=figures.cost_currency,
        usage=usage,
        base_fee=amount(statement.base_fee),
        usage_total=usage_total,
        subtotal=statement.subtotal,
        minimum_true_up=amount(statement.minimum_true_up),
        discount=amount(statement.discount),
        tax=amount(statement.tax),
        total=statement.total,
        charge=charge,
        cost=figures.cost_total,
        margin=charge - figures.cost_total if same else None,
        margin_percent=percent_text(margin_percent(charge, figures.cost_total)) if same else None,
        usage_margin=usage_total - figures.cost_total if same else None,
        lines=[LineOut.of(line) for line in statement.lines],
        unpriced_usage=list(statement.unpriced_usage),
    )


class PlanVersionOut(BaseModel):
    effective_from: date
    name: str
    currency: str
    base_fee: str
    minimum_spend: str | None
    prices: dict[str, Any]


class PlanOut(BaseModel):
    code: str
    versions: list[PlanVersionOut] = Field(description="Oldest first; each is the whole plan.")


def plan_out(history: PlanHistory) -> PlanOut:
    return PlanOut(
        code=history.code,
        versions=[
            PlanVersionOut(
                effective_from=v.effective_from,
                name=v.header.name,
                currency=v.header.currency,
                base_fee=canonical_decimal(v.header.base_fee),
                minimum_spend=None
                if v.header.minimum_spend is None
                else canonical_decimal(v.header.minimum_spend),
                prices={code: price_to_json(price) for code, price in v.prices.items()},
            )
            for v in history.versions
        ],
    )


class EffectivePricesOut(BaseModel):
    client: str
    period: PeriodOut
    plan: str
    currency: str
    base_fee: str
    minimum_spend: str | None
    prices: dict[str, Any] = Field(
        description="Usage type -> price in force (the client's own "
        "price, else its own plan's, else the plan's)."
    )
    price_sources: dict[str, str] = Field(description="Usage type -> plan | own_plan | client.")
    discount_percent: str
    tax: dict[str, str] | None
    starts_on: date | None
    ends_on: date | None
    wholesale: dict[str, Any] | None = Field(
        description="Wholesale price per usage type; null for non-admin keys."
    )


def effective_prices_out(
    client_id: str, period: BillingPeriod, currency: str, pricing: ClientPricing
) -> EffectivePricesOut:
    plan, terms = pricing.plan, pricing.terms
    shown = terms.plan_override or plan
    prices = effective_prices(plan, terms)
    sources = {}
    for code in prices:
        if code in terms.price_overrides:
            sources[code] = "client"
        elif terms.plan_override is not None:
            sources[code] = "own_plan"
        else:
            sources[code] = "plan"
    tax = (
        None
        if terms.tax is None
        else {"name": terms.tax.name, "percent": canonical_decimal(terms.tax.percent)}
    )
    return EffectivePricesOut(
        client=client_id,
        period=PeriodOut.of(period),
        plan=shown.name,
        currency=currency,
        base_fee=canonical_decimal(shown.base_fee),
        minimum_spend=None
        if shown.minimum_spend is None
        else canonical_decimal(shown.minimum_spend),
        prices={code: price_to_json(price) for code, price in prices.items()},
        price_sources=sources,
        discount_percent=canonical_decimal(terms.discount_percent),
        tax=tax,
        starts_on=terms.starts_on,
        ends_on=terms.ends_on,
        wholesale={code: price_to_json(price) for code, price in pricing.wholesale.items()},
    )


class FieldChangeOut(BaseModel):
    name: str
    before: str | None
    after: str | None
    effective_from: date | None

    @classmethod
    def of(cls, change: FieldChange) -> FieldChangeOut:
        return cls(
            name=change.name,
            before=change.before,
            after=change.after,
            effective_from=change.effective_from,
        )


class ChangeOut(BaseModel):
    object: str
    key: str
    action: str
    fields: list[FieldChangeOut]
