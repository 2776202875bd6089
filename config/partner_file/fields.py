"""Field types of the partner file: identifiers, ISO 4217 currencies, IANA time zones, e-mail
addresses and colours, each with an error message a partner can act on."""

from __future__ import annotations

import difflib
import re
import zoneinfo
from decimal import Decimal
from functools import lru_cache
from typing import Annotated

from pydantic import AfterValidator, StrictStr

from config.money import currency_exponent
from config.prices import decimal_places, value_error

__all__ = [
    "ISO_4217_CODES",
    "Color",
    "Currency",
    "Email",
    "Slug",
    "TimeZone",
    "check_currency",
    "check_slug",
    "check_timezone",
    "money_problem",
]

# Active ISO 4217 codes (list one, 2025) usable for invoicing; precious metals, testing and
# fund codes such as XAU, XDR, XTS and XXX are left out on purpose.
_ISO_4217 = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN
    BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP
    ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK
    JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK
    MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN
    PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB
    TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XCD
    XCG XOF XPF YER ZAR ZMW ZWG ZWL
"""
ISO_4217_CODES: frozenset[str] = frozenset(_ISO_4217.split())

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")

SLUG_RULE = "1 to 64 characters: lowercase letters, digits, '-' or '_', not starting with - or _"


def check_slug(value: str) -> str:
    if not _SLUG.match(value):
        raise value_error(f"{value!r} is not a valid identifier ({SLUG_RULE})")
    return value


def check_currency(value: str) -> str:
    code = value.strip()
    if code.upper() in ISO_4217_CODES and code != code.upper():
        raise value_error(f"{value!r}: write currency codes in capitals ({code.upper()!r})")
    if code not in ISO_4217_CODES:
        raise value_error(f"{value!r} is not an ISO 4217 currency code (e.g. 'USD', 'EUR')")
    return code


@lru_cache(maxsize=1)
def _zones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def check_timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        close = difflib.get_close_matches(value, _zones(), n=1, cutoff=0.8)
        hint = f" (did you mean {close[0]!r}?)" if close else " (e.g. 'America/New_York')"
        raise value_error(f"{value!r} is not an IANA time zone{hint}") from None
    return value


def _check_email(value: str) -> str:
    if len(value) > 254 or not _EMAIL.match(value):
        raise value_error(f"{value!r} is not a valid e-mail address")
    return value


def _check_color(value: str) -> str:
    if not _COLOR.match(value):
        raise value_error(f"{value!r} is not a colour in the form #RRGGBB (e.g. '#0B5FFF')")
    return value.upper()


def money_problem(value: Decimal, currency: str) -> str | None:
    """Why `value` (major units) is not exact in `currency`'s minor unit, or None."""
    exponent = currency_exponent(currency)
    if decimal_places(value) <= exponent:
        return None
    if exponent == 0:
        return f"{value} must be a whole number of {currency} ({currency} has no minor unit)"
    return f"{value} has more than {exponent} decimal places, the minor unit of {currency}"


Slug = Annotated[StrictStr, AfterValidator(check_slug)]
Currency = Annotated[StrictStr, AfterValidator(check_currency)]
TimeZone = Annotated[StrictStr, AfterValidator(check_timezone)]
Email = Annotated[StrictStr, AfterValidator(_check_email)]
Color = Annotated[StrictStr, AfterValidator(_check_color)]
