"""A draft invoice's lines, built from rating's statement (pure: no database).

The statement is `rate_period`'s, the same function live figures and accrual use, so a draft
shows exactly the live figure for the same usage. What only an invoice has is added here:
- prior-period adjustment lines (late usage of an earlier, already issued period), placed after
  this period's usage. They are part of the subtotal, so the discount and tax are recomputed on
  it in DESIGN's order (each rounded once): subtotal -> minimum true-up (this period's, from
  the statement) -> discount (percent of subtotal + true-up) -> tax (percent of the discounted
  subtotal). Without adjustments, the statement's own discount and tax lines are kept as they are;
- each line's wholesale cost (internal): a usage type's rated cost split over its lines in
  proportion to the units each line covers (largest remainder, so the parts add up exactly).

Totals follow the document convention: `subtotal` is every line except discount and tax (so it
includes the true-up and adjustments), `total = subtotal + discount + tax = sum of lines`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, localcontext

from billing.invoicing.models import InvoiceLineKind
from billing.rating import ChargeLine, LineKind, PeriodStatement, TaxRate, UsageCharge, round_line
from config.money import from_minor
from config.prices import canonical_decimal

__all__ = [
    "Adjustment",
    "DraftInvoice",
    "DraftLine",
    "DraftUsage",
    "allocate",
    "build_lines",
    "fixed_line",
    "plain",
]

_HUNDRED = Decimal(100)
_ONE = Decimal(1)
_PRICE_PLACES = Decimal("0.000001")
_USAGE_KINDS = frozenset({LineKind.USAGE, LineKind.INCLUDED, LineKind.OVERAGE})


@dataclass(frozen=True, slots=True)
class DraftLine:
    kind: InvoiceLineKind
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: int
    cost: int = 0
    usage_type: str | None = None
    tier: int | None = None
    block_size: Decimal | None = None
    origin_period_start: date | None = None


@dataclass(frozen=True, slots=True)
class DraftUsage:
    """See `InvoiceUsage`: what this invoice bills of one usage type of one period."""

    usage_type: str
    origin_period_start: date
    quantity: Decimal
    total_quantity: Decimal
    charge: int
    cost: int
    events: int
    watermark: datetime


@dataclass(frozen=True, slots=True)
class Adjustment:
    """Late usage of an issued period: the change in its quantity, charge and cost."""

    usage_type: str
    origin_start: date
    origin_last_day: date
    name: str
    unit: str
    quantity: Decimal
    total_quantity: Decimal
    charge: int
    cost: int
    events: int
    watermark: datetime


@dataclass
class DraftInvoice:
    lines: list[DraftLine] = field(default_factory=list)
    usage: list[DraftUsage] = field(default_factory=list)

    @property
    def subtotal(self) -> int:
        return sum(
            line.amount
            for line in self.lines
            if line.kind not in (InvoiceLineKind.DISCOUNT, InvoiceLineKind.TAX)
        )

    @property
    def discount(self) -> int:
        return sum(line.amount for line in self.lines if line.kind is InvoiceLineKind.DISCOUNT)

    @property
    def tax(self) -> int:
        return sum(line.amount for line in self.lines if line.kind is InvoiceLineKind.TAX)

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def cost(self) -> int:
        return sum(row.cost for row in self.usage)


def plain(value: Decimal) -> Decimal:
    """The same number without trailing zeros or an exponent (`600.000000` -> `600`)."""
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int) or exponent >= 0:
        return value
    if value == value.to_integral_value():
        return value.quantize(_ONE)
    return value.normalize()


def allocate(total: int, weights: Sequence[Decimal]) -> list[int]:
    """`total` split in proportion to `weights`, exactly (largest remainder); equal parts when
    every weight is zero."""
    if not weights:
        return []
    if all(w == 0 for w in weights):
        weights = [_ONE] * len(weights)
    whole = sum(weights, Decimal(0))
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    with localcontext() as ctx:
        ctx.prec = 60
        shares = [magnitude * w / whole for w in weights]
    floors = [int(s) for s in shares]
    left = magnitude - sum(floors)
    order = sorted(range(len(shares)), key=lambda i: (-(shares[i] - floors[i]), i))
    for index in order[:left]:
        floors[index] += 1
    return [sign * part for part in floors]


def fixed_line(
    kind: InvoiceLineKind,
    description: str,
    amount: int,
    currency: str,
    *,
    usage_type: str | None = None,
    origin: date | None = None,
) -> DraftLine:
    """A computed amount as a line that recomputes: quantity 1 at the exact amount."""
    return DraftLine(
        kind,
        description,
        _ONE,
        from_minor(amount, currency),
        amount,
        usage_type=usage_type,
        origin_period_start=origin,
    )


def _percent_of(amount: int, percent: Decimal, currency: str) -> int:
    with localcontext() as ctx:
        ctx.prec = 60
        return round_line(from_minor(amount, currency) * percent / _HUNDRED, currency)


def _units(line: ChargeLine) -> Decimal:
    return line.quantity * line.block_size if line.block_size is not None else line.quantity


_KINDS = {kind: InvoiceLineKind(kind.value) for kind in LineKind}


def _from_charge(line: ChargeLine, cost: int = 0) -> DraftLine:
    return DraftLine(
        _KINDS[line.kind],
        line.description,
        plain(line.quantity),
        plain(line.unit_price),
        line.amount,
        cost,
        line.usage_type,
        line.tier,
        line.block_size,
    )


def _usage_lines(charge: UsageCharge, cost: int) -> list[DraftLine]:
    if len(charge.lines) == 1:
        return [_from_charge(charge.lines[0], cost)]
    costs = allocate(cost, [_units(line) for line in charge.lines])
    return [_from_charge(line, part) for line, part in zip(charge.lines, costs, strict=True)]


def _adjustment_line(adjustment: Adjustment, currency: str) -> DraftLine:
    """`quantity x unit_price` when the change is a whole number of an exact unit price (per
    unit pricing), otherwise 1 x the amount; either way it recomputes to the cent."""
    span = f"{adjustment.origin_start:%d %b %Y} to {adjustment.origin_last_day:%d %b %Y}"
    delta = canonical_decimal(adjustment.quantity)
    sign = "+" if adjustment.quantity >= 0 else ""
    text = f"{adjustment.name}: late usage from {span} ({sign}{delta} {adjustment.unit})"
    kind = InvoiceLineKind.PRIOR_PERIOD_ADJUSTMENT
    origin = adjustment.origin_start
    if adjustment.quantity != 0:
        with localcontext() as ctx:
            ctx.prec = 60
            price = from_minor(adjustment.charge, currency) / adjustment.quantity
        exact = price.quantize(_PRICE_PLACES)
        if exact == price and round_line(exact * adjustment.quantity, currency) == (
            adjustment.charge
        ):
            return DraftLine(
                kind,
                text,
                plain(adjustment.quantity),
                plain(exact),
                adjustment.charge,
                adjustment.cost,
                adjustment.usage_type,
                origin_period_start=origin,
            )
    line = fixed_line(
        kind, text, adjustment.charge, currency, usage_type=adjustment.usage_type, origin=origin
    )
    return DraftLine(
        line.kind,
        line.description,
        line.quantity,
        line.unit_price,
        line.amount,
        adjustment.cost,
        line.usage_type,
        origin_period_start=origin,
    )


def build_lines(
    statement: PeriodStatement,
    costs: Mapping[str, UsageCharge],
    discount_percent: Decimal,
    tax: TaxRate | None,
    adjustments: Sequence[Adjustment] = (),
) -> list[DraftLine]:
    """Invoice order: base fee, usage (per usage type, tier by tier), prior-period
    adjustments, minimum-spend true-up, discount, tax."""
    currency = statement.currency
    lines: list[DraftLine] = []
    if statement.base_fee is not None:
        lines.append(_from_charge(statement.base_fee))
    for charge in statement.usage:
        rated_cost = costs.get(charge.usage_type)
        lines.extend(_usage_lines(charge, rated_cost.amount if rated_cost else 0))
    lines.extend(_adjustment_line(a, currency) for a in adjustments)
    if statement.minimum_true_up is not None:
        lines.append(_from_charge(statement.minimum_true_up))
    if not adjustments:
        lines.extend(_from_charge(line) for line in (statement.discount, statement.tax) if line)
        return lines
    discounted = sum(line.amount for line in lines)
    if discount_percent > 0:
        amount = -_percent_of(discounted, discount_percent, currency)
        text = f"Discount {canonical_decimal(discount_percent)}%"
        lines.append(fixed_line(InvoiceLineKind.DISCOUNT, text, amount, currency))
        discounted += amount
    if tax is not None and tax.percent > 0:
        text = f"{tax.name} {canonical_decimal(tax.percent)}%"
        amount = _percent_of(discounted, tax.percent, currency)
        lines.append(fixed_line(InvoiceLineKind.TAX, text, amount, currency))
    return lines
