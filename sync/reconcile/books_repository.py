"""Reading our own books for a reconciliation: the period's standing invoices, what they
billed, what the ledger posted for them, and the imported platform bill.

The comparisons (`compare_books`) only compare; every query they need is here. Lookups by
lists of ids go through `config.key_arrays`: IN lists of 500 on SQLite, so a large period never
builds a list a database refuses, and a join on one array per 10,000 ids on PostgreSQL, whose
IN lists fall into generic plans that scan the partner's rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Select, delete, func, select
from sqlmodel import Session, col

from billing.invoicing.models import ISSUED_STATES, Invoice, InvoiceUsage
from billing.payments.models import Payment, Payout
from config.key_arrays import keyed_queries, on_postgres
from ledger.models import Account, Posting
from sync.reconcile.models import WholesaleBillLine
from sync.stripe.models import ChargeStatus, StripeCharge

__all__ = [
    "billed_quantities",
    "entry_sums_by_role",
    "invoice_by_id",
    "invoice_numbers_issued_between",
    "payments_of_invoices",
    "payouts_arrived_between",
    "replace_wholesale_bill",
    "standing_invoices",
    "succeeded_charges_of_invoices",
    "uncleared_costs_by_invoice",
    "wholesale_bill_lines",
]

_Query = TypeVar("_Query", bound=Select[*tuple[Any, ...]])


def _keyed(session: Session, query: _Query, column: Any, ids: Sequence[int]) -> Iterator[_Query]:
    return keyed_queries(query, column, ids, postgres=on_postgres(session))


def standing_invoices(session: Session, partner_id: str, start: date, end: date) -> list[Invoice]:
    """Issued, not voided invoices whose period starts in [start, end)."""
    query = (
        select(Invoice)
        .where(
            col(Invoice.partner_id) == partner_id,
            col(Invoice.period_start) >= start,
            col(Invoice.period_start) < end,
            col(Invoice.status).in_(sorted(ISSUED_STATES)),
        )
        .order_by(col(Invoice.number))
    )
    return list(session.scalars(query))


def invoice_by_id(session: Session, invoice_id: int) -> Invoice | None:
    """Any partner's invoice by id: a stored difference names its invoice by id alone."""
    return session.get(Invoice, invoice_id)


def invoice_numbers_issued_between(
    session: Session, partner_id: str, first: date, last: date
) -> list[str]:
    """Numbers of the partner's invoices issued on a day in [first, last]."""
    query = select(col(Invoice.number)).where(
        col(Invoice.partner_id) == partner_id,
        col(Invoice.issue_date) >= first,
        col(Invoice.issue_date) <= last,
    )
    return [str(number) for number in session.scalars(query) if number is not None]


def billed_quantities(
    session: Session, partner_id: str, period_starts: Collection[date]
) -> list[tuple[str, date, str, Decimal]]:
    """(client, origin period start, usage type, quantity) of every usage line that standing
    invoices billed of these periods (prior-period adjustments count for their origin)."""
    query = (
        select(
            col(InvoiceUsage.client_id),
            col(InvoiceUsage.origin_period_start),
            col(InvoiceUsage.usage_type),
            col(InvoiceUsage.quantity),
        )
        .join(Invoice, col(Invoice.id) == col(InvoiceUsage.invoice_id))
        .where(
            col(InvoiceUsage.partner_id) == partner_id,
            col(InvoiceUsage.origin_period_start).in_(sorted(period_starts)),
            col(Invoice.status).in_(sorted(ISSUED_STATES)),
        )
    )
    return [(c, s, u, q) for c, s, u, q in session.execute(query)]


def entry_sums_by_role(
    session: Session, entries: Sequence[int], roles: Collection[str]
) -> dict[tuple[int, str], int]:
    """(entry, account role) -> debit-positive sum of its postings on accounts of these roles,
    sub-accounts included."""
    sums: dict[tuple[int, str], int] = defaultdict(int)
    query = (
        select(col(Posting.entry_id), col(Account.role), func.sum(Posting.amount))
        .join(Account, col(Account.id) == col(Posting.account_id))
        .where(col(Account.role).in_(roles))
        .group_by(col(Posting.entry_id), col(Account.role))
    )
    for chunk in _keyed(session, query, col(Posting.entry_id), entries):
        for entry, role, amount in session.execute(chunk):
            sums[(entry, role)] += int(amount)
    return sums


def uncleared_costs_by_invoice(session: Session, invoice_ids: Sequence[int]) -> dict[int, int]:
    """Invoice -> its usage lines' wholesale cost less the cost already accrued (cleared)."""
    found: dict[int, int] = defaultdict(int)
    query = select(
        col(InvoiceUsage.invoice_id),
        func.sum(InvoiceUsage.cost_minor - InvoiceUsage.cost_cleared_minor),
    ).group_by(col(InvoiceUsage.invoice_id))
    for chunk in _keyed(session, query, col(InvoiceUsage.invoice_id), invoice_ids):
        found.update((invoice, int(cost or 0)) for invoice, cost in session.execute(chunk))
    return found


def wholesale_bill_lines(
    session: Session, partner_id: str, period: str
) -> dict[str, WholesaleBillLine]:
    """Usage type -> the line of the platform bill imported for the partner's period."""
    query = select(WholesaleBillLine).where(
        col(WholesaleBillLine.partner_id) == partner_id,
        col(WholesaleBillLine.period) == period,
    )
    return {line.usage_type: line for line in session.scalars(query)}


def replace_wholesale_bill(
    session: Session, partner_id: str, period: str, lines: Iterable[WholesaleBillLine]
) -> None:
    """The imported platform bill of the partner's period becomes `lines` (the old one goes)."""
    session.execute(
        delete(WholesaleBillLine).where(
            col(WholesaleBillLine.partner_id) == partner_id, col(WholesaleBillLine.period) == period
        )
    )
    session.add_all(lines)
    session.flush()


def payments_of_invoices(session: Session, invoice_ids: Sequence[int]) -> Iterator[Payment]:
    """Every payment recorded against these invoices (refunded ones too)."""
    query = select(Payment)
    for chunk in _keyed(session, query, col(Payment.invoice_id), invoice_ids):
        yield from session.scalars(chunk)


def succeeded_charges_of_invoices(
    session: Session, invoice_ids: Sequence[int]
) -> Iterator[StripeCharge]:
    """The Stripe charges of these invoices that succeeded."""
    query = select(StripeCharge).where(col(StripeCharge.status) == ChargeStatus.SUCCEEDED)
    for chunk in _keyed(session, query, col(StripeCharge.invoice_id), invoice_ids):
        yield from session.scalars(chunk)


def payouts_arrived_between(
    session: Session, partner_id: str, start_at: datetime, end_at: datetime
) -> tuple[int, int]:
    """How many payouts reached the partner's bank in [start_at, end_at), and their sum."""
    count, amount = session.execute(
        select(func.count(), func.coalesce(func.sum(Payout.amount_minor), 0)).where(
            col(Payout.partner_id) == partner_id,
            col(Payout.arrived_at) >= start_at,
            col(Payout.arrived_at) < end_at,
        )
    ).one()
    return int(count), int(amount)
