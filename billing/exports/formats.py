"""The three import layouts: header rows and one row per invoice line.

- QuickBooks Online, "Import invoices" (Sales > Invoices > Import): the default column names it
  maps by itself. Dates MM/DD/YYYY (US company format). The tax of each line is in
  `ItemTaxAmount` with the invoice's tax name as `ItemTaxCode` (create a tax code of that name,
  or map the column to yours); `Taxable` says Y/N for companies on US sales tax.
- Xero, Sales > Invoices > Import, its `SalesInvoiceTemplate.csv` columns (`*` = required).
  Dates DD/MM/YYYY as the template asks; import with amounts "Tax Exclusive". `TaxAmount` is
  the line's share of our tax (Xero uses it instead of recomputing); `TaxType` is the invoice's
  tax name ("Tax Exempt" without tax): rename to the rate names of your organisation if they
  differ. `AccountCode` is the revenue account (default 200, Xero's "Sales").
- FreshBooks documents no invoice import (only clients, items and expenses): the file uses
  the columns of FreshBooks' own invoice-details export, dates YYYY-MM-DD, for an import
  service or for keying in.
Amounts are plain decimals with the currency's exponent, never floats.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from billing.exports.lines import ExportInvoice, ExportLine
from config.csv_cells import safe_writer
from config.money import from_minor

__all__ = ["FORMATS", "ExportFormat", "write_export"]

Row = list[str]


@dataclass(frozen=True, slots=True)
class ExportFormat:
    name: str
    header: tuple[str, ...]
    row: Callable[[ExportInvoice, ExportLine, str], Row]
    file_suffix: str


def _money(amount: int, currency: str) -> str:
    return format(from_minor(amount, currency), "f")


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _us(day: date) -> str:
    return f"{day:%m/%d/%Y}"


def _uk(day: date) -> str:
    return f"{day:%d/%m/%Y}"


QUICKBOOKS_HEADER = (
    "InvoiceNo",
    "Customer",
    "InvoiceDate",
    "DueDate",
    "Terms",
    "Memo",
    "Item(Product/Service)",
    "ItemDescription",
    "ItemQuantity",
    "ItemRate",
    "ItemAmount",
    "Taxable",
    "ItemTaxCode",
    "ItemTaxAmount",
    "Currency",
)


def _quickbooks(inv: ExportInvoice, line: ExportLine, _account: str) -> Row:
    cur = inv.currency
    return [
        inv.number,
        inv.client_name,
        _us(inv.issue_date),
        _us(inv.due_date),
        f"Net {inv.net_terms_days}",
        inv.memo,
        line.item,
        line.description,
        _number(line.quantity),
        _number(line.unit_price),
        _money(line.amount_minor, cur),
        "Y" if inv.tax_minor else "N",
        inv.tax_name or "",
        _money(line.tax_minor, cur),
        cur,
    ]


XERO_HEADER = (
    "*ContactName",
    "EmailAddress",
    "POAddressLine1",
    "POAddressLine2",
    "POAddressLine3",
    "POAddressLine4",
    "POCity",
    "PORegion",
    "POPostalCode",
    "POCountry",
    "*InvoiceNumber",
    "Reference",
    "*InvoiceDate",
    "*DueDate",
    "InventoryItemCode",
    "*Description",
    "*Quantity",
    "*UnitAmount",
    "Discount",
    "*AccountCode",
    "*TaxType",
    "TaxAmount",
    "TrackingName1",
    "TrackingOption1",
    "TrackingName2",
    "TrackingOption2",
    "Currency",
    "BrandingTheme",
)


def _xero(inv: ExportInvoice, line: ExportLine, account: str) -> Row:
    a = inv.address
    return [
        inv.client_name,
        inv.email,
        a.get("line1") or "",
        a.get("line2") or "",
        "",
        "",
        a.get("city") or "",
        a.get("region") or "",
        a.get("postal_code") or "",
        a.get("country") or "",
        inv.number,
        inv.memo,
        _uk(inv.issue_date),
        _uk(inv.due_date),
        "",
        f"{line.item}: {line.description}",
        _number(line.quantity),
        _number(line.unit_price),
        "",
        account,
        inv.tax_name or "Tax Exempt",
        _money(line.tax_minor, inv.currency),
        "",
        "",
        "",
        "",
        inv.currency,
        "",
    ]


FRESHBOOKS_HEADER = (
    "Client Name",
    "Email",
    "Invoice #",
    "Date Issued",
    "Due Date",
    "Currency",
    "Item Name",
    "Item Description",
    "Rate",
    "Quantity",
    "Line Subtotal",
    "Tax 1 Type",
    "Tax 1 Amount",
    "Line Total",
    "Notes",
)


def _freshbooks(inv: ExportInvoice, line: ExportLine, _account: str) -> Row:
    cur = inv.currency
    return [
        inv.client_name,
        inv.email,
        inv.number,
        inv.issue_date.isoformat(),
        inv.due_date.isoformat(),
        cur,
        line.item,
        line.description,
        _number(line.unit_price),
        _number(line.quantity),
        _money(line.amount_minor, cur),
        inv.tax_name or "",
        _money(line.tax_minor, cur),
        _money(line.amount_minor + line.tax_minor, cur),
        inv.memo,
    ]


FORMATS: dict[str, ExportFormat] = {
    "quickbooks": ExportFormat("quickbooks", QUICKBOOKS_HEADER, _quickbooks, "quickbooks"),
    "xero": ExportFormat("xero", XERO_HEADER, _xero, "xero"),
    "freshbooks": ExportFormat("freshbooks", FRESHBOOKS_HEADER, _freshbooks, "freshbooks"),
}


def write_export(
    fmt: ExportFormat,
    invoices: Iterable[ExportInvoice],
    path: Path,
    *,
    account_code: str = "200",
) -> int:
    """Write the CSV (UTF-8, comma, quoted as needed, text cells escaped against formulas:
    `config.csv_cells`); returns the number of rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = safe_writer(handle)
        writer.writerow(fmt.header)
        for invoice in invoices:
            for line in invoice.lines:
                writer.writerow(fmt.row(invoice, line, account_code))
                count += 1
    return count
