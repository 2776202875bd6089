"""What rating produces: charge lines, each rounded once, grouped per usage type.

A line carries quantity, unit price and amount so that any remote system can recompute it:
`to_minor(quantity * unit_price) == amount` holds for every line rating makes, and an invoice's
total is the plain sum of its lines' amounts.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

from config.prices import PriceModel

__all__ = ["ChargeLine", "LineKind", "UsageCharge"]


class LineKind(enum.StrEnum):
    """Why a line exists; accrual and invoicing post each kind to its own account."""

    BASE_FEE = "base_fee"
    USAGE = "usage"  # per_unit, graduated (one per tier used) and volume lines
    INCLUDED = "included"  # package: units covered by the plan's fee (amount 0)
    OVERAGE = "overage"  # package: units above `included`
    MINIMUM_TRUE_UP = "minimum_true_up"
    DISCOUNT = "discount"
    TAX = "tax"


@dataclass(frozen=True, slots=True)
class ChargeLine:
    """One invoice line, amount in integer minor units, rounded once (half-up).

    `quantity` counts units, or started blocks when `block_size` is set (then `unit_price` is
    the price of one block). `tier` is the 0-based tier index for graduated and volume lines.
    Lines that are computed rather than multiplied (prorated base fee, true-up, discount, tax)
    have quantity 1 and the exact amount as unit price, so they recompute too.
    """

    kind: LineKind
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: int
    usage_type: str | None = None
    tier: int | None = None
    block_size: Decimal | None = None


@dataclass(frozen=True, slots=True)
class UsageCharge:
    """The rated charge (or wholesale cost) of one usage type's period quantity.

    Kept per usage type so that accrual posts revenue and cost per usage type and margins compare
    like with like; `amount` is the sum of the lines, never a separately rounded figure.
    """

    usage_type: str
    quantity: Decimal
    currency: str
    price: PriceModel
    lines: tuple[ChargeLine, ...]

    @property
    def amount(self) -> int:
        return sum(line.amount for line in self.lines)
