"""Rating one usage type: a period's aggregated quantity and a price model to charge lines.

Pure functions, no database. Each line is rounded once, by `config.money.to_minor` (half-up);
nothing is rounded before that (quantities and rates stay exact `Decimal`s).

Decisions (docs/partner-file.md, "Prices", documents them):
- tier `up_to` is inclusive and counts from the start of the period: with tiers 1000 / 5000,
  a quantity of exactly 1000 is wholly in the first tier;
- `per_unit` with `block_size`: the line's quantity is the number of started blocks and its unit
  price the price of a block (`unit_price * block_size`), so 61 s at a 60 s block is 2 blocks;
- `package`: an `included` line (amount 0) shows how much of the bundle was used, then an
  `overage` line per unit or per started block of the excess;
- zero usage yields one zero-amount line (at the first tier's or the unit price), so a usage type
  priced in the plan is shown with its rate even in a quiet period;
- a negative or non-finite quantity is refused: corrections are netted before rating, and a
  period's quantity is never below zero.
"""

from __future__ import annotations

from decimal import Context, Decimal
from functools import lru_cache

from billing.rating.lines import ChargeLine, LineKind, UsageCharge
from config.money import ceil_units, to_minor
from config.prices import (
    GraduatedPrice,
    PackagePrice,
    PerUnitPrice,
    PriceModel,
    Tier,
    VolumePrice,
    canonical_decimal,
)

__all__ = ["check_quantity", "rate_usage", "round_line"]

_ZERO = Decimal(0)
_EXACT = Context(prec=60)  # digits: every product of a realistic quantity and rate is exact


def round_line(amount_major: Decimal, currency: str) -> int:
    """`to_minor`, which computes with enough precision that half-up is the only rounding."""
    return to_minor(amount_major, currency)


def _times(quantity: Decimal, price: Decimal) -> Decimal:
    return _EXACT.multiply(quantity, price)


# Descriptions repeat the same few rates and bounds for every client: format each once.
_n = lru_cache(maxsize=16_384)(canonical_decimal)


def check_quantity(quantity: Decimal) -> Decimal:
    """Quantities are exact, finite and not negative."""
    if not isinstance(quantity, Decimal):
        raise TypeError(f"quantity must be a Decimal, not {type(quantity).__name__}")
    if not quantity.is_finite() or quantity < 0:
        raise ValueError(f"quantity must be a finite number >= 0, got {quantity}")
    return quantity


def _line(
    kind: LineKind,
    description: str,
    quantity: Decimal,
    unit_price: Decimal,
    currency: str,
    usage_type: str,
    *,
    tier: int | None = None,
    block_size: Decimal | None = None,
) -> ChargeLine:
    amount = round_line(_times(quantity, unit_price), currency)
    return ChargeLine(kind, description, quantity, unit_price, amount, usage_type, tier, block_size)


@lru_cache(maxsize=16_384)
def _grouped(value: Decimal) -> str:
    return f"{Decimal(canonical_decimal(value)):,f}"


def _range(lower: Decimal, upper: Decimal | None) -> str:
    """A tier's units as people count them: `up to 1,000`, `1,001-5,000`, `over 5,000`. Bounds
    are inclusive upper bounds, so a tier after `up_to = 1000` starts at unit 1,001; a bound
    with decimals (`up_to = 1000.5`) reads `over 1,000.5 up to 5,000` instead."""
    if upper is None:
        return f"over {_grouped(lower)}"
    if lower == 0:
        return f"up to {_grouped(upper)}"
    if lower == lower.to_integral_value():
        return f"{_grouped(lower + 1)}-{_grouped(upper)}"
    return f"over {_grouped(lower)} up to {_grouped(upper)}"


def _per_unit(
    price: PerUnitPrice, quantity: Decimal, currency: str, usage_type: str, name: str
) -> list[ChargeLine]:
    if price.block_size is None:
        return [_line(LineKind.USAGE, name, quantity, price.unit_price, currency, usage_type)]
    blocks = ceil_units(quantity, price.block_size)
    per_block = _times(price.unit_price, price.block_size)
    text = f"{name} ({_n(quantity)} in {_n(blocks)} started blocks of {_n(price.block_size)})"
    return [
        _line(
            LineKind.USAGE,
            text,
            blocks,
            per_block,
            currency,
            usage_type,
            block_size=price.block_size,
        )
    ]


def _graduated(
    tiers: tuple[Tier, ...], quantity: Decimal, currency: str, usage_type: str, name: str
) -> list[ChargeLine]:
    lines: list[ChargeLine] = []
    lower = _ZERO
    for index, tier in enumerate(tiers):
        upper = tier.up_to
        share = (quantity if upper is None else min(quantity, upper)) - lower
        if share > 0:
            text = f"{name}, {_range(lower, upper)}"
            lines.append(
                _line(
                    LineKind.USAGE, text, share, tier.unit_price, currency, usage_type, tier=index
                )
            )
        if upper is None or quantity <= upper:
            break
        lower = upper
    if not lines:
        first = tiers[0]
        text = f"{name}, {_range(_ZERO, first.up_to)}"
        lines.append(
            _line(LineKind.USAGE, text, _ZERO, first.unit_price, currency, usage_type, tier=0)
        )
    return lines


def _volume(
    tiers: tuple[Tier, ...], quantity: Decimal, currency: str, usage_type: str, name: str
) -> list[ChargeLine]:
    lower = _ZERO
    for index, tier in enumerate(tiers):
        if tier.up_to is None or quantity <= tier.up_to:
            text = f"{name}, volume tier {_range(lower, tier.up_to)}"
            return [
                _line(
                    LineKind.USAGE,
                    text,
                    quantity,
                    tier.unit_price,
                    currency,
                    usage_type,
                    tier=index,
                )
            ]
        lower = tier.up_to
    raise ValueError("volume price without an unbounded last tier")  # validation prevents this


def _package(
    price: PackagePrice, quantity: Decimal, currency: str, usage_type: str, name: str
) -> list[ChargeLine]:
    lines: list[ChargeLine] = []
    if price.included > 0:
        used = min(quantity, price.included)
        text = f"{name}, included ({_n(used)} of {_n(price.included)})"
        lines.append(_line(LineKind.INCLUDED, text, used, _ZERO, currency, usage_type))
    overage = max(quantity - price.included, _ZERO)
    if overage > 0 or not lines:
        above = f"{name}, overage above {_n(price.included)}"
        if price.overage_unit_price is not None:
            lines.append(
                _line(
                    LineKind.OVERAGE, above, overage, price.overage_unit_price, currency, usage_type
                )
            )
        else:
            assert price.block_size is not None and price.block_price is not None
            blocks = ceil_units(overage, price.block_size)
            text = (
                f"{above} ({_n(overage)} in {_n(blocks)} started blocks of {_n(price.block_size)})"
            )
            lines.append(
                _line(
                    LineKind.OVERAGE,
                    text,
                    blocks,
                    price.block_price,
                    currency,
                    usage_type,
                    block_size=price.block_size,
                )
            )
    return lines


_Key = tuple[int, str, str, str, str]
_RATED: dict[_Key, tuple[PriceModel, UsageCharge]] = {}
_RATED_AT_MOST = 16_384  # entries: a few megabytes at most


def rate_usage(
    price: PriceModel,
    quantity: Decimal,
    currency: str,
    *,
    usage_type: str,
    name: str | None = None,
) -> UsageCharge:
    """Charge lines for `quantity` (the period's aggregate) under `price`, in `currency`.

    Used for retail charges and, with the wholesale price, for cost: the same models apply.
    `name` labels the lines (the usage type's display name; its code by default).

    A partner-wide run rates the same few prices at the same small quantities again and again
    (counts, maxima, distinct counts, zero), so results are remembered: the charge is immutable
    and depends on nothing else. The key holds the quantity's text, not its value, because
    `5` and `5.00` are equal but print differently on a line; it names the price object by
    identity (price models are compared field by field, which costs more than rating), and the
    entry keeps that object alive so that its identity cannot be reused by another.
    """
    check_quantity(quantity)
    label = name or usage_type
    key = (id(price), str(quantity), currency, usage_type, label)
    found = _RATED.get(key)
    if found is not None and found[0] is price:
        return found[1]
    charge = _rate(price, quantity, currency, usage_type, label)
    if len(_RATED) >= _RATED_AT_MOST:
        _RATED.clear()
    _RATED[key] = (price, charge)
    return charge


def _rate(
    price: PriceModel, quantity: Decimal, currency: str, usage_type: str, label: str
) -> UsageCharge:
    lines: list[ChargeLine]
    if isinstance(price, PerUnitPrice):
        lines = _per_unit(price, quantity, currency, usage_type, label)
    elif isinstance(price, GraduatedPrice):
        lines = _graduated(price.tiers, quantity, currency, usage_type, label)
    elif isinstance(price, VolumePrice):
        lines = _volume(price.tiers, quantity, currency, usage_type, label)
    elif isinstance(price, PackagePrice):
        lines = _package(price, quantity, currency, usage_type, label)
    else:  # pragma: no cover - the union is closed
        raise TypeError(f"unknown price model {price!r}")
    return UsageCharge(usage_type, quantity, currency.upper(), price, tuple(lines))
