"""Money, numbers and dates in the partner's locale (Babel), exact; English stays the default."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from babel.numbers import parse_decimal
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from billing.documents import PartnerBranding
from billing.documents.formatting import (
    format_date,
    format_money,
    format_percent,
    format_quantity,
    format_rate,
)
from billing.documents.render import render_email_text, render_invoice_html
from billing.tenants.models import Partner
from billing.tenants.schemas import PartnerCreate, PartnerUpdate
from config.money import currency_exponent, to_minor
from tests.billing.documents.builders import branding, invoice

NNBSP = "\u202f"  # CLDR's French group separator, a narrow no-break space


@pytest.mark.parametrize(
    ("minor", "currency", "locale", "text"),
    [
        (123456, "EUR", "de", "1.234,56 EUR"),
        (-123456, "EUR", "de", "-1.234,56 EUR"),
        (123456, "EUR", "fr", f"1{NNBSP}234,56 EUR"),
        (-5, "EUR", "fr", "-0,05 EUR"),
        (123456, "USD", "en", "1,234.56 USD"),
        (-2307, "USD", "en", "-23.07 USD"),
        (1234567, "JPY", "de", "1.234.567 JPY"),
        (-1234567, "JPY", "fr", f"-1{NNBSP}234{NNBSP}567 JPY"),
        (1234567, "JPY", "en", "1,234,567 JPY"),
        (1234567, "BHD", "de", "1.234,567 BHD"),
    ],
)
def test_money_in_the_locale(minor: int, currency: str, locale: str, text: str) -> None:
    assert format_money(minor, currency, locale) == text


def test_english_is_the_default() -> None:
    assert format_money(123456, "EUR") == "1,234.56 EUR"
    assert format_date(date(2026, 12, 6)) == "6 December 2026"


@pytest.mark.parametrize(
    ("locale", "text"),
    [
        ("en", "6 December 2026"),
        ("de", "6. Dezember 2026"),
        ("fr", "6 décembre 2026"),
        ("en_US", "December 6, 2026"),
    ],
)
def test_dates_in_the_locale(locale: str, text: str) -> None:
    assert format_date(date(2026, 12, 6), locale) == text


def test_rates_quantities_and_percentages_keep_every_digit() -> None:
    assert format_rate(Decimal("0.045"), "EUR", "de") == "0,045"
    assert format_rate(Decimal("1234.5"), "EUR", "de") == "1.234,50"
    assert format_rate(Decimal("1.5"), "JPY", "fr") == "1,5"
    assert format_quantity(Decimal("12345.50"), "de") == "12.345,50"
    assert format_quantity(Decimal("12345.50")) == "12,345.50"
    assert format_quantity(Decimal("-3"), "de") == "-3"
    assert format_percent(Decimal("8.250"), "de") == "8,25%"
    assert format_percent(Decimal("19")) == "19%"


_LOCALES = st.sampled_from(["en", "de", "fr", "de_CH", "en_IN", "es", "ja", "pt_BR"])
_CURRENCIES = st.sampled_from(["USD", "EUR", "JPY", "BHD", "CHF"])


@given(
    minor=st.integers(min_value=-(10**15), max_value=10**15), currency=_CURRENCIES, locale=_LOCALES
)
def test_a_formatted_amount_reads_back_as_the_same_minor_units(
    minor: int, currency: str, locale: str
) -> None:
    text = format_money(minor, currency, locale)
    figure, code = text.rsplit(" ", 1)
    assert code == currency
    parsed = parse_decimal(figure, locale=locale, strict=True)
    assert isinstance(parsed, Decimal)
    assert to_minor(parsed, currency) == minor
    # exactly the currency's minor digits, never more (no float, no rounding on the way)
    assert -parsed.as_tuple().exponent == currency_exponent(currency) or minor == 0


def test_documents_print_in_the_partner_locale() -> None:
    doc = invoice(partner=branding(locale="de"))
    html = render_invoice_html(doc)
    assert "249,17 USD" in html and "1. Dezember 2026" in html and "1.000" in html
    assert "249.17" not in html
    text = render_email_text(doc)
    assert "249,17 USD" in text and "Due by 1. Dezember 2026" in text


def test_from_partner_reads_the_settings_and_tolerates_stale_values() -> None:
    partner = Partner(
        id="acme",
        name="Acme",
        currency="EUR",
        timezone="UTC",
        invoice_prefix="A-",
        branding={
            "tax_id": " DE123456789 ",
            "payment_instructions": "Bank: X\nIBAN DE02",
            "pay_link": "https://pay.example/a",
            "footer": "Acme GmbH",
        },
        settings={"locale": "de"},
    )
    brand = PartnerBranding.from_partner(partner)
    assert (brand.tax_id, brand.payment_instructions) == ("DE123456789", ("Bank: X", "IBAN DE02"))
    assert (brand.pay_link, brand.footer, brand.locale) == (
        "https://pay.example/a",
        "Acme GmbH",
        "de",
    )
    # Stored before today's checks (or edited in the database): dropped, not fatal to a run.
    partner.branding = {"pay_link": "javascript:alert(1)", "tax_id": "<b>"}
    partner.settings = {"locale": "xx"}
    stale = PartnerBranding.from_partner(partner)
    assert (stale.pay_link, stale.tax_id, stale.locale) == (None, None, "en")


@pytest.mark.parametrize(
    ("field", "value"),
    [("pay_link", "http://pay.example"), ("locale", "xx"), ("tax_id", "x" * 41)],
)
def test_a_document_refuses_bad_values(field: str, value: str) -> None:
    with pytest.raises(ValueError):
        replace(branding(), **{field: value})


@pytest.mark.parametrize(
    ("body", "path", "fragment"),
    [
        ({"branding": {"pay_link": "http://pay.example"}}, "branding.pay_link", "https://"),
        ({"branding": {"tax_id": "x" * 41}}, "branding.tax_id", "1-40 letters"),
        ({"branding": {"footer": "x" * 1001}}, "branding.footer", "at most 1000 characters"),
        ({"settings": {"locale": "klingon"}}, "settings.locale", "not a locale Babel knows"),
    ],
)
def test_the_api_refuses_bad_document_settings(
    body: dict[str, object], path: str, fragment: str
) -> None:
    with pytest.raises(ValidationError) as info:
        PartnerUpdate.model_validate(body)
    [error] = info.value.errors()
    assert ".".join(str(p) for p in error["loc"]) == path
    assert fragment in error["msg"]


def test_the_api_stores_document_settings_in_their_json() -> None:
    spec = PartnerCreate.model_validate(
        {
            "id": "acme",
            "name": "Acme",
            "branding": {"tax_id": "DE1", "pay_link": "https://pay.example/a"},
            "settings": {"locale": "de-CH", "attach_usage_csv": False},
        }
    )
    assert spec.settings.locale == "de_CH" and spec.settings.attach_usage_csv is False
    assert spec.branding.model_dump(exclude_none=True) == {
        "tax_id": "DE1",
        "pay_link": "https://pay.example/a",
    }
