"""Figures as printed: exact, with each currency's own number of decimals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.documents import DocumentLine
from billing.documents.formatting import (
    address_lines,
    format_amount,
    format_date,
    format_money,
    format_percent,
    format_quantity,
    format_rate,
    format_usage_quantity,
)
from billing.documents.render import render_invoice_html
from config.money import currency_exponent, format_major, format_minor
from tests.billing.documents.builders import D, K, invoice


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (123456789, "USD", "1,234,567.89 USD"),
        (-2307, "USD", "-23.07 USD"),
        (5, "USD", "0.05 USD"),
        (1234567, "JPY", "1,234,567 JPY"),
        (1234567, "BHD", "1,234.567 BHD"),
        (5, "BHD", "0.005 BHD"),
    ],
)
def test_money_uses_the_currency_exponent(minor: int, currency: str, text: str) -> None:
    assert format_money(minor, currency) == text
    assert format_amount(minor, currency) == text.rsplit(" ", 1)[0]


@given(
    minor=st.integers(min_value=-(10**15), max_value=10**15),
    currency=st.sampled_from(["USD", "EUR", "JPY", "BHD", "CLF", "KRW", "GBP"]),
)
def test_people_read_every_amount_as_the_integer_it_is(minor: int, currency: str) -> None:
    """Babel's grouping and the currency's exponent: read back digit by digit, the printed
    figure is the stored integer, with a comma every three digits and the code after it."""
    text = format_minor(minor, currency)
    number, code = text.rsplit(" ", 1)
    assert code == currency and number == format_major(minor, currency)
    whole, _, fraction = number.lstrip("-").partition(".")
    assert len(fraction) == currency_exponent(currency)
    groups = whole.split(",")
    assert all(len(g) == 3 for g in groups[1:]) and 1 <= len(groups[0]) <= 3
    assert int(number.replace(",", "").replace(".", "")) == minor
    assert format_amount(minor, currency) == number


def test_money_in_another_locale_keeps_the_figure() -> None:
    assert format_minor(282219, "USD", locale="de_DE") == "2.822,19 USD"


@pytest.mark.parametrize(
    ("value", "precision", "unit", "text"),
    [
        ("2117.000000", 0, "message", "2,117 messages"),
        ("1", 0, "run", "1 run"),
        ("1234.5", 2, "minute", "1,234.50 minutes"),
        ("0.125", 2, "minute", "0.125 minutes"),  # more digits than the precision: kept
        ("-0.000", 0, "query", "0 queries"),
        ("3", 0, "day", "3 days"),
        ("5.25", 2, "GB", "5.25 GB"),
        ("40", 0, None, "40"),
    ],
)
def test_usage_quantities_for_people(
    value: str, precision: int, unit: str | None, text: str
) -> None:
    assert format_usage_quantity(Decimal(value), precision=precision, unit=unit) == text


@pytest.mark.parametrize(
    ("rate", "currency", "text"),
    [
        ("0.045", "USD", "0.045"),
        ("2", "USD", "2.00"),
        ("0.000123", "USD", "0.000123"),
        ("1500", "USD", "1,500.00"),
        ("1.5", "JPY", "1.5"),
        ("12", "JPY", "12"),
        ("0.25", "BHD", "0.250"),
        ("0.0001", "BHD", "0.0001"),
    ],
)
def test_unit_prices_keep_every_digit(rate: str, currency: str, text: str) -> None:
    assert format_rate(Decimal(rate), currency) == text


def test_quantities_percentages_dates_addresses() -> None:
    assert format_quantity(Decimal("1234.50")) == "1,234.50"
    assert format_quantity(Decimal("1E+3")) == "1,000"
    assert format_percent(Decimal("8.250")) == "8.25%"
    assert format_percent(Decimal("10")) == "10%"
    assert format_date(date(2026, 2, 3)) == "3 February 2026"
    assert address_lines(" a \n\n b ") == ("a", "b")
    assert address_lines(["x", " "]) == ("x",)
    assert address_lines(None) == ()


@pytest.mark.parametrize(
    ("currency", "expected"),
    [
        ("JPY", ["12,000", "1,234", "13,234 JPY", "1.5"]),
        ("BHD", ["12.000", "1.234", "13.234 BHD", "1.500"]),
    ],
)
def test_documents_in_other_currencies(currency: str, expected: list[str]) -> None:
    lines = [
        DocumentLine(K.BASE_FEE, "Base fee", D(1), D(12000) if currency == "JPY" else D(12), 12000),
        DocumentLine(K.USAGE, "Minutes", D("822.67"), D("1.5"), 1234, "voice", "minute"),
    ]
    html = render_invoice_html(invoice(currency=currency, lines=lines, tax=None))
    for text in expected:
        assert text in html
