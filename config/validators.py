"""One set of field rules for every way data comes in (API, CLI, partner file, dashboard):
identifiers, ISO 4217 currencies, IANA time zones, e-mail addresses, colours and names, each
with a message a partner can act on. A value one path refuses, every path refuses, in the same
words. Text rules (storable, one line) are in `config.text`.
"""

from __future__ import annotations

import difflib
import re
import zoneinfo
from functools import lru_cache
from typing import Annotated
from urllib.parse import urlsplit

from babel.core import Locale, UnknownLocaleError
from pydantic import AfterValidator, StrictStr, StringConstraints
from pydantic_core import PydanticCustomError

from config.prices import VALUE_ERROR
from config.text import Line, StoredText, check_line, check_stored, line_problem

__all__ = [
    "ISO_4217_CODES",
    "MAX_DOCUMENT_TEXT",
    "Code",
    "Color",
    "Currency",
    "DocumentText",
    "Email",
    "HttpsUrl",
    "InvoicePrefix",
    "Line",
    "LocaleName",
    "Name",
    "Slug",
    "StoredText",
    "TaxId",
    "TimeZone",
    "check_code",
    "check_color",
    "check_currency",
    "check_document_text",
    "check_email",
    "check_https_url",
    "check_invoice_prefix",
    "check_line",
    "check_locale",
    "check_name",
    "check_slug",
    "check_stored",
    "check_tax_id",
    "check_timezone",
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
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_PREFIX = re.compile(r"^[A-Za-z0-9._/-]{0,20}$")

MAX_DOCUMENT_TEXT = 1000
MAX_TAX_ID = 40
MAX_URL = 500

SLUG_RULE = "1 to 64 characters: lowercase letters, digits, '-' or '_', not starting with - or _"
MAX_NAME = 200


def _error(message: str) -> PydanticCustomError:
    """A field error shown as written (no "Value error, " prefix); a `ValueError` too."""
    return PydanticCustomError(VALUE_ERROR, "{detail}", {"detail": message})


def _shown(value: str) -> str:
    """`value` as quoted in an error message (escapes keep the answer printable)."""
    return repr(value[:80])


def check_slug(value: str) -> str:
    if not _SLUG.match(value):
        raise _error(f"{_shown(value)} is not a valid identifier ({SLUG_RULE})")
    return value


def check_code(value: str) -> str:
    """A usage type code: it names accounts and columns, so no '-'."""
    if not _CODE.match(value):
        raise _error("use 1-64 lowercase letters, digits or '_', starting with a letter")
    return value


def check_currency(value: str) -> str:
    code = value.strip()
    if code.upper() in ISO_4217_CODES and code != code.upper():
        raise _error(f"{_shown(value)}: write currency codes in capitals ({code.upper()!r})")
    if code not in ISO_4217_CODES:
        raise _error(f"{_shown(value)} is not an ISO 4217 currency code (e.g. 'USD', 'EUR')")
    return code


@lru_cache(maxsize=1)
def _zones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def check_timezone(value: str) -> str:
    try:
        if line_problem(value) is not None:
            raise ValueError(value)
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        close = difflib.get_close_matches(value, _zones(), n=1, cutoff=0.8)
        hint = f" (did you mean {close[0]!r}?)" if close else " (e.g. 'America/New_York')"
        raise _error(f"{_shown(value)} is not an IANA time zone{hint}") from None
    return value


def check_email(value: str) -> str:
    if len(value) > 254 or not _EMAIL.match(value):
        raise _error(f"{_shown(value)} is not a valid e-mail address")
    return value


def check_color(value: str) -> str:
    if not _COLOR.match(value):
        raise _error(f"{_shown(value)} is not a colour in the form #RRGGBB (e.g. '#0B5FFF')")
    return value.upper()


def check_invoice_prefix(value: str) -> str:
    if not _PREFIX.match(value):
        raise _error(
            f"{_shown(value)}: at most 20 letters, digits, '-', '_', '.' or '/' (it starts every "
            "invoice number)"
        )
    return value


def check_name(value: str) -> str:
    """A name people read (partner, client, plan, usage type, sender): one line, 1-200."""
    if not value.strip():
        raise _error("must not be empty")
    if len(value) > MAX_NAME:
        raise _error(f"must be at most {MAX_NAME} characters")
    return check_line(value)


def check_locale(value: str) -> str:
    """A locale Babel has CLDR data for (`en`, `de`, `fr_CA`; `de-CH` is read as `de_CH`),
    stored in Babel's spelling. A territory Babel would silently swap for another (`en_ZZ`
    becomes `en_US`) is refused: the partner would not get what they wrote."""
    wanted = value.strip().replace("-", "_")
    problem = _error(f"{_shown(value)} is not a locale Babel knows (e.g. 'en', 'de', 'fr_CA')")
    if not wanted or line_problem(wanted) is not None or len(wanted) > 40:
        raise problem
    try:
        locale = Locale.parse(wanted)
    except (UnknownLocaleError, ValueError, TypeError):
        raise problem from None
    if str(locale).lower() != wanted.lower():
        raise problem
    return str(locale)


def check_https_url(value: str) -> str:
    """A link the client follows to pay: https only (an http page could be altered on the way
    to show someone else's bank details), a host, no spaces, at most 500 characters."""
    parts = (
        urlsplit(value) if len(value) <= MAX_URL and not any(c.isspace() for c in value) else None
    )
    if parts is None or parts.scheme != "https" or not parts.hostname:
        raise _error(
            f"{_shown(value)} is not an https:// URL of at most {MAX_URL} characters "
            "(e.g. 'https://pay.example.com/acme')"
        )
    return value


def check_tax_id(value: str) -> str:
    """A tax or VAT registration number as printed (`DE123456789`, `GB 123 4567 89`): one
    line of letters, digits, spaces and `-./`, at most 40 characters."""
    text = value.strip()
    if not text or len(text) > MAX_TAX_ID or not re.fullmatch(r"[A-Za-z0-9 ./-]+", text):
        raise _error(
            f"{_shown(value)}: a tax registration number is 1-{MAX_TAX_ID} letters, digits, "
            "spaces, '-', '.' or '/'"
        )
    return text


def check_document_text(value: str) -> str:
    """Text printed on documents (footer, payment instructions): may span lines, at most
    1000 characters, storable."""
    if len(value) > MAX_DOCUMENT_TEXT:
        raise _error(f"must be at most {MAX_DOCUMENT_TEXT} characters (got {len(value)})")
    if not value.strip():
        raise _error("must not be empty (leave the key out instead)")
    return check_stored(value)


Slug = Annotated[StrictStr, AfterValidator(check_slug)]
Code = Annotated[StrictStr, AfterValidator(check_code)]
Currency = Annotated[StrictStr, AfterValidator(check_currency)]
TimeZone = Annotated[StrictStr, AfterValidator(check_timezone)]
Email = Annotated[StrictStr, AfterValidator(check_email)]
Color = Annotated[StrictStr, AfterValidator(check_color)]
Name = Annotated[StrictStr, StringConstraints(min_length=1), AfterValidator(check_name)]
InvoicePrefix = Annotated[StrictStr, AfterValidator(check_invoice_prefix)]
LocaleName = Annotated[StrictStr, AfterValidator(check_locale)]
HttpsUrl = Annotated[StrictStr, AfterValidator(check_https_url)]
TaxId = Annotated[StrictStr, AfterValidator(check_tax_id)]
DocumentText = Annotated[StrictStr, AfterValidator(check_document_text)]
