"""Comparisons inside our own books: usage events vs invoiced quantities, invoices vs the
ledger (receivable, revenue, cost), and our computed wholesale cost vs the platform's
imported bill."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlmodel import Session

from billing.invoicing.models import Invoice
from billing.margins.selection import month_selection
from billing.margins.service import NO_USAGE_TYPE, margins
from billing.pricing.usage_repository import AggregationRule, UsageTotalsRepository
from billing.tenants.repository import TenantRepository
from ledger.chart import AccountRole
from sync.reconcile.books_repository import (
    billed_quantities,
    entry_sums_by_role,
    uncleared_costs_by_invoice,
    wholesale_bill_lines,
)
from sync.reconcile.differences import Diff, Tally
from sync.reconcile.names import INTERNAL_SYSTEMS, Names, money, period_words

__all__ = [
    "compare_ledger",
    "compare_usage",
    "compare_wholesale",
]


def _names(invoices: Sequence[Invoice], names: Names | None) -> Names:
    return names or Names(invoices[0].currency if invoices else "USD")


def _events(
    session: Session, invoices: Sequence[Invoice]
) -> tuple[dict[tuple[str, str], Decimal], set[tuple[str, str]]]:
    """(client, usage type) -> the period's quantity aggregated as invoicing aggregates it
    (sum, count, max or distinct values: a usage type's `aggregation`), and the keys with
    events received after the invoice's watermark (late). One aggregation per distinct period
    window and watermark (clients in other time zones have other windows)."""
    windows: dict[tuple[datetime, datetime, datetime], list[str]] = defaultdict(list)
    for invoice in invoices:
        window = (invoice.period_start_at, invoice.period_end_at, invoice.watermark)
        windows[window].append(invoice.client_id)
    found: dict[tuple[str, str], Decimal] = {}
    late: set[tuple[str, str]] = set()
    if not invoices:
        return found, late
    partner_id = invoices[0].partner_id
    rules = {
        usage_type.code: AggregationRule(usage_type.aggregation, usage_type.aggregation_property)
        for usage_type in TenantRepository(session).usage_types(partner_id)
    }
    usage = UsageTotalsRepository(session)
    for (start, end, watermark), clients in windows.items():
        named = set(clients)
        for pair, total in usage.totals(partner_id, start, end, rules, clients).items():
            if pair[0] not in named:
                continue
            found[pair] = total.quantity
            if total.newest_received_at is not None and total.newest_received_at > watermark:
                late.add(pair)
    return found, late


def _billed(session: Session, invoices: Sequence[Invoice]) -> dict[tuple[str, str], Decimal]:
    """(client, usage type) -> quantity standing invoices billed of the invoice's period."""
    wanted = {(i.client_id, i.period_start) for i in invoices}
    starts = sorted({start for _, start in wanted})
    found: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    if not invoices:
        return found
    for client, start, usage_type, quantity in billed_quantities(
        session, invoices[0].partner_id, starts
    ):
        if (client, start) in wanted:
            found[(client, usage_type)] += quantity
    return found


def compare_usage(
    session: Session, invoices: Sequence[Invoice], *, names: Names | None = None
) -> tuple[Tally, list[Diff]]:
    """Events of each invoice's period vs what standing invoices billed of that period, per
    client and usage type. More events than billed after issue are late events: they go on
    the client's next invoice as a prior-period adjustment (a warning, not an error)."""
    label = _names(invoices, names)
    system = INTERNAL_SYSTEMS["usage"]
    tally, diffs = Tally(name=system, money=False), []
    (events, late), billed = _events(session, invoices), _billed(session, invoices)
    types: dict[str, set[str]] = defaultdict(set)
    for client, usage_type in set(events) | set(billed):
        types[client].add(usage_type)
    for invoice in invoices:
        for usage_type in sorted(types.get(invoice.client_id, ())):
            key = (invoice.client_id, usage_type)
            have, paid = events.get(key, Decimal(0)), billed.get(key, Decimal(0))
            if have == paid:
                tally.matched += 1
                continue
            client, name = label.client(invoice.client_id), label.usage_type(usage_type)
            received = f"{label.quantity(usage_type, have)} received"
            if key in late:
                kind, severity = "late_events_pending", "warning"
                ours = f"{received} (some after the invoice was issued)"
                action = (
                    f"Nothing to do: the {label.quantity(usage_type, have - paid)} not yet "
                    f"invoiced go on the next invoice of {client} as a prior-period adjustment "
                    f"for {period_words(invoice.period_start, invoice.period_end)}."
                )
            elif have > paid:
                kind, severity, ours = "usage_not_invoiced", "error", received
                action = (
                    f"Check invoice {invoice.number}: usage that was there when it was issued "
                    "is not billed."
                )
            else:
                kind, severity, ours = "usage_invoiced_without_events", "error", received
                action = (
                    f"Look for corrected or missing {name} events of {client}; credit the "
                    "client if it was billed too much."
                )
            diffs.append(
                Diff(
                    kind,
                    severity,
                    "usage",
                    f"{label.subject(invoice)}, {name}",
                    ours,
                    f"{label.quantity(usage_type, paid)} invoiced",
                    0,
                    invoice.currency,
                    action,
                    system_name=system,
                    usage_type=usage_type,
                    **label.invoice_facts(invoice),
                )
            )
    return tally, diffs


_REVENUE_ROLES = (
    AccountRole.UNBILLED_RECEIVABLE.value,
    AccountRole.USAGE_REVENUE.value,
    AccountRole.SUBSCRIPTION_REVENUE.value,
    AccountRole.DISCOUNTS.value,
)
_ROLES = (AccountRole.ACCOUNTS_RECEIVABLE.value, AccountRole.WHOLESALE_COST.value, *_REVENUE_ROLES)


def compare_ledger(
    session: Session, invoices: Sequence[Invoice], *, names: Names | None = None
) -> tuple[Tally, list[Diff]]:
    """Each invoice vs its issue entry: the receivable is the total; the revenue legs (accrued
    revenue cleared from unbilled receivable, and the usage, subscription and discount
    true-ups) are the total less tax; the wholesale cost leg is the usage cost not accrued
    before."""
    label = _names(invoices, names)
    system = INTERNAL_SYSTEMS["ledger"]
    tally, diffs = Tally(name=system), []
    entries = [i.ledger_entry_id for i in invoices if i.ledger_entry_id is not None]
    sums = entry_sums_by_role(session, entries, _ROLES)
    costs = uncleared_costs_by_invoice(session, [i.invoice_id for i in invoices])
    fix_books = "Report it to whoever runs Rebill: a reversing entry corrects the books."
    for invoice in invoices:
        tally.ours_minor += invoice.total_minor
        entry = invoice.ledger_entry_id
        facts = label.invoice_facts(invoice)
        subject = label.subject(invoice)
        if entry is None:
            if invoice.total_minor or costs.get(invoice.invoice_id):
                diffs.append(
                    Diff(
                        "not_in_ledger",
                        "error",
                        "ledger",
                        subject,
                        f"invoice of {money(invoice.total_minor, invoice.currency)}",
                        "no journal entry",
                        invoice.total_minor,
                        invoice.currency,
                        "Report it to whoever runs Rebill: the invoice's issue entry must be "
                        "posted.",
                        system_name=system,
                        **facts,
                    )
                )
            else:
                tally.matched += 1  # an all-zero invoice posts nothing
            continue
        receivable = sums.get((entry, AccountRole.ACCOUNTS_RECEIVABLE.value), 0)
        revenue = -sum(sums.get((entry, role), 0) for role in _REVENUE_ROLES)
        cost = sums.get((entry, AccountRole.WHOLESALE_COST.value), 0)
        tally.theirs_minor += receivable
        checks = (
            (
                "ledger_receivable_mismatch",
                "receivable",
                invoice.total_minor,
                receivable,
                invoice.currency,
            ),
            (
                "ledger_revenue_mismatch",
                "revenue",
                invoice.total_minor - invoice.tax_minor,
                revenue,
                invoice.currency,
            ),
            (
                "ledger_cost_mismatch",
                "wholesale cost",
                costs.get(invoice.invoice_id, 0),
                cost,
                invoice.cost_currency,
            ),
        )
        found = [
            Diff(
                kind,
                "error",
                "ledger",
                subject,
                f"{what} {money(ours, currency)} on the invoice",
                f"{what} {money(theirs, currency)} in the books",
                abs(theirs - ours),
                currency,
                fix_books,
                system_name=system,
                **facts,
            )
            for kind, what, ours, theirs, currency in checks
            if ours != theirs
        ]
        diffs.extend(found)
        if not found:
            tally.matched += 1
    return tally, diffs


def period_costs_by_type(
    session: Session, partner_id: str, period: str, now: datetime
) -> dict[str, int]:
    """Usage type -> the period's wholesale cost: what `margins --period P --by usage-type`
    shows, through the same call."""
    first = date.fromisoformat(f"{period}-01")
    report = margins(session, partner_id, month_selection(first), "usage_type", now)
    found: dict[str, int] = defaultdict(int)
    for row in report.rows:
        if row.key != NO_USAGE_TYPE:
            found[row.key] += row.cost
    return dict(found)


def compare_wholesale(
    session: Session,
    partner_id: str,
    period: str,
    currency: str,
    now: datetime,
    *,
    names: Names | None = None,
) -> tuple[Tally, list[Diff]]:
    """Our computed cost per usage type vs the imported platform bill. No imported bill:
    nothing to compare (a note, not a diff).

    Ours is the cost that `margins --period` shows for the period (billing.margins, computed
    once): the invoices' wholesale cost plus the cost of usage no invoice carries yet (late
    events, a voided period). The platform bills every event it carried, invoiced or not, so
    comparing with the invoices alone would flag every late event as a platform error, and
    finance would read two different costs for one month."""
    label = names or Names(currency)
    system = INTERNAL_SYSTEMS["wholesale"]
    tally = Tally(name=system)
    bill = wholesale_bill_lines(session, partner_id, period)
    if not bill:
        tally.notes.append(
            f"no platform bill imported for {period} (python main.py wholesale import BILL.csv "
            f"--partner {partner_id} --period {period})"
        )
        return tally, []
    ours = period_costs_by_type(session, partner_id, period, now)
    diffs = []
    for usage_type in sorted(set(ours) | set(bill)):
        mine, line = ours.get(usage_type, 0), bill.get(usage_type)
        theirs = line.amount_minor if line is not None else 0
        tally.ours_minor += mine
        tally.theirs_minor += theirs
        if mine == theirs:
            tally.matched += 1
            continue
        in_currency = line.currency if line is not None else currency
        name = label.usage_type(usage_type)
        diffs.append(
            Diff(
                "wholesale_cost_mismatch",
                "warning",
                "wholesale",
                name,
                f"computed cost {money(mine, in_currency)}",
                f"platform bill {money(theirs, in_currency)}",
                abs(theirs - mine),
                in_currency,
                f"Check the wholesale rate of {name} and ask the platform about missing or "
                "duplicated events.",
                system_name=system,
                usage_type=usage_type,
            )
        )
    return tally, diffs
