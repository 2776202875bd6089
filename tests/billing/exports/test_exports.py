"""Import files read back: per invoice, what each tool would compute from the rows equals our
total to the cent, and the header row is exactly the tool's layout."""

from __future__ import annotations

import csv
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session
from typer.testing import CliRunner

from billing.exports import allocate, export_lines
from billing.exports.formats import FRESHBOOKS_HEADER, QUICKBOOKS_HEADER, XERO_HEADER
from billing.invoicing.models import Invoice, InvoiceLine, InvoiceLineKind
from billing.invoicing.service import void_invoice
from billing.rating import round_line
from main import app
from tests.billing.invoicing.builders import (
    at,
    close_and_issue,
    last_month,
    month_text,
    send,
    setup_partner,
)

CENT = Decimal("0.01")


@pytest.fixture
def issued(session: Session) -> dict[str, Invoice]:
    """acme (every price model): dental with tiers (234.56 x 0.12 does not multiply out), discount 10% and tax 8.25%; bakery with a
    started-minute blocks (33.33 min -> 34 x 0.18); gym with blocks. Gym's is voided."""
    setup_partner(session)
    month = last_month()
    send(
        session,
        [
            ("e1", "dental", "voice_minutes", "1234.56", at(month, 1)),
            ("e2", "dental", "sms", "1500", at(month, 2)),
            ("e3", "bakery", "voice_minutes", "33.33", at(month, 3)),
            ("e4", "bakery", "sms", "700", at(month, 3)),
            ("e5", "bakery", "calls", "1", at(month, 4)),
            ("e6", "gym", "sms", "2500", at(month, 5)),
        ],
    )
    invoices = {inv.client_id: inv for inv in close_and_issue(session, month)}
    void_invoice(session, "acme", invoices["gym"].invoice_id, "test")
    session.commit()
    assert invoices["dental"].tax_minor > 0 and invoices["dental"].discount_minor < 0
    return invoices


def _export(tmp_path: Path, fmt: str) -> tuple[list[str], list[dict[str, str]]]:
    result = CliRunner().invoke(
        app,
        [
            "export",
            "--partner",
            "acme",
            "--format",
            fmt,
            "--period",
            month_text(last_month()),
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "2 invoices" in result.output
    [path] = tmp_path.glob(f"*-{fmt}.csv")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = [dict(zip(header, row, strict=True)) for row in reader]
    return header, rows


def _cents(value: Decimal) -> int:
    return int((value / CENT).to_integral_value(ROUND_HALF_UP))


def _totals(rows: list[dict[str, str]], number: str, amount: str, tax: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in rows:
        line = _cents(Decimal(row[amount])) if amount in row else 0
        out[row[number]] = out.get(row[number], 0) + line + _cents(Decimal(row[tax]))
    return out


def _ours(issued: dict[str, Invoice]) -> dict[str, int]:
    return {str(i.number): i.total_minor for c, i in issued.items() if c != "gym"}


def test_quickbooks(tmp_path: Path, issued: dict[str, Invoice]) -> None:
    header, rows = _export(tmp_path, "quickbooks")
    assert tuple(header) == QUICKBOOKS_HEADER
    for row in rows:  # QuickBooks checks quantity x rate against the amount
        assert Decimal(row["ItemQuantity"]) * Decimal(row["ItemRate"]) == Decimal(row["ItemAmount"])
    assert _totals(rows, "InvoiceNo", "ItemAmount", "ItemTaxAmount") == _ours(issued)
    dental = [r for r in rows if r["InvoiceNo"] == issued["dental"].number]
    assert {r["Taxable"] for r in dental} == {"Y"}
    assert dental[0]["InvoiceDate"].count("/") == 2 and dental[0]["Terms"] == "Net 15"
    assert any(
        r["Item(Product/Service)"] == "Discount" and r["ItemAmount"].startswith("-") for r in dental
    )


def test_xero(tmp_path: Path, issued: dict[str, Invoice]) -> None:
    header, rows = _export(tmp_path, "xero")
    assert tuple(header) == XERO_HEADER
    totals: dict[str, int] = {}
    for row in rows:  # Xero: quantity x unit amount rounded to the cent, plus the tax amount
        line = _cents(Decimal(row["*Quantity"]) * Decimal(row["*UnitAmount"]))
        totals[row["*InvoiceNumber"]] = (
            totals.get(row["*InvoiceNumber"], 0) + line + _cents(Decimal(row["TaxAmount"]))
        )
        assert row["*AccountCode"] == "200" and row["Currency"] == "USD"
    assert totals == _ours(issued)
    bakery = [r for r in rows if r["*InvoiceNumber"] == issued["bakery"].number]
    assert any("34 started blocks" in r["*Description"] and r["*Quantity"] == "34" for r in bakery)
    assert {r["*TaxType"] for r in bakery} == {"Tax Exempt"}
    dental = next(r for r in rows if r["*InvoiceNumber"] == issued["dental"].number)
    # 234.56 minutes x 0.12 = 28.1472 -> 28.15: goes as 1 x 28.15 with the detail.
    inexact = next(r for r in rows if "(234.56 x 0.12)" in r["*Description"])
    assert (inexact["*Quantity"], inexact["*UnitAmount"]) == ("1", "28.15")
    issue = issued["dental"].issue_date
    assert issue is not None and dental["*InvoiceDate"] == f"{issue:%d/%m/%Y}"
    assert dental["*TaxType"] == "Sales tax" and dental["EmailAddress"] == "ap@dental.example"


def test_freshbooks(tmp_path: Path, issued: dict[str, Invoice]) -> None:
    header, rows = _export(tmp_path, "freshbooks")
    assert tuple(header) == FRESHBOOKS_HEADER
    for row in rows:
        subtotal = _cents(Decimal(row["Rate"]) * Decimal(row["Quantity"]))
        assert subtotal == _cents(Decimal(row["Line Subtotal"]))
    assert _totals(rows, "Invoice #", "Line Subtotal", "Tax 1 Amount") == _ours(issued)


def test_unknown_format_and_empty_period(tmp_path: Path, issued: dict[str, Invoice]) -> None:
    runner = CliRunner()
    bad = runner.invoke(app, ["export", "-p", "acme", "--format", "sage", "--period", "2026-10"])
    assert bad.exit_code == 2
    empty = runner.invoke(
        app,
        ["export", "-p", "acme", "--format", "xero", "--period", "2001-01", "--out", str(tmp_path)],
    )
    assert empty.exit_code == 0 and "0 invoices" in empty.output


@given(
    total=st.integers(-(10**6), 10**6),
    weights=st.lists(st.integers(-(10**6), 10**7), min_size=1, max_size=20),
)
def test_allocation_adds_up(total: int, weights: list[int]) -> None:
    shares = allocate(total, weights)
    assert sum(shares) == total and len(shares) == len(weights)
    base = sum(weights)
    if base > 0:
        for weight, share in zip(weights, shares, strict=True):
            assert abs(Decimal(share) - Decimal(weight * total) / base) < 1


_quantities = st.decimals(min_value=0, max_value=100000, places=4, allow_nan=False)
_prices = st.decimals(min_value=0, max_value=1000, places=6, allow_nan=False)


@given(
    lines=st.lists(st.tuples(_quantities, _prices), min_size=1, max_size=8),
    tax_percent=st.sampled_from([None, Decimal("8.25"), Decimal("20")]),
)
def test_any_lines_recompute_to_the_cent(
    lines: list[tuple[Decimal, Decimal]], tax_percent: Decimal | None
) -> None:
    rows = [
        InvoiceLine(
            invoice_id=1,
            position=n,
            kind=InvoiceLineKind.USAGE,
            usage_type="u",
            description="d",
            quantity=q,
            unit_price=p,
            amount_minor=round_line(q * p, "USD"),
        )
        for n, (q, p) in enumerate(lines, start=1)
    ]
    subtotal = sum(r.amount_minor for r in rows)
    tax = _cents(Decimal(subtotal) * (tax_percent or 0) / 100 * CENT) if tax_percent else 0
    invoice = Invoice(currency="USD", tax_minor=tax, total_minor=subtotal + tax)
    exported = export_lines(invoice, rows)
    recomputed = sum(_cents(x.quantity * x.unit_price) + x.tax_minor for x in exported)
    assert recomputed == invoice.total_minor


@pytest.mark.parametrize(
    ("fmt", "column"),
    [("quickbooks", "Customer"), ("xero", "*ContactName"), ("freshbooks", "Client Name")],
)
def test_client_names_cannot_run_as_formulas(
    tmp_path: Path, issued: dict[str, Invoice], session: Session, fmt: str, column: str
) -> None:
    """A client named like a formula is written as text; amounts (negative ones included)
    stay numbers that add up to our totals."""
    from billing.tenants.models import Client

    client = session.get(Client, ("acme", "dental"))
    assert client is not None
    client.name = '=HYPERLINK("http://evil.example","Dental")'
    session.add(client)
    session.commit()
    _header, rows = _export(tmp_path, fmt)
    names = {r[column] for r in rows}
    assert '\'=HYPERLINK("http://evil.example","Dental")' in names
    assert not any(name.startswith("=") for name in names)
    amounts = [r[k] for r in rows for k in ("ItemAmount", "Line Subtotal", "TaxAmount") if k in r]
    assert any(a.startswith("-") for a in amounts) or fmt == "xero"
    assert all(not a.startswith("'") for a in amounts)
