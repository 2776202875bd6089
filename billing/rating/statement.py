"""Rating a client's whole period: base fee, usage, minimum spend, discount and tax.

The arithmetic follows docs/invoice-arithmetic.md in this order, each amount
rounded once, half-up:
1. each line (base fee, usage lines);
2. subtotal = sum of those lines;
3. minimum-spend true-up: when the subtotal is below the plan's minimum, a line for the shortfall;
4. discount: percent of the subtotal including the true-up, a negative line;
5. tax: percent of the discounted subtotal;
6. total = the sum of every rounded line, so any remote system recomputes it to the cent.

Decisions beyond that order:
- the base fee and the minimum spend are both prorated by active days / days in the period for a
  client that starts or ends mid-period (a client billed for 3 days owes 3 days of minimum);
- a usage type priced in the effective plan always gets a `UsageCharge` (zero usage: a zero line);
  usage without a price is not charged and is listed in `unpriced_usage` (its cost still counts);
- the discount is rounded as a positive amount and then negated; discount and tax lines appear
  whenever the client has a non-zero percentage, even when their amount rounds to 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, localcontext
from types import MappingProxyType
from typing import Protocol

from billing.rating.lines import ChargeLine, LineKind, UsageCharge
from billing.rating.period import BillingPeriod
from billing.rating.usage import check_quantity, rate_usage, round_line
from config.money import from_minor
from config.prices import PriceModel, canonical_decimal

__all__ = [
    "ClientTerms",
    "PeriodStatement",
    "PlanLike",
    "PlanPricing",
    "TaxRate",
    "effective_prices",
    "rate_period",
]

_HUNDRED = Decimal(100)
_ONE = Decimal(1)
_NO_PRICES: Mapping[str, PriceModel] = MappingProxyType({})


class PlanLike(Protocol):
    """What rating needs of a plan; `config.partner_file.PlanSpec` and `PlanPricing` both fit.
    Money is in major units of the currency the plan is rated in."""

    @property
    def name(self) -> str: ...

    @property
    def base_fee(self) -> Decimal: ...

    @property
    def minimum_spend(self) -> Decimal | None: ...

    @property
    def prices(self) -> Mapping[str, PriceModel]: ...


@dataclass(frozen=True, slots=True)
class PlanPricing:
    """A plan as price books hand it to rating: the version in force for the period."""

    name: str
    base_fee: Decimal = Decimal(0)
    minimum_spend: Decimal | None = None
    prices: Mapping[str, PriceModel] = field(default_factory=lambda: _NO_PRICES)


def _check_percent(value: Decimal, what: str) -> None:
    if not isinstance(value, Decimal) or not Decimal(0) <= value <= _HUNDRED:
        raise ValueError(f"{what} must be a Decimal between 0 and 100, got {value!r}")


@dataclass(frozen=True, slots=True)
class TaxRate:
    name: str
    percent: Decimal

    def __post_init__(self) -> None:
        _check_percent(self.percent, "tax percent")


@dataclass(frozen=True, slots=True)
class ClientTerms:
    """What is particular to the client: its discount and tax, its price overrides (replacing the
    plan's price per usage type), a whole-plan override (replacing the plan), and the days it was
    active (`starts_on` / `ends_on` inclusive; None means the whole period)."""

    discount_percent: Decimal = Decimal(0)
    tax: TaxRate | None = None
    price_overrides: Mapping[str, PriceModel] = field(default_factory=lambda: _NO_PRICES)
    plan_override: PlanLike | None = None
    starts_on: date | None = None
    ends_on: date | None = None

    def __post_init__(self) -> None:
        _check_percent(self.discount_percent, "discount percent")


@dataclass(frozen=True, slots=True)
class PeriodStatement:
    """Everything a client owes for one period, line by line; totals are sums of lines."""

    plan_name: str
    currency: str
    period: BillingPeriod
    active_days: int
    base_fee: ChargeLine | None
    usage: tuple[UsageCharge, ...]
    minimum_true_up: ChargeLine | None
    discount: ChargeLine | None
    tax: ChargeLine | None
    unpriced_usage: tuple[str, ...] = ()

    @property
    def lines(self) -> tuple[ChargeLine, ...]:
        """Invoice order: base fee, usage lines, true-up, discount, tax."""
        head = (self.base_fee,) if self.base_fee else ()
        usage = tuple(line for charge in self.usage for line in charge.lines)
        tail = tuple(line for line in (self.minimum_true_up, self.discount, self.tax) if line)
        return head + usage + tail

    @property
    def subtotal(self) -> int:
        """Base fee plus usage, before minimum spend, discount and tax."""
        base = self.base_fee.amount if self.base_fee else 0
        return base + sum(charge.amount for charge in self.usage)

    @property
    def taxable(self) -> int:
        """The discounted subtotal (including any true-up): what tax is a percentage of."""
        adjustments = (self.minimum_true_up, self.discount)
        return self.subtotal + sum(line.amount for line in adjustments if line)

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)

    def usage_charge(self, usage_type: str) -> UsageCharge | None:
        return next((c for c in self.usage if c.usage_type == usage_type), None)


def effective_prices(plan: PlanLike, terms: ClientTerms) -> dict[str, PriceModel]:
    """The plan (or its whole-plan override) with the client's per-usage-type overrides."""
    prices = dict((terms.plan_override or plan).prices)
    prices.update(terms.price_overrides)
    return prices


def _fraction(amount: Decimal, active: int, days: int, currency: str) -> int:
    if active == days:
        return round_line(amount, currency)
    with localcontext() as ctx:
        ctx.prec = 60
        return round_line(amount * active / days, currency)


def _fixed(kind: LineKind, description: str, amount: int, currency: str) -> ChargeLine:
    """A computed amount as a line that recomputes: quantity 1 at the exact amount."""
    return ChargeLine(kind, description, _ONE, from_minor(amount, currency), amount)


def _base_fee_line(
    plan: PlanLike, period: BillingPeriod, active: int, currency: str
) -> ChargeLine | None:
    if plan.base_fee <= 0 or active <= 0:
        return None
    if active == period.days:
        amount = round_line(plan.base_fee, currency)
        return ChargeLine(LineKind.BASE_FEE, f"{plan.name}: base fee", _ONE, plan.base_fee, amount)
    amount = _fraction(plan.base_fee, active, period.days, currency)
    text = f"{plan.name}: base fee, {active} of {period.days} days"
    return _fixed(LineKind.BASE_FEE, text, amount, currency)


def _percent_of(amount: int, percent: Decimal, currency: str) -> int:
    with localcontext() as ctx:
        ctx.prec = 60
        return round_line(from_minor(amount, currency) * percent / _HUNDRED, currency)


def rate_period(
    plan: PlanLike,
    quantities_by_usage_type: Mapping[str, Decimal],
    currency: str,
    period: BillingPeriod,
    client_terms: ClientTerms | None = None,
    *,
    names: Mapping[str, str] | None = None,
) -> PeriodStatement:
    """The client's statement for `period`: what the live figure shows and the invoice says.

    `quantities_by_usage_type` are the period's aggregated quantities; `names` are display names
    of usage types for line descriptions.
    """
    terms = client_terms or ClientTerms()
    code = currency.upper()
    effective = terms.plan_override or plan
    prices = effective_prices(plan, terms)
    for quantity in quantities_by_usage_type.values():
        check_quantity(quantity)
    labels = names or {}
    active = period.active_days(terms.starts_on, terms.ends_on)

    base_fee = _base_fee_line(effective, period, active, code)
    usage = tuple(
        rate_usage(
            price,
            quantities_by_usage_type.get(usage_type, Decimal(0)),
            code,
            usage_type=usage_type,
            name=labels.get(usage_type),
        )
        for usage_type, price in prices.items()
    )
    unpriced = tuple(
        sorted(u for u, q in quantities_by_usage_type.items() if u not in prices and q != 0)
    )
    subtotal = (base_fee.amount if base_fee else 0) + sum(c.amount for c in usage)

    true_up = None
    if effective.minimum_spend is not None and effective.minimum_spend > 0 and active > 0:
        minimum = _fraction(effective.minimum_spend, active, period.days, code)
        if subtotal < minimum:
            shown = canonical_decimal(from_minor(minimum, code))
            text = f"Minimum spend true-up (minimum {shown} {code})"
            true_up = _fixed(LineKind.MINIMUM_TRUE_UP, text, minimum - subtotal, code)
    discounted = subtotal + (true_up.amount if true_up else 0)

    discount = None
    if terms.discount_percent > 0:
        amount = -_percent_of(discounted, terms.discount_percent, code)
        text = f"Discount {canonical_decimal(terms.discount_percent)}%"
        discount = _fixed(LineKind.DISCOUNT, text, amount, code)
        discounted += amount

    tax = None
    if terms.tax is not None and terms.tax.percent > 0:
        text = f"{terms.tax.name} {canonical_decimal(terms.tax.percent)}%"
        tax = _fixed(LineKind.TAX, text, _percent_of(discounted, terms.tax.percent, code), code)

    return PeriodStatement(
        plan_name=effective.name,
        currency=code,
        period=period,
        active_days=active,
        base_fee=base_fee,
        usage=usage,
        minimum_true_up=true_up,
        discount=discount,
        tax=tax,
        unpriced_usage=unpriced,
    )
