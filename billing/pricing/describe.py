"""One-line descriptions of prices and values for change reports (`config apply`, the change
log), written the way a partner writes them in the file."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from config.prices import (
    GraduatedPrice,
    PackagePrice,
    PerUnitPrice,
    PriceModel,
    VolumePrice,
    canonical_decimal,
)

__all__ = ["describe_price", "describe_value"]


def describe_value(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return canonical_decimal(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or "(none)"
    return str(value)


def describe_price(price: PriceModel | None) -> str | None:
    """`graduated: up to 1000 at 0.15, up to 5000 at 0.12, above at 0.09`."""
    if price is None:
        return None
    n = canonical_decimal
    if isinstance(price, PerUnitPrice):
        block = "" if price.block_size is None else f" per unit, per started {n(price.block_size)}"
        return f"per_unit: {n(price.unit_price)}{block}"
    if isinstance(price, GraduatedPrice | VolumePrice):
        tiers = ", ".join(
            f"{'above' if t.up_to is None else 'up to ' + n(t.up_to)} at {n(t.unit_price)}"
            for t in price.tiers
        )
        return f"{price.model}: {tiers}"
    if isinstance(price, PackagePrice):
        if price.overage_unit_price is not None:
            overage = f"{n(price.overage_unit_price)} per unit over"
        else:
            assert price.block_size is not None and price.block_price is not None
            overage = f"{n(price.block_price)} per started {n(price.block_size)} over"
        return f"package: {n(price.included)} included, {overage}"
    raise TypeError(f"unknown price {price!r}")  # pragma: no cover - the union is closed
