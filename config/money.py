"""Money primitives shared by every layer: ISO 4217 exponents and the one rounding function.

Money is an `int` in the currency's minor unit; rates and quantities are `Decimal`. Rounding
happens in exactly one place (`to_minor`), half-up, so every remote system that recomputes an
invoice from its lines arrives at the same cents. Amounts for people are formatted in exactly
one place too (`format_major`, through Babel's CLDR number patterns), so an e-mail, a PDF, the
dashboard and the command line print the same figure the same way: `2,822.19 USD`.
"""

from __future__ import annotations

import copy
from decimal import ROUND_CEILING, ROUND_HALF_UP, Context, Decimal, InvalidOperation
from functools import lru_cache

from babel.core import Locale
from babel.numbers import NumberPattern, parse_pattern

__all__ = [
    "DEFAULT_LOCALE",
    "UnknownCurrencyError",
    "ceil_units",
    "currency_exponent",
    "format_exact",
    "format_major",
    "format_minor",
    "from_minor",
    "parse_major",
    "to_minor",
]

# ISO 4217 minor-unit exponents; currencies not listed here use 2.
_EXPONENTS: dict[str, int] = {
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "UYI": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    "CLF": 4,
    "UYW": 4,
}


class UnknownCurrencyError(ValueError):
    pass


_CHECKED: dict[str, int] = {}  # currencies already validated -> exponent (rating's hot path)
_WIDE = Context(prec=60)  # wide enough that the half-up rounding is the only rounding
_ONE = Decimal(1)


def currency_exponent(currency: str) -> int:
    known = _CHECKED.get(currency)
    if known is not None:
        return known
    code = currency.upper()
    if len(code) != 3 or not code.isalpha():
        raise UnknownCurrencyError(f"currency: {currency!r} is not a three-letter ISO 4217 code")
    exponent = _CHECKED[currency] = _EXPONENTS.get(code, 2)
    return exponent


def to_minor(amount_major: Decimal, currency: str) -> int:
    """The one rounding function: a major-unit Decimal to integer minor units, half-up.

    Half-up rounds halves away from zero (0.125 -> 0.13, -0.125 -> -0.13), so a negative amount
    (a credit, a negative adjustment's tax) is exactly the negative of its positive counterpart.
    Computed in a 60-digit context whatever the caller's, so no amount is rounded before."""
    if not amount_major.is_finite():
        raise ValueError(f"amount must be finite, got {amount_major}")
    exponent = _CHECKED.get(currency)
    if exponent is None:
        exponent = currency_exponent(currency)
    scaled = amount_major.scaleb(exponent, _WIDE)
    return int(scaled.quantize(_ONE, rounding=ROUND_HALF_UP, context=_WIDE))


def from_minor(amount_minor: int, currency: str) -> Decimal:
    exponent = currency_exponent(currency)
    return Decimal(amount_minor).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))


DEFAULT_LOCALE = "en"


@lru_cache(maxsize=64)
def _pattern(places: int, locale: str) -> NumberPattern:
    """The locale's grouping (thousands; India's lakhs: `12,34,567`) and exactly `places`
    decimals (for money the ISO 4217 exponent, not CLDR's own table, so the printed figure is
    always the stored integer)."""
    pattern: NumberPattern = copy.copy(_locale(locale).decimal_formats[None])
    if pattern.grouping[0] > 9:  # a locale that does not group: group in thousands anyway
        pattern = parse_pattern("#,##0")
    pattern.frac_prec = (places, places)
    return pattern


@lru_cache(maxsize=16)
def _locale(name: str) -> Locale:
    return Locale.parse(name)


def format_exact(value: Decimal, places: int, *, locale: str = DEFAULT_LOCALE) -> str:
    """`value` (with at most `places` decimals: nothing is rounded) with exactly `places`
    decimals and the locale's separators: `Decimal("1234.5"), 2, locale="de"` -> `"1.234,50"`."""
    return str(_pattern(places, locale).apply(value, _locale(locale)))


def format_major(amount_minor: int, currency: str, *, locale: str = DEFAULT_LOCALE) -> str:
    """The amount in major units with the locale's separators, without the code:
    `282219, "USD"` -> `"2,822.19"`; `-5, "USD"` -> `"-0.05"`; `1234, "JPY"` -> `"1,234"`;
    `123456, "EUR", locale="de"` -> `"1.234,56"`.
    The one function that writes money for people (table cells under a currency heading use
    it directly; everything else through `format_minor`)."""
    exponent = currency_exponent(currency)
    return format_exact(from_minor(amount_minor, currency), exponent, locale=locale)


def format_minor(amount_minor: int, currency: str, *, locale: str = DEFAULT_LOCALE) -> str:
    """`282219, "USD"` -> `"2,822.19 USD"`; for people, never for parsing."""
    return f"{format_major(amount_minor, currency, locale=locale)} {currency.upper()}"


def parse_major(text: str, currency: str, field: str = "amount") -> int:
    """Parse a decimal string in major units that must be exact in minor units."""
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError) as exc:
        raise ValueError(f"{field}: {text!r} is not a decimal number") from exc
    if not value.is_finite():
        raise ValueError(f"{field}: must be finite")
    exponent = currency_exponent(currency)
    if value != value.quantize(Decimal(1).scaleb(-exponent), rounding=ROUND_HALF_UP):
        raise ValueError(f"{field}: {text} has more than {exponent} decimals for {currency}")
    return to_minor(value, currency)


def ceil_units(quantity: Decimal, block: Decimal) -> Decimal:
    """Number of started blocks (per started minute, per started 1,000)."""
    if block <= 0:
        raise ValueError("block size must be positive")
    return (quantity / block).to_integral_value(rounding=ROUND_CEILING)
