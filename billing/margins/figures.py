"""The one computation behind every margin figure: charge and cost per client, billing period
and usage type, with the part not invoiced yet.

For each client's period in the selection:
- the books, read by service period (`ledger_posting.service_period`): revenue net of
  discounts and credit notes, and wholesale cost, whatever day they were booked;
- plus what the books cannot hold yet:
  - the client's open period, and the period before it until its invoice is issued, are the
    live figures (`usage current`: the statement net of tax rated now, the same function the
    invoice will use) once the period has usage; a period without usage shows nothing until
    its invoice is issued (a flat fee alone is recognised when invoiced);
  - an invoiced period gains the late usage that its next invoice will bill as a prior-period
    adjustment: a full re-rating of the period less what stands invoiced of it (`late`, the
    very function the next invoice calls).
What standing invoices billed of the period (lines net of tax, attributed to their period, less
credit notes) is read from the invoices; `unbilled` is the rest: the late usage above, the
open period, or a voided period. So for a closed period, charge = its invoices net of tax +
unbilled, and cost = its invoices' wholesale cost + the cost of the unbilled usage.

Amounts are in the currency they are booked in (charge in the client's, cost in the partner's);
figures of different currencies are never added.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session

from billing.invoicing.late import RunContext, late_adjustments
from billing.margins.repository import Amount, MarginsRepository
from billing.margins.selection import PeriodSelection
from billing.pricing.book import PriceBook, local_today
from billing.pricing.components import DISCOUNT, SUBSCRIPTION, statement_components
from billing.pricing.live import ClientFigures, few_collections, rate_clients
from billing.pricing.repository import PricingRepository
from billing.pricing.service import load_book
from billing.rating import BillingPeriod
from billing.tenants.service import get_partner

__all__ = ["Cell", "PeriodFigures", "live_amounts", "period_figures"]

_CHARGE, _COST, _INVOICED_CHARGE, _INVOICED_COST = range(4)


@dataclass(frozen=True, slots=True)
class Cell:
    """One client's period, one usage type (None: base fee, true-up, discount and credits of no
    usage type), one currency."""

    client_id: str
    period_start: date
    usage_type: str | None
    currency: str
    charge: int
    cost: int
    unbilled_charge: int
    unbilled_cost: int


@dataclass(frozen=True, slots=True)
class PeriodFigures:
    partner_id: str
    selection: PeriodSelection
    cells: tuple[Cell, ...]
    open_periods: frozenset[tuple[str, date]]
    """(client, period start) of the periods shown with live figures (not invoiced yet)."""


class _Sums:
    """(client, period) -> (usage type, currency) -> [charge, cost, invoiced charge, cost]."""

    def __init__(self) -> None:
        self.periods: dict[tuple[str, date], dict[tuple[str | None, str], list[int]]] = {}

    def add(self, index: int, amounts: Iterable[Amount]) -> None:
        for client, start, usage_type, currency, amount in amounts:
            cells = self.periods.setdefault((client, start), {})
            cells.setdefault((usage_type, currency), [0, 0, 0, 0])[index] += amount

    def replace(self, client_id: str, start: date, index: int, amounts: list[Amount]) -> None:
        for values in self.periods.get((client_id, start), {}).values():
            values[index] = 0
        self.add(index, amounts)

    def cells(self) -> tuple[Cell, ...]:
        found = []
        for (client, start), cells in sorted(self.periods.items()):
            for (usage_type, currency), values in sorted(
                cells.items(), key=lambda item: (item[0][0] or "", item[0][1])
            ):
                charge, cost, billed, costed = values
                if values != [0, 0, 0, 0]:
                    found.append(
                        Cell(
                            client,
                            start,
                            usage_type,
                            currency,
                            charge,
                            cost,
                            charge - billed,
                            cost - costed,
                        )
                    )
        return tuple(found)


def live_amounts(figures: ClientFigures) -> tuple[list[Amount], list[Amount]]:
    """The statement net of tax and the cost of a live period, per usage type."""
    client, start = figures.client_id, figures.period.start
    currency = figures.statement.currency
    charges: list[Amount] = []
    for component, amount in statement_components(figures.statement).items():
        usage_type = None if component in (SUBSCRIPTION, DISCOUNT) else component
        charges.append((client, start, usage_type, currency, amount))
    costs: list[Amount] = [
        (client, start, code, figures.cost_currency, rated.amount)
        for code, rated in figures.costs.items()
    ]
    return charges, costs


@few_collections()  # the book, the figures and the cells live until the end: collect less
def period_figures(
    session: Session,
    partner_id: str,
    selection: PeriodSelection,
    now: datetime,
    *,
    client_id: str | None = None,
    rated: list[ClientFigures] | None = None,
    book: PriceBook | None = None,
) -> PeriodFigures:
    """Every client's periods starting in `selection` (see the module doc); with `client_id`,
    that client's only: the same cells, without rating and reading the rest of the partner.
    With `rated`, the live figures rated on the way of every client period in the selection
    (invoiced or not) are appended to it, so that the pricing simulator re-rates from them
    instead of twice. `book` is the partner's price book when the caller has loaded it; else it
    is loaded here, once for the live figures and the late usage both."""
    repo = MarginsRepository(session, client_id)
    only = None if client_id is None else [client_id]
    if book is None:
        book = load_book(session, partner_id, only)
    sums = _Sums()
    for what, amount in repo.booked(partner_id, selection):
        sums.add(_CHARGE if what == "charge" else _COST, [amount])
    live = rate_clients(
        session,
        partner_id,
        now,
        client_ids=only,
        previous=True,
        used_only=True,
        keep=_starts_in(selection),
        book=book,
    )
    earliest = min((f.period.start for f in live), default=selection.first)
    issued = repo.issued_periods(partner_id, earliest, selection.last)
    zones = {c.id: c.timezone for c in PricingRepository(session).rated_clients(partner_id, only)}
    open_periods: set[tuple[str, date]] = set()
    for figures in live:
        key = (figures.client_id, figures.period.start)
        if not selection.contains(figures.period.start):
            continue
        if rated is not None:
            rated.append(figures)
        today = local_today(zones[figures.client_id], now)
        if key in issued and not figures.period.contains(today):
            continue  # the previous period, invoiced: read from the books
        charges, costs = live_amounts(figures)
        sums.replace(*key, _CHARGE, charges)
        sums.replace(*key, _COST, costs)
        open_periods.add(key)
    _add_late(session, partner_id, selection, now, sums, only, book)
    sums.add(_INVOICED_CHARGE, repo.invoiced_charges(partner_id, selection))
    sums.add(_INVOICED_COST, repo.invoiced_costs(partner_id, selection))
    return PeriodFigures(partner_id, selection, sums.cells(), frozenset(open_periods))


def _starts_in(selection: PeriodSelection) -> Callable[[BillingPeriod], bool]:
    return lambda period: selection.contains(period.start)


def _add_late(
    session: Session,
    partner_id: str,
    selection: PeriodSelection,
    now: datetime,
    sums: _Sums,
    only: list[str] | None,
    book: PriceBook,
) -> None:
    """Late usage of invoiced periods that no issued invoice carries yet (of `only`'s clients
    when given)."""
    partner = get_partner(session, partner_id)
    clients = PricingRepository(session).rated_clients(partner_id, only)  # plain rows: cheap
    oldest = now - timedelta(days=int(partner.settings.get("late_event_days", 90)) + 62)
    if selection.last < oldest.date() or not clients:
        return
    currencies = {client.id: client.currency for client in clients}
    ctx = RunContext(session, partner, book, now)
    found = late_adjustments(ctx, sorted(currencies), issued_only=True)
    for client_id, adjustments in found.items():
        for item in adjustments:
            if not selection.contains(item.origin_start):
                continue
            key = (client_id, item.origin_start, item.usage_type)
            sums.add(_CHARGE, [(*key, currencies[client_id], item.charge)])
            sums.add(_COST, [(*key, ctx.book.currency, item.cost)])
