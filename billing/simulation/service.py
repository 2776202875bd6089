"""What would a price change have done to a past period? Its actual usage re-rated with the
proposal, beside the margins it really made. Reads only: nothing is added to the session.

- "Before" is `period_figures` itself, the one computation behind every margin figure (issued
  invoices net of tax and their wholesale cost, plus anything not invoiced yet), so it is what
  `margins --period` says.
- The proposal's effect is the difference between two ratings of each client's period with
  `rate_client` (the function behind live figures, accrual and drafts: `rate_period` with the
  same rounding, base fee, minimum spend, discount and tax): one with the price book as it is,
  one with the book edited in memory by the proposal. "After" is before + that difference, so an
  empty proposal gives after == before to the cent, and a change moves exactly what an invoice
  of that period would move.
- Usage is read once per billing window as totals per client and usage type (one GROUP BY,
  `UsageTotalsRepository.totals`), the price book once; the rest happens in memory, and only
  for the clients the proposal can reach (on a changed plan, named by a change, or using a
  usage type whose wholesale price changed): for any other client both ratings are equal.

The client periods re-rated are those the margins show for the selection; see
docs/simulator.md for what the figures leave out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from billing.margins.figures import Cell, live_amounts, period_figures
from billing.margins.selection import PeriodSelection, label, parse_period
from billing.margins.service import MarginRow, below, group, thresholds
from billing.pricing.book import PriceBook, client_period, period_window
from billing.pricing.errors import InvalidPricingError
from billing.pricing.live import ClientFigures, aggregation_rules, few_collections, rate_client
from billing.pricing.repository import PricingRepository, RatedClient
from billing.pricing.service import load_book
from billing.pricing.usage_repository import UsageTotal, UsageTotalsRepository
from billing.rating import BillingPeriod
from billing.simulation.proposal import check_changes, edited_book
from billing.simulation.results import Comparison, Mover, Simulation, compare
from billing.simulation.schemas import (
    Change,
    ClientDiscountChange,
    ClientPriceChange,
    PlanFeesChange,
    PlanPriceChange,
    WholesaleChange,
)
from billing.tenants.repository import TenantRepository
from billing.tenants.service import get_partner
from config.partner_file import ConfigProblem

__all__ = ["Comparison", "MarginRow", "Mover", "Simulation", "selections", "simulate"]

_NO_USAGE_TYPE = "(no usage type)"


def selections(periods: Sequence[str]) -> list[PeriodSelection]:
    """Each month as the margins select it; every bad one named at `periods[i]`."""
    found, problems = [], []
    for index, text in enumerate(periods):
        try:
            found.append(parse_period(text, f"periods[{index}]"))
        except ValueError as exc:
            problems.append(ConfigProblem(("periods", index), str(exc)))
    if problems:
        raise InvalidPricingError(problems)
    return found


@dataclass
class _Rerated:
    delta: list[Cell]
    invoices: dict[tuple[str, str], list[int]]  # (client, currency) -> [before, after]
    count: int = 0


@dataclass(frozen=True, slots=True)
class _Reach:
    """Who a proposal can move: clients on a changed plan, clients changed by name, and every
    client that used a usage type whose wholesale price changed."""

    plans: frozenset[str]
    clients: frozenset[str]
    wholesale: frozenset[str]

    @classmethod
    def of(cls, changes: Sequence[Change]) -> _Reach:
        plans = {c.plan for c in changes if isinstance(c, PlanPriceChange | PlanFeesChange)}
        named = {
            c.client for c in changes if isinstance(c, ClientPriceChange | ClientDiscountChange)
        }
        costs = {c.usage_type for c in changes if isinstance(c, WholesaleChange)}
        return cls(frozenset(plans), frozenset(named), frozenset(costs))

    def touches(self, book: PriceBook, client_id: str, day: date, used: Iterable[str]) -> bool:
        if client_id in self.clients or not self.wholesale.isdisjoint(used):
            return True
        terms = book.terms_at(client_id, day)
        return terms is not None and terms.plan_code in self.plans


class _Rerating:
    """Both ratings of each client period the proposal can reach, and their difference."""

    def __init__(self, book: PriceBook, proposed: PriceBook, reach: _Reach) -> None:
        self.book, self.proposed, self.reach = book, proposed, reach
        self.found = _Rerated([], defaultdict(lambda: [0, 0]))

    def can_reach(self, client_id: str, day: date) -> bool:
        """Whether the proposal may move the client's period, before its usage is known."""
        return bool(self.reach.wholesale) or self.reach.touches(self.book, client_id, day, ())

    def add(
        self,
        client: RatedClient,
        period: BillingPeriod,
        window: tuple[datetime, datetime],
        totals: dict[str, UsageTotal],
        as_is: ClientFigures | None = None,
    ) -> None:
        if not self.reach.touches(self.book, client.id, period.start, totals):
            return
        now = as_is or rate_client(self.book, client, period, window, totals)
        then = rate_client(self.proposed, client, period, window, totals)
        self.found.count += 1
        invoice = self.found.invoices[(client.id, now.statement.currency)]
        invoice[0] += now.statement.total
        invoice[1] += then.statement.total
        if then.statement != now.statement or then.costs != now.costs:
            self.found.delta += _difference(now, then)


def _rerate(
    session: Session,
    partner_id: str,
    book: PriceBook,
    keys: set[tuple[str, date]],
    changes: Sequence[Change],
    span: tuple[date, date],
    clients: dict[str, RatedClient],
    rated: Sequence[ClientFigures],
) -> _Rerated:
    """The difference the proposal makes to each client period of `keys` it can reach, as
    cells; a period it cannot reach is not rated at all (its difference is nil). Periods that
    `period_figures` rated on its way (`rated`) are not read or rated again as they are."""
    if not changes:
        return _Rerated([], {})
    run = _Rerating(book, edited_book(book, changes, *span), _Reach.of(changes))
    known = {(f.client_id, f.period.start): f for f in rated}
    windows: dict[tuple[BillingPeriod, str], list[RatedClient]] = defaultdict(list)
    for key in sorted(keys):
        client = clients.get(key[0])
        as_is = known.get(key)
        if client is None:
            continue
        if as_is is not None:
            run.add(client, as_is.period, as_is.window, as_is.totals, as_is)
        elif run.can_reach(client.id, key[1]):
            period = client_period(client.billing_anchor_day, key[1])
            windows[(period, client.timezone)].append(client)
    rules = aggregation_rules(session, partner_id) if windows else {}
    usage = UsageTotalsRepository(session)
    for (period, zone), members in windows.items():
        window = period_window(period, zone)
        named = None if 2 * len(members) > len(clients) else [c.id for c in members]
        by_client: dict[str, dict[str, UsageTotal]] = defaultdict(dict)
        for (client_id, code), total in usage.totals(partner_id, *window, rules, named).items():
            by_client[client_id][code] = total
        for client in members:
            run.add(client, period, window, by_client.get(client.id, {}))
    return run.found


def _difference(now: ClientFigures, then: ClientFigures) -> list[Cell]:
    """The cells that differ between two ratings of one client period (then - now), cut as the
    margins cut a period (`live_amounts`)."""
    amounts: dict[tuple[str, date, str | None, str, bool], int] = defaultdict(int)
    for sign, figures in ((-1, now), (1, then)):
        charges, costs = live_amounts(figures)
        for cost, rows in ((False, charges), (True, costs)):
            for client, start, kind, currency, amount in rows:
                amounts[(client, start, kind, currency, cost)] += sign * amount
    return [
        Cell(client, start, kind, currency, 0 if cost else amount, amount if cost else 0, 0, 0)
        for (client, start, kind, currency, cost), amount in amounts.items()
        if amount
    ]


def _plus(
    before: Sequence[MarginRow], delta: Sequence[MarginRow], limit: Decimal | None
) -> tuple[MarginRow, ...]:
    """Rows after = before + the difference, per (key, currency), flagged afresh."""
    moved = {(row.key, row.currency): row for row in delta}
    rows = []
    for row in before:
        change = moved.pop((row.key, row.currency), None)
        if change is None:
            rows.append(row)
            continue
        charge, cost = row.charge + change.charge, row.cost + change.cost
        rows.append(
            MarginRow(
                row.key,
                row.currency,
                charge,
                cost,
                row.unbilled_charge,
                row.unbilled_cost,
                below(charge, cost, limit),
            )
        )
    for change in moved.values():
        rows.append(replace(change, flagged=below(change.charge, change.cost, limit)))
    return tuple(sorted(rows, key=lambda row: (row.key, row.currency)))


def _movers(invoices: Sequence[Mover], top: int) -> tuple[list[Mover], ...]:
    moved = [mover for mover in invoices if mover.change]
    rises = sorted((m for m in moved if m.change > 0), key=lambda m: (-m.change, m.client_id))
    falls = sorted((m for m in moved if m.change < 0), key=lambda m: (m.change, m.client_id))
    return rises[:top], falls[:top]


def simulate(
    session: Session,
    partner_id: str,
    periods: Sequence[str],
    changes: Sequence[Change],
    now: datetime,
    *,
    top: int = 10,
) -> Simulation:
    """The periods starting in each month of `periods`, before and after `changes`; raises
    `InvalidPricingError` naming every bad field. Writes nothing."""
    partner = get_partner(session, partner_id)
    chosen = selections(periods)
    # The clients and the book are allocated here for the whole run, as rating's: collect less
    # from here on (`few_collections`; outside it they cost 160 collections at 10,000 clients).
    with few_collections():
        clients = {c.id: c for c in PricingRepository(session).rated_clients(partner_id)}
        book = load_book(session, partner_id)
        usage_types = {t.code: t for t in TenantRepository(session).usage_types(partner_id)}
        problems = check_changes(changes, book, clients, usage_types)
        if problems:
            raise InvalidPricingError(problems)
        before: list[Cell] = []
        rated: list[ClientFigures] = []
        for selection in dict.fromkeys(chosen):
            figures = period_figures(session, partner_id, selection, now, rated=rated, book=book)
            before += figures.cells
        keys = {(cell.client_id, cell.period_start) for cell in before}
        span = (min(s.first for s in chosen), max(s.last for s in chosen))
        rerated = _rerate(session, partner_id, book, keys, changes, span, clients, rated)
        simulation = _result(partner_id, chosen, changes, before, rerated, partner.settings, top)
    labels = {code: t.display_name for code, t in usage_types.items()}
    labels[_NO_USAGE_TYPE] = "Base fees, minimum true-ups and discounts"
    return replace(simulation, labels=labels)


def _result(
    partner_id: str,
    chosen: Sequence[PeriodSelection],
    changes: Sequence[Change],
    before: list[Cell],
    rerated: _Rerated,
    settings: dict[str, Any],
    top: int,
) -> Simulation:
    limit = thresholds(settings).below_percent
    sides = []
    for key_of, flag in ((_client, limit), (_usage_type, None), (_total, None)):
        was = group(before, key_of, flag)
        sides.append((was, _plus(was, group(rerated.delta, key_of), flag)))
    (clients_before, clients_after), types, totals = sides
    by_client = compare(clients_before, clients_after)
    invoices = tuple(
        Mover(client, currency, was, now)
        for (client, currency), (was, now) in sorted(rerated.invoices.items())
    )
    rises, falls = _movers(invoices, top)
    return Simulation(
        partner_id=partner_id,
        periods=tuple(dict.fromkeys(label(s.first) for s in chosen)),
        changes=tuple(changes),
        threshold=limit,
        client_periods=rerated.count,
        portfolio=compare(*totals),
        clients=by_client,
        usage_types=compare(*types),
        invoices=invoices,
        rises=tuple(rises),
        falls=tuple(falls),
        crossed_below=tuple(c for c in by_client if not c.before.flagged and c.after.flagged),
        crossed_above=tuple(c for c in by_client if c.before.flagged and not c.after.flagged),
    )


def _client(cell: Cell) -> str:
    return cell.client_id


def _total(_cell: Cell) -> str:
    return "total"


def _usage_type(cell: Cell) -> str:
    return cell.usage_type or _NO_USAGE_TYPE
