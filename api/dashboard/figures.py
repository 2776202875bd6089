"""The portfolio page's figures: one `billing.margins.period_figures` call over the trend's 12
periods, grouped with the same functions as `GET /v1/margins?period=` (`billing.margins`), so
the page, its trend, its best and worst clients, usage types and both erosion alerts and the
API cannot disagree.

A period is every client's billing period starting in a month (its own anchor day and time
zone), as in `/v1/margins?period=2026-11`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlmodel import Session

from billing.margins import NO_USAGE_TYPE, MarginRow, label, month_selection, period_figures
from billing.margins.selection import shift_month
from billing.margins.service import Drop, below, drops, group, thresholds
from billing.rating import margin_percent
from billing.tenants.repository import TenantRepository
from billing.tenants.service import get_partner
from config.db_types import utcnow

__all__ = [
    "ClientPeriod",
    "Portfolio",
    "TrendPoint",
    "client_periods",
    "month_end",
    "portfolio",
    "previous_month",
]

TREND_MONTHS = 12
TOP = 5


def month_end(first: date) -> date:
    return month_selection(first).last


def previous_month(first: date) -> date:
    return shift_month(first.replace(day=1), -1)


@dataclass(frozen=True, slots=True)
class TrendPoint:
    label: str
    charge: int
    cost: int
    unbilled_charge: int = 0

    @property
    def margin(self) -> int:
        return self.charge - self.cost

    @property
    def margin_percent(self) -> Decimal | None:
        return margin_percent(self.charge, self.cost)


@dataclass(frozen=True, slots=True)
class Portfolio:
    start: date
    end: date
    label: str
    currency: str
    threshold: Decimal | None
    drop_points: Decimal
    totals: tuple[MarginRow, ...]
    clients: tuple[MarginRow, ...]
    usage_types: tuple[MarginRow, ...]
    best: tuple[MarginRow, ...]
    worst: tuple[MarginRow, ...]
    flagged: tuple[MarginRow, ...]
    falls: tuple[Drop, ...]
    trend: tuple[TrendPoint, ...]
    open_periods: int
    client_names: dict[str, str]
    usage_names: dict[str, str]

    def steep(self, fall: Drop) -> bool:
        """The fall is more than the partner's `margin_drop_points` (what the alert e-mails)."""
        points = fall.points
        return points is not None and points > self.drop_points


def portfolio(
    session: Session, partner_id: str, currency: str, first: date, now: datetime | None = None
) -> Portfolio:
    """The periods starting in the month of `first`: totals, clients, usage types, alerts, and
    the trend of the 12 months up to it."""
    limits = thresholds(get_partner(session, partner_id).settings)
    months = month_selection(shift_month(first.replace(day=1), 1 - TREND_MONTHS), TREND_MONTHS)
    figures = period_figures(session, partner_id, months, now or utcnow())
    this, before = label(first), label(previous_month(first))
    cells = [c for c in figures.cells if label(c.period_start) == this]
    earlier = [c for c in figures.cells if label(c.period_start) == before]
    by_client = group(cells, lambda c: c.client_id, limits.below_percent)
    ranked = sorted(by_client, key=lambda row: (-row.margin, row.key))
    by_type = group(cells, lambda c: c.usage_type or NO_USAGE_TYPE)
    trend_rows = {
        row.key: row
        for row in group(figures.cells, lambda c: label(c.period_start))
        if row.currency == currency
    }
    trend = tuple(
        TrendPoint(
            month,
            trend_rows[month].charge if month in trend_rows else 0,
            trend_rows[month].cost if month in trend_rows else 0,
            trend_rows[month].unbilled_charge if month in trend_rows else 0,
        )
        for month in months.labels
    )
    tenants = TenantRepository(session)
    return Portfolio(
        start=first.replace(day=1),
        end=month_end(first),
        label=this,
        currency=currency,
        threshold=limits.below_percent,
        drop_points=limits.drop_points,
        totals=group(cells, lambda _c: "total", limits.below_percent),
        clients=tuple(ranked),
        usage_types=tuple(sorted(by_type, key=lambda row: (-row.margin, row.key))),
        best=tuple(ranked[:TOP]),
        worst=tuple(reversed(ranked[-TOP:])) if ranked else (),
        flagged=tuple(row for row in ranked if below(row.charge, row.cost, limits.below_percent)),
        falls=drops(by_client, group(earlier, lambda c: c.client_id))[:TOP],
        trend=trend,
        open_periods=sum(1 for key in figures.open_periods if label(key[1]) == this),
        client_names={c.id: c.name for c in tenants.clients(partner_id)},
        usage_names={
            NO_USAGE_TYPE: "Base fees, true-ups, discounts and other charges",
            **{t.code: t.display_name for t in tenants.usage_types(partner_id)},
        },
    )


@dataclass(frozen=True, slots=True)
class ClientPeriod:
    """One client's billing period starting in a month: the portfolio's figures for it."""

    label: str
    row: MarginRow | None  # None: nothing charged or cost in that period


def client_periods(
    session: Session, partner_id: str, client_id: str, first: date, now: datetime | None = None
) -> list[ClientPeriod]:
    """The client's periods starting in the 12 months up to the month of `first`, newest
    first: the same `period_figures` cells as the portfolio, of this client only."""
    months = month_selection(shift_month(first.replace(day=1), 1 - TREND_MONTHS), TREND_MONTHS)
    figures = period_figures(session, partner_id, months, now or utcnow(), client_id=client_id)
    rows = {row.key: row for row in group(figures.cells, lambda c: label(c.period_start))}
    return [ClientPeriod(month, rows.get(month)) for month in reversed(months.labels)]
