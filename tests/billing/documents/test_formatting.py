"""Figures as printed: exact, with each currency's own number of decimals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from billing.documents import DocumentLine
from billing.documents.formatting import (
    address_lines,
    format_amount,
    format_date,
    format_money,
    format_percent,
    format_quantity,
    format_rate,
)
from billing.documents.render import render_invoice_html
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
