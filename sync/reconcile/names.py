"""What a reconciliation calls things, for people: systems, clients and usage types by their
names, amounts in major units with their currency, quantities in the usage type's precision and
unit. Loaded once per run, so the comparisons write their texts without a query each."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from billing.documents.formatting import format_date, format_usage_quantity
from billing.invoicing.models import Invoice
from billing.tenants.repository import TenantRepository
from config.money import UnknownCurrencyError, format_minor
from sync.reconcile.repository import client_names

__all__ = ["INTERNAL_SYSTEMS", "Names", "UsageLabel", "load_names", "money", "period_words"]

# The sides of a reconciliation that are not an outside system, as the report names them.
INTERNAL_SYSTEMS = {
    "usage": "Usage events",
    "ledger": "Ledger (Rebill's books)",
    "payments": "Payments recorded in Rebill",
    "stripe": "Stripe charges",
    "wholesale": "Platform wholesale bill",
}


def money(amount_minor: int, currency: str) -> str:
    """`282219, "USD"` -> `"2,822.19 USD"` (`config.money.format_minor`); an amount in a code
    that is not a currency still reads as what it is rather than failing the report."""
    try:
        return format_minor(amount_minor, currency)
    except UnknownCurrencyError:
        return f"{amount_minor} (minor units of {currency or 'an unknown currency'})"


def period_words(start: date, last_day: date) -> str:
    """`"November 2026"` for a calendar month, else `"15 October 2026 - 14 November 2026"`."""
    following = last_day + timedelta(days=1)
    if start.day == 1 and following.day == 1 and (following - start).days <= 31:
        return f"{start:%B %Y}"
    return f"{format_date(start)} \u2013 {format_date(last_day)}"


@dataclass(frozen=True, slots=True)
class UsageLabel:
    name: str
    unit: str
    precision: int


@dataclass(frozen=True, slots=True)
class Names:
    currency: str
    clients: Mapping[str, str] = field(default_factory=dict)
    usage_types: Mapping[str, UsageLabel] = field(default_factory=dict)

    def client(self, client_id: str) -> str:
        return self.clients.get(client_id) or client_id

    def usage_type(self, code: str) -> str:
        label = self.usage_types.get(code)
        return label.name if label is not None else code

    def quantity(self, code: str, value: Decimal) -> str:
        """`"2,117 messages"`: the usage type's precision and unit."""
        label = self.usage_types.get(code)
        if label is None:
            return format_usage_quantity(value, precision=0)
        return format_usage_quantity(value, precision=label.precision, unit=label.unit)

    def subject(self, invoice: Invoice) -> str:
        return f"Invoice {invoice.number}, {self.client(invoice.client_id)}"

    def invoice_facts(self, invoice: Invoice) -> dict[str, Any]:
        """The `Diff` fields that say which invoice and client a difference is about."""
        issued: date | None = invoice.issue_date
        return {
            "invoice_id": invoice.id,
            "invoice_number": str(invoice.number) if invoice.number else None,
            "client_id": invoice.client_id,
            "client_name": self.client(invoice.client_id),
            "issue_date": issued,
        }


def load_names(session: Session, partner_id: str, currency: str) -> Names:
    labels = {
        t.code: UsageLabel(t.display_name, t.unit, t.precision)
        for t in TenantRepository(session).usage_types(partner_id)
    }
    return Names(currency, client_names(session, partner_id), labels)
