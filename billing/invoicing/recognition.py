"""What issuing recognises: an invoice cut into (service period, component) parts, and for each
part how much of it the books already hold as unbilled receivable.

Lines are attributed to a service period and a component by `attribution`.

Invariant, per client, service period and component: the accrual state holds what the books
recognise (accrual runs plus the issue entries' true-ups), and unbilled receivable holds the
part of it not yet invoiced, `recognised - billed by standing issued invoices`. An invoice
therefore clears `recognised - billed before` out of unbilled receivable, books the rest of what
it bills as a true-up (a debit when it bills less than was recognised), and sets the state to
`billed after`: issuing only reclassifies what accrual recognised, and the next accrual run
posts nothing for what is billed. Where nothing was ever recognised (no state row: accrual
never ran for that period, or it was invoiced before the books tracked components), the
recognised amount is what was billed, so nothing is cleared and the invoice recognises all of
its part. Wholesale cost is reconciled the same way per usage type. Voiding hands the true-ups
back (`void_true_ups`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session

from billing.invoicing.attribution import LineLike, line_component, split_lines
from billing.invoicing.models import Invoice
from billing.invoicing.repository import BilledUsage, InvoiceRepository, UsageFigure
from billing.pricing.components import DISCOUNT, SUBSCRIPTION, component_account
from billing.pricing.repository import PricingRepository
from config.db_types import utcnow
from ledger.repository import LedgerRepository

__all__ = ["Part", "recognise", "void_true_ups"]


@dataclass(frozen=True, slots=True)
class Part:
    """One (service period, component) of an invoice: what it bills, what it clears out of
    unbilled receivable, and for usage, its wholesale cost and the cost already recognised."""

    period: date
    component: str
    billed: int
    cleared: int
    cost: int = 0
    cost_cleared: int = 0

    @property
    def true_up(self) -> int:
        return self.billed - self.cleared

    @property
    def cost_true_up(self) -> int:
        return self.cost - self.cost_cleared


def recognise(
    session: Session,
    repo: InvoiceRepository,
    partner_id: str,
    invoices: Sequence[Invoice],
    lines: Mapping[int, Sequence[LineLike]],
    usage: Mapping[int, list[UsageFigure]],
) -> dict[int, list[Part]]:
    """Each invoice's parts (see the module doc), in the order `invoices` are issued; records
    the cleared amounts on the usage rows and brings the accrual state to what is billed."""
    client_ids = sorted({invoice.client_id for invoice in invoices})
    split = {i.invoice_id: split_lines(i.period_start, lines[i.invoice_id]) for i in invoices}
    starts = {period for parts in split.values() for period, _ in parts}
    starts |= {row.origin_period_start for rows in usage.values() for row in rows}
    pricing = PricingRepository(session)
    state = {
        (row.client_id, row.period_start, row.usage_type): row
        for row in pricing.accrued(partner_id, starts, client_ids)
    }
    billed = repo.billed_usage(partner_id, client_ids, issued_only=True)
    for (client, period, kind), amount in repo.billed_fixed(partner_id, client_ids, starts).items():
        component = line_component(kind, None)
        assert component is not None
        billed.setdefault((client, period, component), BilledUsage()).charge += amount
    ends = _period_ends(repo, partner_id, client_ids, invoices, starts)
    found: dict[int, list[Part]] = {}
    states: dict[tuple[str, date, str], dict[str, Any]] = {}
    stamp = utcnow()
    for invoice in invoices:
        rows = {(r.origin_period_start, r.usage_type): r for r in usage[invoice.invoice_id]}
        keys = set(split[invoice.invoice_id]) | set(rows)
        parts: list[Part] = []
        for period, component in sorted(keys):
            key = (invoice.client_id, period, component)
            before = billed.setdefault(key, BilledUsage())
            saved = states.get(key)
            known = state.get(key)
            if saved is not None:
                recognised, recognised_cost = saved["charge"], saved["cost"]
            elif known is not None:
                recognised, recognised_cost = known.charge, known.cost
            else:
                recognised, recognised_cost = before.charge, before.cost
            row = rows.get((period, component))
            part = Part(
                period,
                component,
                split[invoice.invoice_id].get((period, component), 0),
                recognised - before.charge,
                row.cost_minor if row else 0,
                recognised_cost - before.cost if row else 0,
            )
            if row is not None:
                row.unbilled_cleared_minor = part.cleared
                row.cost_cleared_minor = part.cost_cleared
            before.charge += part.billed
            before.cost += part.cost
            parts.append(part)
            states[key] = {
                "partner_id": partner_id,
                "client_id": invoice.client_id,
                "usage_type": component,
                "period_start": period,
                "period_end": ends.get((invoice.client_id, period))
                or invoice.period_end + timedelta(days=1),
                "currency": invoice.currency,
                "cost_currency": invoice.cost_currency,
                "charge": before.charge,
                "cost": before.cost,
                "accruals": known.accruals if known else 0,
                "watermark": f"invoiced {invoice.number}"[:64],
                "updated_at": stamp,
            }
        found[invoice.invoice_id] = parts
    repo.set_cleared([row for rows in usage.values() for row in rows])
    pricing.save_accrued(list(states.values()))
    return found


def _period_ends(
    repo: InvoiceRepository,
    partner_id: str,
    client_ids: Sequence[str],
    invoices: Sequence[Invoice],
    starts: set[date],
) -> dict[tuple[str, date], date]:
    own = {(i.client_id, i.period_start): i.period_end + timedelta(days=1) for i in invoices}
    earlier = starts - {i.period_start for i in invoices}
    found = repo.period_ends(partner_id, client_ids, earlier) if earlier else {}
    return {**found, **own}


def void_true_ups(
    session: Session, invoice: Invoice, usage_rows: Iterable[Any]
) -> list[tuple[date, str, int, int]]:
    """(service period, component, charge, cost) the invoice's issue entry recognised beyond
    what was accrued: what a void takes back out of the accrual state. Usage from the usage
    rows; the other components from the entry's legs of their accounts, tagged with their
    period (legs posted before periods were recorded carry none: those components were never
    in the accrual state)."""
    changes = [
        (
            row.origin_period_start,
            row.usage_type,
            row.charge_minor - row.unbilled_cleared_minor,
            row.cost_minor - row.cost_cleared_minor,
        )
        for row in usage_rows
    ]
    if invoice.ledger_entry_id is None:
        return changes
    roles: dict[str, str] = {component_account(c)[0].value: c for c in (SUBSCRIPTION, DISCOUNT)}
    recognised: dict[tuple[date, str], int] = defaultdict(int)
    for posting, account in LedgerRepository(session).postings_of([invoice.ledger_entry_id]):
        component = roles.get(account.role or "")
        if component is None or posting.service_period is None:
            continue
        recognised[(posting.service_period, component)] -= posting.amount
    changes += [(period, comp, amount, 0) for (period, comp), amount in recognised.items()]
    return changes
