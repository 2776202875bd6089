"""How numbers, dates and addresses read on a document: exact, locale-independent, no float.

Money goes through `config.money.format_minor` (the one place that knows each currency's
exponent); rates and quantities are printed from their `Decimal` digits, never rounded here,
because a printed rate that differs from the charged rate is a dispute waiting to happen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

from config.money import currency_exponent, format_major, format_minor

__all__ = [
    "address_lines",
    "format_amount",
    "format_date",
    "format_money",
    "format_percent",
    "format_quantity",
    "format_rate",
    "format_usage_quantity",
]

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def format_money(amount_minor: int, currency: str) -> str:
    """`123456, "USD"` -> `"1,234.56 USD"`; `1234, "JPY"` -> `"1,234 JPY"`."""
    return format_minor(amount_minor, currency)


def format_amount(amount_minor: int, currency: str) -> str:
    """The same figure without the code, for table cells under a currency heading."""
    return format_major(amount_minor, currency)


def format_rate(value: Decimal, currency: str) -> str:
    """A unit price with every digit it has, and at least the currency's minor digits:
    `0.045 USD` -> `"0.045"`, `2 USD` -> `"2.00"`, `1.5 JPY` -> `"1.5"`."""
    if not value.is_finite():
        raise ValueError(f"rate must be finite, got {value}")
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    places = max(currency_exponent(currency), -exponent, 0)
    return f"{value.quantize(Decimal(1).scaleb(-places)):,f}"


def format_quantity(value: Decimal) -> str:
    """The quantity as given (its precision is the usage type's), with thousands separators."""
    if not value.is_finite():
        raise ValueError(f"quantity must be finite, got {value}")
    return f"{value:,f}"


_PLURAL_AS_IS = ("s", "x", "z", "ch", "sh")


def _unit_for(unit: str, value: Decimal) -> str:
    """A unit as usage types name them (singular: `minute`, `message`) agreeing with the
    figure. Only plain lower-case words are made plural; `GB` or `kWh` stay as written."""
    if abs(value) == 1 or not unit.isalpha() or not unit.islower() or unit.endswith(_PLURAL_AS_IS):
        return unit
    if unit.endswith("y") and unit[-2:-1] not in ("a", "e", "i", "o", "u"):
        return unit[:-1] + "ies"
    return unit + "s"


def format_usage_quantity(value: Decimal, *, precision: int, unit: str | None = None) -> str:
    """A quantity as its usage type states it, for people: the type's decimal places,
    thousands separators and the unit. `2117.000000` of a type with precision 0 and unit
    `message` -> `"2,117 messages"`; `1234.5` with precision 2 and `minute` ->
    `"1,234.50 minutes"`. Digits beyond the precision are kept, never rounded away."""
    if not value.is_finite():
        raise ValueError(f"quantity must be finite, got {value}")
    quantum = Decimal(1).scaleb(-max(precision, 0))
    shown = value.quantize(quantum) if value == value.quantize(quantum) else value.normalize()
    if not shown:
        shown = abs(shown)  # no "-0"
    text = f"{shown:,f}"
    return f"{text} {_unit_for(unit, shown)}" if unit else text


def format_percent(value: Decimal) -> str:
    """`Decimal("8.250")` -> `"8.25%"`, `Decimal("10")` -> `"10%"`."""
    return f"{value.normalize():f}%"


def format_date(day: date) -> str:
    """`2026-10-31` -> `"31 October 2026"`: unambiguous in every country, unlike 10/31."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def address_lines(value: object) -> tuple[str, ...]:
    """An address as printed lines, from free text (newlines or commas kept as written), a
    list of lines, or the structured form clients have (`line1`, `city`, `postal_code`, ...)."""
    if isinstance(value, str):
        return tuple(line.strip() for line in value.splitlines() if line.strip())
    if isinstance(value, Mapping):

        def part(key: str) -> str:
            item = value.get(key)
            return str(item).strip() if item else ""

        city = " ".join(p for p in (part("postal_code"), part("city")) if p)
        lines = (part("line1"), part("line2"), city, part("region"), part("country"))
        return tuple(line for line in lines if line)
    if isinstance(value, Sequence):
        return tuple(str(line).strip() for line in value if str(line).strip())
    return ()
