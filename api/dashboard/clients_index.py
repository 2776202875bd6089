"""The clients page: every client of the partner with its plan, status and the chosen month's
revenue, cost and margin; searched, filtered, sorted and paged.

The money comes from `billing.margins.period_figures` grouped per client with
`billing.margins.service.group`, the same call and the same grouping as the portfolio page
and `GET /v1/margins?period=`, so a client's figures here are its figures there. Sorting by a
figure needs every client's figure, so the page is computed whole and cut into pages of
`PAGE` (page numbers, not a cursor: the order is by figures, which move).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlmodel import Session

from billing.margins import month_selection, period_figures
from billing.margins.service import below, group, thresholds
from billing.pricing.book import local_today
from billing.pricing.service import load_book
from billing.rating import margin_percent
from billing.tenants.models import Client, ClientStatus
from billing.tenants.repository import TenantRepository
from billing.tenants.service import get_partner

__all__ = ["PAGE", "ClientRow", "ClientSort", "ClientsQuery", "client_rows"]

PAGE = 50


class ClientSort(enum.StrEnum):
    NAME = "name"
    REVENUE = "revenue"
    MARGIN = "margin"
    MARGIN_PERCENT = "margin_percent"


@dataclass(frozen=True, slots=True)
class ClientsQuery:
    """`text` matches any part of the id, name or billing e-mail, case-insensitively; `plan`
    is a plan code (clients on their own plan: `own`); `under` keeps the clients under the
    partner's margin alert threshold."""

    text: str = ""
    plan: str | None = None
    status: ClientStatus | None = None
    under: bool = False
    sort: ClientSort = ClientSort.NAME


@dataclass(frozen=True, slots=True)
class ClientRow:
    client: Client
    plan: str | None  # plan code in force today; "own" for a client priced by its own plan
    currency: str
    charge: int  # the month's revenue net of tax, minor units (`period_figures`)
    cost: int
    flagged: bool  # under the partner's margin alert threshold

    @property
    def margin(self) -> int:
        return self.charge - self.cost

    @property
    def margin_percent(self) -> Decimal | None:
        return margin_percent(self.charge, self.cost)


def client_rows(
    session: Session, partner_id: str, first: date, query: ClientsQuery, now: datetime
) -> list[ClientRow]:
    """Every client matching `query`, in its order, with the figures of the billing periods
    starting in the month of `first`."""
    partner = get_partner(session, partner_id)
    limit = thresholds(partner.settings).below_percent
    figures = period_figures(session, partner_id, month_selection(first.replace(day=1)), now)
    sums = {row.key: row for row in group(figures.cells, lambda c: c.client_id, limit)}
    book = load_book(session, partner_id)
    rows: list[ClientRow] = []
    needle = query.text.strip().lower()
    for client in TenantRepository(session).clients(partner_id):
        if needle and not any(
            needle in (value or "").lower()
            for value in (client.id, client.name, client.billing_email)
        ):
            continue
        if query.status is not None and client.status != query.status:
            continue
        timeline = book.terms.get(client.id)
        terms = timeline.at(local_today(client.timezone, now)) if timeline else None
        plan = None if terms is None else ("own" if terms.custom_plan else terms.plan_code)
        if query.plan is not None and plan != query.plan:
            continue
        found = sums.get(client.id)
        charge, cost = (found.charge, found.cost) if found else (0, 0)
        row = ClientRow(
            client,
            plan,
            found.currency if found else client.currency or partner.currency,
            charge,
            cost,
            below(charge, cost, limit),
        )
        if query.under and not row.flagged:
            continue
        rows.append(row)
    return _sorted(rows, query.sort)


def _sorted(rows: list[ClientRow], sort: ClientSort) -> list[ClientRow]:
    if sort is ClientSort.NAME:
        return sorted(rows, key=lambda r: (r.client.name.lower(), r.client.id))
    if sort is ClientSort.REVENUE:
        return sorted(rows, key=lambda r: (-r.charge, r.client.id))
    if sort is ClientSort.MARGIN:
        return sorted(rows, key=lambda r: (-r.margin, r.client.id))
    # by margin %, lowest first (the ones to look at), clients with no revenue last
    return sorted(
        rows,
        key=lambda r: (r.margin_percent is None, r.margin_percent or Decimal(0), r.client.id),
    )
