"""Field types of the partner file: the shared rules of `config.validators` (identifiers, ISO 4217
currencies, IANA time zones, e-mail addresses, colours, names) and money exact in a currency."""

from __future__ import annotations

from decimal import Decimal

from config.money import currency_exponent
from config.prices import decimal_places
from config.validators import (
    ISO_4217_CODES,
    Color,
    Currency,
    Email,
    Name,
    Slug,
    TimeZone,
    check_currency,
    check_slug,
    check_timezone,
)

__all__ = [
    "ISO_4217_CODES",
    "Color",
    "Currency",
    "Email",
    "Name",
    "Slug",
    "TimeZone",
    "check_currency",
    "check_slug",
    "check_timezone",
    "money_problem",
]


def money_problem(value: Decimal, currency: str) -> str | None:
    """Why `value` (major units) is not exact in `currency`'s minor unit, or None."""
    exponent = currency_exponent(currency)
    if decimal_places(value) <= exponent:
        return None
    if exponent == 0:
        return f"{value} must be a whole number of {currency} ({currency} has no minor unit)"
    return f"{value} has more than {exponent} decimal places, the minor unit of {currency}"
