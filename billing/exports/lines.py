"""Issued invoices as the rows an import file needs: one row per line, tax spread over them.

Accounting tools recompute an imported invoice from its rows, so each row is made to give our
figures to the cent:
- A line whose amount is exactly quantity x unit price (with at most four decimals in each,
  what Xero and QuickBooks keep) goes as it is; any other line (a rate of 0.0079 per message,
  rounded once) goes as quantity 1 at the line amount, with the quantity and rate in the
  description, so no tool rounds it again.
- The discount is a row with a negative amount; the tax is not a row: the invoice's tax (one
  rounding of the percent of the discounted subtotal) is spread over the rows in proportion to
  their amounts (largest remainder, so the shares add up to the tax exactly) and goes in each
  tool's per-line tax amount column.
Only issued invoices that stand (issued, partially paid, paid, written off; not void) of the
period are exported: those whose billing period starts in the month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from billing.invoicing.models import ISSUED_STATES, Invoice, InvoiceLine, InvoiceLineKind
from billing.invoicing.repository import InvoiceFilter, InvoiceRepository
from billing.tenants.repository import TenantRepository
from config.bounds import month_days
from config.money import from_minor

__all__ = ["ExportInvoice", "ExportLine", "allocate", "export_lines", "invoices_for_export"]

_MAX_DECIMALS = 4
_ONE = Decimal(1)
_ITEM_NAMES = {
    InvoiceLineKind.BASE_FEE: "Base fee",
    InvoiceLineKind.MINIMUM_TRUE_UP: "Minimum spend",
    InvoiceLineKind.DISCOUNT: "Discount",
}


@dataclass(frozen=True, slots=True)
class ExportLine:
    item: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount_minor: int
    tax_minor: int


@dataclass(frozen=True, slots=True)
class ExportInvoice:
    number: str
    client_id: str
    client_name: str
    email: str
    address: dict[str, Any]
    issue_date: date
    due_date: date
    net_terms_days: int
    currency: str
    memo: str
    tax_name: str | None
    tax_percent: Decimal | None
    total_minor: int
    tax_minor: int
    lines: tuple[ExportLine, ...]


def _decimals(value: Decimal) -> int:
    return max(0, -int(value.normalize().as_tuple().exponent))


def allocate(total: int, weights: list[int]) -> list[int]:
    """`total` split in proportion to `weights` (largest remainder): the shares add up to it."""
    base = sum(weights)
    if not weights:
        return []
    if base == 0:
        return [total] + [0] * (len(weights) - 1)
    shares = [w * total // base for w in weights]
    remainders = [w * total - s * base for w, s in zip(weights, shares, strict=True)]
    left = total - sum(shares)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        shares[i] += 1
    return shares


def export_lines(invoice: Invoice, lines: list[InvoiceLine]) -> tuple[ExportLine, ...]:
    rows = [
        ln for ln in sorted(lines, key=lambda ln: ln.position) if ln.kind is not InvoiceLineKind.TAX
    ]
    taxes = allocate(invoice.tax_minor, [ln.amount_minor for ln in rows])
    out = []
    for line, tax in zip(rows, taxes, strict=True):
        amount = from_minor(line.amount_minor, invoice.currency)
        item = _ITEM_NAMES.get(line.kind) or line.usage_type or str(line.kind)
        exact = (
            line.quantity * line.unit_price == amount
            and _decimals(line.quantity) <= _MAX_DECIMALS
            and _decimals(line.unit_price) <= _MAX_DECIMALS
        )
        if exact:
            quantity, price, description = line.quantity, line.unit_price, line.description
        else:
            quantity, price = _ONE, amount
            description = (
                f"{line.description} ({format(line.quantity.normalize(), 'f')} x "
                f"{format(line.unit_price.normalize(), 'f')})"
            )
        out.append(ExportLine(item, description, quantity, price, line.amount_minor, tax))
    return tuple(out)


def invoices_for_export(session: Session, partner_id: str, period: str) -> list[ExportInvoice]:
    """The partner's standing issued invoices whose period starts in `period` (YYYY-MM)."""
    start, end = month_days(period)
    repo = InvoiceRepository(session)
    invoices = [
        inv
        for inv in repo.invoices(partner_id, InvoiceFilter(period_from=start, period_to=end))
        if inv.status in ISSUED_STATES and inv.number is not None
    ]
    lines = repo.lines([inv.invoice_id for inv in invoices])
    clients = {c.id: c for c in TenantRepository(session).clients(partner_id)}
    out = []
    for inv in invoices:
        client = clients.get(inv.client_id)
        assert inv.number is not None and inv.issue_date is not None and inv.due_at is not None
        out.append(
            ExportInvoice(
                number=inv.number,
                client_id=inv.client_id,
                client_name=client.name if client else inv.client_id,
                email=(client.billing_email or "") if client else "",
                address=dict(client.address or {}) if client else {},
                issue_date=inv.issue_date,
                due_date=inv.due_at,
                net_terms_days=inv.net_terms_days,
                currency=inv.currency,
                memo=f"Usage {inv.period_start} to {inv.period_end}",
                tax_name=inv.tax_name,
                tax_percent=inv.tax_percent,
                total_minor=inv.total_minor,
                tax_minor=inv.tax_minor,
                lines=export_lines(inv, lines[inv.invoice_id]),
            )
        )
    return out
