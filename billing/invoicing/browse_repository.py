"""Finding invoices among thousands: the invoices page's filtered list, newest first, a page at
a time.

Every filter is a condition of one query, so a page is exactly `limit` matching invoices
whatever the filters (filtering a page after reading it would show short or empty pages).
Paging is by keyset on the invoice id, descending (ids grow as invoices are created): a page
does not shift when new invoices arrive while someone pages. The sync filters read the outbox
and the latest reconciliation through their tables' columns (as metering reads invoices), not
through the sync package, which sits above invoicing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import BigInteger, String, cast, column, exists, func, select, table
from sqlmodel import Session, col

from billing.invoicing.models import Invoice, InvoiceStatus

__all__ = [
    "COLLECTIBLE",
    "INVOICE_OPS",
    "MISSING_KIND",
    "BrowseFilter",
    "PaymentState",
    "SyncState",
    "browse_invoices",
    "payment_state_of",
]

OPEN_STATUSES = (InvoiceStatus.DRAFT, InvoiceStatus.APPROVED)
COLLECTIBLE = (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.PAID)
# What invoicing reads of sync's tables (sync imports invoicing, not the reverse).
_OUTBOX = table(
    "sync_outbox",
    column("partner_id", String()),
    column("op", String()),
    column("our_id", String()),
    column("status", String()),
)
_RUNS = table("reconcile_run", column("id", BigInteger()), column("partner_id", String()))
_DIFFERENCES = table(
    "reconcile_difference",
    column("run_id", BigInteger()),
    column("kind", String()),
    column("invoice_id", BigInteger()),
)
INVOICE_OPS = ("invoice.push", "invoice.void")  # sync.models.OutboxOp (a test keeps them equal)
MISSING_KIND = "missing_there"  # sync.reconcile.kinds


class PaymentState(enum.StrEnum):
    """Of an invoice issued and not written off or voided."""

    PAID = "paid"
    DUE = "due"  # something left to pay, not past its due date
    OVERDUE = "overdue"
    PARTLY_PAID = "partly_paid"


class SyncState(enum.StrEnum):
    """An invoice's accounting sync: a row of its in this state with some connection, or
    (`missing`) the partner's latest reconciliation found it missing in an accounting system."""

    PENDING = "pending"
    DONE = "done"
    DEAD = "dead"
    PAUSED = "paused"
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class BrowseFilter:
    """Each field narrows the list; None leaves it open. `period` is a month: invoices whose
    period starts in it. `number` matches any part of the invoice number, case-insensitively."""

    status: InvoiceStatus | None = None
    period: tuple[date, date] | None = None
    client_id: str | None = None
    payment: PaymentState | None = None
    sync: SyncState | None = None
    number: str | None = None


def browse_invoices(
    session: Session,
    partner_id: str,
    where: BrowseFilter,
    today: date,
    *,
    before: int | None = None,
    limit: int = 50,
) -> list[Invoice]:
    """Invoices past review (not draft or approved) matching `where`, newest first, with ids
    below `before`; at most `limit`."""
    invoice = Invoice
    query = select(invoice).where(
        col(invoice.partner_id) == partner_id, col(invoice.status).not_in(OPEN_STATUSES)
    )
    if where.status is not None:
        query = query.where(col(invoice.status) == where.status)
    if where.period is not None:
        first, last = where.period
        query = query.where(col(invoice.period_start) >= first, col(invoice.period_start) <= last)
    if where.client_id is not None:
        query = query.where(col(invoice.client_id) == where.client_id)
    if where.number:
        text = where.number.lower()
        query = query.where(func.lower(col(invoice.number)).contains(text, autoescape=True))
    if where.payment is not None:
        query = query.where(*_payment(where.payment, today))
    if where.sync is not None:
        query = query.where(_sync(partner_id, where.sync))
    if before is not None:
        query = query.where(col(invoice.id) < before)
    return list(session.scalars(query.order_by(col(invoice.id).desc()).limit(limit)))


def payment_state_of(invoice: Invoice, today: date) -> PaymentState | None:
    """The payment state `browse_invoices` would file this invoice under (None: not issued,
    voided or written off). The same rules as `_payment`'s SQL, in Python, for pages that show
    the state of invoices already loaded (the client portal); a test keeps the two equal."""
    if invoice.status not in COLLECTIBLE:
        return None
    due = invoice.total_minor - invoice.amount_paid_minor - invoice.credited_minor
    if due <= 0:
        return PaymentState.PAID
    if invoice.due_at is not None and invoice.due_at < today:
        return PaymentState.OVERDUE
    if invoice.amount_paid_minor > 0:
        return PaymentState.PARTLY_PAID
    return PaymentState.DUE


def _payment(state: PaymentState, today: date) -> list[Any]:
    invoice = Invoice
    due = col(invoice.total_minor) - col(invoice.amount_paid_minor) - col(invoice.credited_minor)
    # Written off (uncollectible) is neither paid nor due; for the rest, `Invoice.amount_due_minor`
    # is exactly this difference.
    standing = col(invoice.status).in_(COLLECTIBLE)
    if state is PaymentState.PAID:
        return [standing, due <= 0]
    if state is PaymentState.PARTLY_PAID:
        return [standing, due > 0, col(invoice.amount_paid_minor) > 0]
    overdue = col(invoice.due_at) < today
    if state is PaymentState.OVERDUE:
        return [standing, due > 0, overdue]
    return [standing, due > 0, col(invoice.due_at).is_(None) | ~overdue]


def _sync(partner_id: str, state: SyncState) -> Any:
    invoice_id = col(Invoice.id)
    if state is SyncState.MISSING:
        latest = (
            select(func.max(_RUNS.c.id)).where(_RUNS.c.partner_id == partner_id).scalar_subquery()
        )
        d = _DIFFERENCES.c
        return exists().where(
            d.run_id == latest, d.kind == MISSING_KIND, d.invoice_id == invoice_id
        )
    o = _OUTBOX.c
    return exists().where(
        o.partner_id == partner_id,
        o.op.in_(INVOICE_OPS),
        o.status == state.value,
        o.our_id == cast(invoice_id, String()),
    )
