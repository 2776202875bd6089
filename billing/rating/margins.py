"""Wholesale cost and margin per usage type, rated with the same price models as retail.

Cost is rated per period from the period's quantity (so cost tiers work like retail tiers), in
the partner's currency. Margin compares a usage type's retail usage lines (before minimum-spend
true-up, discount and tax, which belong to no usage type) with its cost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

from billing.rating.lines import UsageCharge
from billing.rating.statement import PeriodStatement
from billing.rating.usage import rate_usage
from config.prices import PriceModel

__all__ = ["UsageMargin", "margin_percent", "rate_costs", "usage_margins"]

_PERCENT_PLACES = Decimal("0.01")


def margin_percent(charge: int, cost: int) -> Decimal | None:
    """(charge - cost) / charge as a percentage to 2 places (half-up); None when nothing was
    charged, because a margin on zero revenue has no meaning (and cannot be a number)."""
    if charge == 0:
        return None
    with localcontext() as ctx:
        ctx.prec = 60
        ratio = Decimal(charge - cost) * 100 / Decimal(charge)
    return ratio.quantize(_PERCENT_PLACES, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class UsageMargin:
    """Retail charge, wholesale cost and margin of one usage type in one period (minor units)."""

    usage_type: str
    quantity: Decimal
    currency: str
    charge: int
    cost: int

    @property
    def margin(self) -> int:
        return self.charge - self.cost

    @property
    def margin_percent(self) -> Decimal | None:
        return margin_percent(self.charge, self.cost)

    def below(self, threshold_percent: Decimal) -> bool:
        """True when the margin % is under the partner's alert threshold (or charge is 0 while
        there is cost)."""
        percent = self.margin_percent
        return self.cost > 0 if percent is None else percent < threshold_percent


def rate_costs(
    wholesale: Mapping[str, PriceModel],
    quantities_by_usage_type: Mapping[str, Decimal],
    currency: str,
) -> dict[str, UsageCharge]:
    """Wholesale cost per usage type for the period's quantities (every usage type that has a
    wholesale price; a missing quantity is 0)."""
    costs: dict[str, UsageCharge] = {}
    for usage_type, price in wholesale.items():
        quantity = quantities_by_usage_type.get(usage_type, Decimal(0))
        costs[usage_type] = rate_usage(price, quantity, currency, usage_type=usage_type)
    return costs


def usage_margins(
    statement: PeriodStatement, costs: Mapping[str, UsageCharge]
) -> tuple[UsageMargin, ...]:
    """One margin per usage type that was charged or cost something (or is priced), in the
    statement's order, then cost-only usage types."""
    for rated in costs.values():
        if rated.currency != statement.currency:
            raise ValueError(
                f"cost of {rated.usage_type} is in {rated.currency} but the statement is in "
                f"{statement.currency}: convert before comparing"
            )
    margins: list[UsageMargin] = []
    seen: set[str] = set()
    for charge in statement.usage:
        cost = costs.get(charge.usage_type)
        margins.append(
            UsageMargin(
                charge.usage_type,
                charge.quantity,
                statement.currency,
                charge.amount,
                cost.amount if cost else 0,
            )
        )
        seen.add(charge.usage_type)
    for usage_type, cost in costs.items():
        if usage_type not in seen and (cost.amount != 0 or cost.quantity != 0):
            margins.append(
                UsageMargin(usage_type, cost.quantity, statement.currency, 0, cost.amount)
            )
    return tuple(margins)
