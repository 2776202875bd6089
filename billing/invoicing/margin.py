"""One invoice's margin, as the review page shows it beside each draft: what the invoice
charges net of tax against the wholesale cost of what it bills.

Tax is collected for someone else, so it is no revenue; the cost is in the partner's currency
(`cost_currency`) and only comparable when the invoice is in the same one. The percentage is
`billing.rating.margin_percent`, the one every margin view uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from billing.invoicing.models import Invoice
from billing.rating import margin_percent

__all__ = ["InvoiceMargin", "invoice_margin"]


@dataclass(frozen=True, slots=True)
class InvoiceMargin:
    charge: int  # net of tax, minor units of the invoice's currency
    cost: int

    @property
    def margin(self) -> int:
        return self.charge - self.cost

    @property
    def percent(self) -> Decimal | None:
        return margin_percent(self.charge, self.cost)


def invoice_margin(invoice: Invoice) -> InvoiceMargin | None:
    """None when the cost is in another currency than the invoice (no honest difference)."""
    if invoice.cost_currency != invoice.currency:
        return None
    return InvoiceMargin(invoice.total_minor - invoice.tax_minor, invoice.cost_minor)
