"""A draft invoice's lines, built from rating's statement (pure: no database).

The statement is `rate_period`'s, the same function live figures and accrual use, so a draft
shows exactly the live figure for the same usage. What only an invoice has is added here:
- prior-period adjustment lines (late usage of an earlier, already issued period): the
  difference between a full re-rating of that period and what was invoiced for it, its own
  minimum spend and discount included (see `late`). So they come after this period's discount
  (which they are not subject to: discounting them again would discount the late usage twice)
  and before the tax, which is recomputed once on the discounted subtotal plus the
  adjustments, at this invoice's rate. The order (docs/invoice-arithmetic.md): lines ->
  subtotal -> minimum true-up -> discount -> prior-period adjustments -> tax -> total. Without
  adjustments, the statement's own discount and tax lines are kept as they are;
- each line's wholesale cost (internal): a usage type's rated cost split over its lines in
  proportion to the units each line covers (largest remainder, so the parts add up exactly).

Totals follow the document convention: `subtotal` is every line except discount and tax (so it
includes the true-up and adjustments), `total = subtotal + discount + tax = sum of lines`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
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
    adjusts: InvoiceLineKind | None = None


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
    """One part of the change a full re-rating of an issued period makes (see `late`): the
    change in a usage type's quantity, charge and cost (`adjusts` usage), or in the period's
    base fee, minimum-spend true-up or discount (`usage_type` None, quantity 0)."""

    usage_type: str | None
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
    adjusts: InvoiceLineKind = InvoiceLineKind.USAGE


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


_ADJUSTED_NAMES = {
    InvoiceLineKind.BASE_FEE: "base fee",
    InvoiceLineKind.MINIMUM_TRUE_UP: "minimum-spend true-up",
    InvoiceLineKind.DISCOUNT: "discount",
}


def _adjustment_line(adjustment: Adjustment, currency: str) -> DraftLine:
    """A usage change reads `quantity x unit_price` when it is a whole number of an exact unit
    price (per unit pricing), otherwise 1 x the amount; either way it recomputes to the cent.
    A change of the base fee, true-up or discount is 1 x the amount."""
    span = f"{adjustment.origin_start:%d %b %Y} to {adjustment.origin_last_day:%d %b %Y}"
    kind = InvoiceLineKind.PRIOR_PERIOD_ADJUSTMENT
    origin = adjustment.origin_start
    if adjustment.adjusts is not InvoiceLineKind.USAGE:
        what = _ADJUSTED_NAMES.get(adjustment.adjusts, str(adjustment.adjusts))
        text = f"{adjustment.name}: {what} of {span} re-rated with its late usage"
        line = fixed_line(kind, text, adjustment.charge, currency, origin=origin)
        return replace(line, adjusts=adjustment.adjusts)
    delta = canonical_decimal(adjustment.quantity)
    sign = "+" if adjustment.quantity >= 0 else ""
    text = f"{adjustment.name}: late usage from {span} ({sign}{delta} {adjustment.unit})"
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
                adjusts=InvoiceLineKind.USAGE,
            )
    line = fixed_line(
        kind, text, adjustment.charge, currency, usage_type=adjustment.usage_type, origin=origin
    )
    return replace(line, cost=adjustment.cost, adjusts=InvoiceLineKind.USAGE)


def build_lines(
    statement: PeriodStatement,
    costs: Mapping[str, UsageCharge],
    tax: TaxRate | None,
    adjustments: Sequence[Adjustment] = (),
) -> list[DraftLine]:
    """Invoice order: base fee, usage (per usage type, tier by tier), minimum-spend true-up,
    discount, prior-period adjustments, tax."""
    currency = statement.currency
    lines: list[DraftLine] = []
    if statement.base_fee is not None:
        lines.append(_from_charge(statement.base_fee))
    for charge in statement.usage:
        rated_cost = costs.get(charge.usage_type)
        lines.extend(_usage_lines(charge, rated_cost.amount if rated_cost else 0))
    lines.extend(
        _from_charge(line) for line in (statement.minimum_true_up, statement.discount) if line
    )
    if not adjustments:
        if statement.tax is not None:
            lines.append(_from_charge(statement.tax))
        return lines
    lines.extend(_adjustment_line(a, currency) for a in adjustments)
    if tax is not None and tax.percent > 0:
        text = f"{tax.name} {canonical_decimal(tax.percent)}%"
        taxable = sum(line.amount for line in lines)
        lines.append(
            fixed_line(
                InvoiceLineKind.TAX, text, _percent_of(taxable, tax.percent, currency), currency
            )
        )
    return lines
