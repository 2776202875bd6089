"""A rated draft as database rows: the invoice's columns, its lines and usage rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from billing.invoicing.drafts import DraftInvoice, plain
from billing.invoicing.late import RunContext
from billing.invoicing.models import Invoice
from billing.invoicing.repository import ClientInfo, InvoiceRepository
from billing.pricing.usage_repository import UsageTotal
from billing.rating import BillingPeriod, ClientTerms, PeriodStatement, UsageCharge

__all__ = [
    "LINE_COLUMNS",
    "USAGE_COLUMNS",
    "Rated",
    "Target",
    "content_rows",
    "insert_invoices",
    "invoice_values",
]


@dataclass(frozen=True, slots=True)
class Target:
    client: ClientInfo
    period: BillingPeriod


@dataclass
class Rated:
    target: Target
    window: tuple[datetime, datetime]
    statement: PeriodStatement
    terms: ClientTerms
    costs: dict[str, UsageCharge]
    totals: dict[str, UsageTotal]
    draft: DraftInvoice
    auto_charge: bool
    adjustments: int


def invoice_values(ctx: RunContext, item: Rated) -> dict[str, object]:
    """The columns of a draft computed from its rating (shared by insert and refresh)."""
    tax = item.terms.tax
    return {
        "currency": item.statement.currency,
        "plan_name": item.statement.plan_name,
        "subtotal_minor": item.draft.subtotal,
        "discount_minor": item.draft.discount,
        "tax_minor": item.draft.tax,
        "total_minor": item.draft.total,
        "discount_percent": item.terms.discount_percent,
        "tax_name": tax.name if tax else None,
        "tax_percent": tax.percent if tax else None,
        "cost_minor": item.draft.cost,
        "cost_currency": ctx.book.currency,
        "auto_charge": item.auto_charge,
        "watermark": ctx.snapshot,
        "usage_events": sum(total.events for total in item.totals.values()),
        "net_terms_days": int(ctx.partner.settings.get("net_terms_days", 30)),
        "updated_at": ctx.snapshot,
    }


LINE_COLUMNS = (
    "invoice_id",
    "position",
    "kind",
    "usage_type",
    "description",
    "quantity",
    "unit_price",
    "amount_minor",
    "cost_minor",
    "tier",
    "block_size",
    "origin_period_start",
    "adjusts",
)
USAGE_COLUMNS = (
    "invoice_id",
    "partner_id",
    "client_id",
    "usage_type",
    "origin_period_start",
    "quantity",
    "total_quantity",
    "charge_minor",
    "cost_minor",
    "events",
    "watermark",
    "unbilled_cleared_minor",
    "cost_cleared_minor",
)


def content_rows(
    invoice_id: int, client_id: str, partner_id: str, draft: DraftInvoice
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """A draft's lines and usage rows, as tuples in `LINE_COLUMNS` / `USAGE_COLUMNS` order."""
    lines: list[tuple[object, ...]] = [
        (
            invoice_id,
            position,
            line.kind,
            line.usage_type,
            line.description[:500],
            line.quantity,
            line.unit_price,
            line.amount,
            line.cost,
            line.tier,
            line.block_size,
            line.origin_period_start,
            line.adjusts,
        )
        for position, line in enumerate(draft.lines, start=1)
    ]
    usage: list[tuple[object, ...]] = [
        (
            invoice_id,
            partner_id,
            client_id,
            row.usage_type,
            row.origin_period_start,
            plain(row.quantity),
            plain(row.total_quantity),
            row.charge,
            row.cost,
            row.events,
            row.watermark,
            0,
            0,
        )
        for row in draft.usage
    ]
    return lines, usage


def insert_invoices(
    repo: InvoiceRepository, rows: list[dict[str, object]]
) -> dict[tuple[str, date], int]:
    """PostgreSQL: `INSERT ... ON CONFLICT DO NOTHING RETURNING` (a concurrent closer may win a
    pair). SQLite: this transaction has held the write lock since before it read which periods
    are closed, so no pair can conflict, and ids are allocated and rows inserted in bulk."""
    if not rows or repo.dialect == "postgresql":
        return repo.insert_invoices(rows)
    ids = repo.next_invoice_ids(len(rows))
    names = ("id", *rows[0])
    repo.insert_bulk(
        Invoice, names, [(id_, *row.values()) for id_, row in zip(ids, rows, strict=True)]
    )
    return {
        (str(row["client_id"]), row["period_start"]): id_  # type: ignore[misc]
        for id_, row in zip(ids, rows, strict=True)
    }
