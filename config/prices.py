"""Price models: the one representation of a price, shared by the partner file, the price books
(stored as JSON), rating and the API.

A price is a pydantic model discriminated on `model` (`per_unit`, `graduated`, `volume`,
`package`). Every number in it is an exact `Decimal`: rates and money are written as strings
(`"0.15"`) or integers, never floats, because a float such as `0.1` is not the number the partner
typed. `model_dump(mode="json")` writes every Decimal as canonical text and `model_validate` /
`parse_price` reads it back, so a price survives a JSON column or an HTTP body unchanged.

A price is currency-agnostic: whether `block_price` is exact in the currency's minor unit depends
on where the price is used, so the partner file checks that where the currency is known.

Rules that involve several fields (tier order, package overage) are raised as one
`rebill_rules` error carrying every problem with its path relative to the price
(`tiers[1].up_to`), so callers can name the full key path (see `config.partner_file`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    TypeAdapter,
    model_validator,
)
from pydantic_core import PydanticCustomError

__all__ = [
    "MAX_RATE_PLACES",
    "PRICE_MODELS",
    "RULES_ERROR",
    "VALUE_ERROR",
    "GraduatedPrice",
    "Loc",
    "MoneyAmount",
    "PackagePrice",
    "PerUnitPrice",
    "Percent",
    "PositiveQuantity",
    "PriceModel",
    "Quantity",
    "Tier",
    "UnitPrice",
    "canonical_decimal",
    "decimal_places",
    "describe_value",
    "format_loc",
    "parse_decimal",
    "parse_price",
    "price_to_json",
    "rules_error",
    "value_error",
]

Loc: TypeAlias = tuple[str | int, ...]

MAX_RATE_PLACES = 6
PRICE_MODELS = ("per_unit", "graduated", "volume", "package")
RULES_ERROR = "rebill_rules"
VALUE_ERROR = "rebill_value"

_PLAIN_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


# --- errors -------------------------------------------------------------------------------------


def format_loc(loc: Sequence[str | int]) -> str:
    """`("tiers", 1, "up_to")` -> `tiers[1].up_to`; keys that TOML would quote are quoted."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        key = part if _BARE_KEY.match(part) else '"' + part.replace('"', '\\"') + '"'
        out += f".{key}" if out else key
    return out


def value_error(message: str) -> PydanticCustomError:
    """A single-field error whose message is shown as written (no "Value error, " prefix)."""
    return PydanticCustomError(VALUE_ERROR, "{detail}", {"detail": message})


def rules_error(problems: Sequence[tuple[Loc, str]]) -> PydanticCustomError:
    """Several problems at once, each at a path relative to the model that raised it."""
    detail = "; ".join(f"{format_loc(loc)}: {msg}" if loc else msg for loc, msg in problems)
    items = [[list(loc), msg] for loc, msg in problems]
    return PydanticCustomError(RULES_ERROR, "{detail}", {"detail": detail, "problems": items})


def describe_value(value: object) -> str:
    """How a TOML/JSON value reads to the person who wrote it."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, date):
        return "a date"
    if value is None:
        return "null"
    return repr(value)


# --- exact numbers ------------------------------------------------------------------------------


def parse_decimal(value: object) -> Decimal:
    """A plain decimal string, an integer or a Decimal; floats are refused, never converted."""
    if isinstance(value, bool):
        raise value_error('must be a decimal number in quotes, e.g. "12.50", not true/false')
    if isinstance(value, float):
        raise value_error(
            f'must be written as a string, e.g. "{value!r}" (floats are inexact; write rates, '
            "amounts and percentages as quoted decimals, or as integers)"
        )
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        if not _PLAIN_DECIMAL.match(text):
            raise value_error(f"{value!r} is not a decimal number")
        number = Decimal(text)
    else:
        raise value_error(f'must be a decimal string such as "0.15", not {describe_value(value)}')
    if not number.is_finite():
        raise value_error("must be a finite number")
    return number


def decimal_places(value: Decimal) -> int:
    """Significant decimal places: `0.150` has 2, `100` has 0."""
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def canonical_decimal(value: Decimal) -> str:
    """Shortest exact text: `0.150` -> `"0.15"`, `1E+3` -> `"1000"`; for JSON and hashing."""
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise value_error("must not be negative")
    return value


def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise value_error("must be greater than 0")
    return value


def _rate_places(value: Decimal) -> Decimal:
    places = decimal_places(value)
    if places > MAX_RATE_PLACES:
        raise value_error(f"at most {MAX_RATE_PLACES} decimal places (got {places})")
    return value


def _percent(value: Decimal) -> Decimal:
    if not Decimal(0) <= value <= Decimal(100):
        raise value_error(f"must be a percentage between 0 and 100 (got {value})")
    return value


_Exact = BeforeValidator(parse_decimal)
_AsText = PlainSerializer(canonical_decimal, return_type=str, when_used="json")

UnitPrice = Annotated[
    Decimal, _Exact, AfterValidator(_non_negative), AfterValidator(_rate_places), _AsText
]
"""A rate per unit in major currency units: >= 0, at most 6 decimal places."""

MoneyAmount = Annotated[
    Decimal, _Exact, AfterValidator(_non_negative), AfterValidator(_rate_places), _AsText
]
"""A money amount in major units (base fee, block price); exactness in the currency's minor unit
is checked where the currency is known."""

Quantity = Annotated[Decimal, _Exact, AfterValidator(_non_negative), _AsText]
"""A quantity of a usage type's unit, >= 0."""

PositiveQuantity = Annotated[Decimal, _Exact, AfterValidator(_positive), _AsText]
"""A quantity > 0 (tier bounds, block sizes)."""

Percent = Annotated[
    Decimal, _Exact, AfterValidator(_percent), AfterValidator(_rate_places), _AsText
]
"""A percentage 0..100 (`"8.25"` means 8.25 %)."""


# --- price models -------------------------------------------------------------------------------


class _Price(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str  # narrowed to a Literal by each price; declared here so it is dumped first

    def quantity_values(self) -> tuple[tuple[Loc, Decimal], ...]:
        """Every quantity in the price with its relative path (for precision checks)."""
        return ()

    def money_values(self) -> tuple[tuple[Loc, Decimal], ...]:
        """Every money amount in the price with its relative path (for currency checks)."""
        return ()


class Tier(BaseModel):
    """One tier: units above the previous tier's `up_to` up to this one's (inclusive)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    up_to: PositiveQuantity | None = None
    unit_price: UnitPrice


def _tier_problems(tiers: Sequence[Tier]) -> list[tuple[Loc, str]]:
    if not tiers:
        return [(("tiers",), "needs at least one tier")]
    problems: list[tuple[Loc, str]] = []
    last = len(tiers) - 1
    previous: tuple[int, Decimal] | None = None
    for index, tier in enumerate(tiers):
        if tier.up_to is None:
            if index < last:
                problems.append((("tiers", index, "up_to"), "required on every tier but the last"))
            continue
        if index == last:
            problems.append(
                (
                    ("tiers", index, "up_to"),
                    "must be omitted on the last tier, which covers every unit above the "
                    "previous tier (the last tier must be unbounded)",
                )
            )
        if previous is not None and tier.up_to <= previous[1]:
            problems.append(
                (("tiers", index, "up_to"), f"must be greater than tiers[{previous[0]}].up_to")
            )
        previous = (index, tier.up_to)
    return problems


class PerUnitPrice(_Price):
    """`unit_price` per unit; with `block_size`, usage is billed per started block of that many
    units (61 s at a 60 s block is 2 blocks) and each block costs `unit_price * block_size`."""

    model: Literal["per_unit"]
    unit_price: UnitPrice
    block_size: PositiveQuantity | None = None

    def quantity_values(self) -> tuple[tuple[Loc, Decimal], ...]:
        return () if self.block_size is None else ((("block_size",), self.block_size),)


class _TieredPrice(_Price):
    tiers: tuple[Tier, ...]

    @model_validator(mode="after")
    def _check_tiers(self) -> _TieredPrice:
        problems = _tier_problems(self.tiers)
        if problems:
            raise rules_error(problems)
        return self

    def quantity_values(self) -> tuple[tuple[Loc, Decimal], ...]:
        return tuple(
            (("tiers", i, "up_to"), tier.up_to)
            for i, tier in enumerate(self.tiers)
            if tier.up_to is not None
        )


class GraduatedPrice(_TieredPrice):
    """Each tier's share of the quantity at that tier's price: one charge line per tier used."""

    model: Literal["graduated"]


class VolumePrice(_TieredPrice):
    """Every unit at the price of the tier that contains the total quantity."""

    model: Literal["volume"]


class PackagePrice(_Price):
    """`included` units are covered by the plan's fee; above them, either `overage_unit_price` per
    unit or `block_price` per started block of `block_size` units."""

    model: Literal["package"]
    included: Quantity
    overage_unit_price: UnitPrice | None = None
    block_size: PositiveQuantity | None = None
    block_price: MoneyAmount | None = None

    @model_validator(mode="after")
    def _check_overage(self) -> PackagePrice:
        blocks = self.block_size is not None or self.block_price is not None
        problem: tuple[Loc, str] | None = None
        if self.overage_unit_price is not None and blocks:
            problem = (
                ("overage_unit_price",),
                "give either overage_unit_price or block_size with block_price, not both",
            )
        elif self.overage_unit_price is None and not blocks:
            problem = ((), "needs overage_unit_price, or block_size with block_price")
        elif self.overage_unit_price is None and self.block_size is None:
            problem = (("block_size",), "required with block_price")
        elif self.overage_unit_price is None and self.block_price is None:
            problem = (("block_price",), "required with block_size")
        if problem is not None:
            raise rules_error([problem])
        return self

    def quantity_values(self) -> tuple[tuple[Loc, Decimal], ...]:
        values: list[tuple[Loc, Decimal]] = [(("included",), self.included)]
        if self.block_size is not None:
            values.append((("block_size",), self.block_size))
        return tuple(values)

    def money_values(self) -> tuple[tuple[Loc, Decimal], ...]:
        return () if self.block_price is None else ((("block_price",), self.block_price),)


PriceModel: TypeAlias = Annotated[
    PerUnitPrice | GraduatedPrice | VolumePrice | PackagePrice, Field(discriminator="model")
]

_PRICE_ADAPTER: TypeAdapter[PerUnitPrice | GraduatedPrice | VolumePrice | PackagePrice] = (
    TypeAdapter(PriceModel)
)


def parse_price(data: Any) -> PerUnitPrice | GraduatedPrice | VolumePrice | PackagePrice:
    """Validate a price from a dict (TOML table, JSON body, JSON column); raises
    `pydantic.ValidationError`."""
    return _PRICE_ADAPTER.validate_python(data)


def price_to_json(price: PerUnitPrice | GraduatedPrice | VolumePrice | PackagePrice) -> Any:
    """The JSON form (`parse_price(price_to_json(p)) == p`), Decimals as canonical strings."""
    return _PRICE_ADAPTER.dump_python(price, mode="json")
