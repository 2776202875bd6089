"""How numbers, dates and addresses read on a document: exact, in the partner's locale, no float.

Money goes through `config.money.format_minor` (the one place that knows each currency's
exponent); rates and quantities are printed from their `Decimal` digits, never rounded here,
because a printed rate that differs from the charged rate is a dispute waiting to happen.

Separators and month names follow the partner's Babel locale (`de`: "1.234,56 EUR",
"6. Dezember 2026"); the words around them stay English. The default locale `en` keeps the
house style: "1,234.56 USD" and "6 December 2026" (day first, unambiguous in every country,
unlike 12/6). The currency code follows the amount in every locale, as it always has, so a
figure reads the same way whichever column or e-mail it is in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from functools import lru_cache

from babel.core import Locale
from babel.dates import format_date as babel_date

from config.money import (
    DEFAULT_LOCALE,
    currency_exponent,
    format_exact,
    format_major,
    format_minor,
)

__all__ = [
    "address_lines",
    "format_amount",
    "format_date",
    "format_decimal",
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


def format_money(amount_minor: int, currency: str, locale: str = DEFAULT_LOCALE) -> str:
    """`123456, "USD"` -> `"1,234.56 USD"`; `1234, "JPY"` -> `"1,234 JPY"`;
    `123456, "EUR", "de"` -> `"1.234,56 EUR"`."""
    return format_minor(amount_minor, currency, locale=locale)


def format_amount(amount_minor: int, currency: str, locale: str = DEFAULT_LOCALE) -> str:
    """The same figure without the code, for table cells under a currency heading."""
    return format_major(amount_minor, currency, locale=locale)


@lru_cache(maxsize=32)
def _locale(name: str) -> Locale:
    return Locale.parse(name)


def _places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    return max(-exponent, 0)


def format_decimal(value: Decimal, places: int, locale: str = DEFAULT_LOCALE) -> str:
    """`value` with exactly `places` decimals (it must not have more: nothing is rounded
    here) and the locale's separators: `Decimal("1234.5"), 2, "de"` -> `"1.234,50"`."""
    if not value.is_finite():
        raise ValueError(f"number must be finite, got {value}")
    if _places(value.normalize()) > places:
        raise ValueError(f"{value} has more than {places} decimal places")
    shown = value.quantize(Decimal(1).scaleb(-places)) if places else value.to_integral_value()
    if not shown:
        shown = abs(shown)  # no "-0"
    return format_exact(shown, places, locale=locale)


def format_rate(value: Decimal, currency: str, locale: str = DEFAULT_LOCALE) -> str:
    """A unit price with every digit it has, and at least the currency's minor digits:
    `0.045 USD` -> `"0.045"`, `2 USD` -> `"2.00"`, `1.5 JPY` -> `"1.5"`, `1234.5 EUR de` ->
    `"1.234,50"`."""
    if not value.is_finite():
        raise ValueError(f"rate must be finite, got {value}")
    places = max(currency_exponent(currency), _places(value.normalize()))
    return format_decimal(value, places, locale)


def format_quantity(value: Decimal, locale: str = DEFAULT_LOCALE) -> str:
    """The quantity as given (its precision is the usage type's), with thousands separators:
    `Decimal("12345.50")` -> `"12,345.50"` (`de`: `"12.345,50"`)."""
    if not value.is_finite():
        raise ValueError(f"quantity must be finite, got {value}")
    return format_decimal(value, _places(value), locale)


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


def format_percent(value: Decimal, locale: str = DEFAULT_LOCALE) -> str:
    """`Decimal("8.250")` -> `"8.25%"`, `Decimal("10")` -> `"10%"` (`de`: `"8,25%"`)."""
    shown = value.normalize()
    return f"{format_decimal(shown, _places(shown), locale)}%"


def format_date(day: date, locale: str = DEFAULT_LOCALE) -> str:
    """`2026-10-31` -> `"31 October 2026"`: unambiguous in every country, unlike 10/31. Any
    other locale than the default writes CLDR's long date: `"31. Oktober 2026"` (`de`),
    `"31 octobre 2026"` (`fr`), `"October 31, 2026"` (`en_US`)."""
    if locale == DEFAULT_LOCALE:
        return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"
    return str(babel_date(day, format="long", locale=_locale(locale)))


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
