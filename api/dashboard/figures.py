"""The portfolio page's figures, computed with the same functions as the JSON API
(`billing.pricing.margins`, what `GET /v1/margins` returns), so the two cannot disagree.

A period is a calendar month in the partner's time zone, as in `/v1/margins?from=&to=`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlmodel import Session

from billing.pricing.margins import NO_USAGE_TYPE, MarginRow, margins
from billing.rating import margin_percent
from billing.tenants.repository import TenantRepository

__all__ = [
    "Fall",
    "Portfolio",
    "TrendPoint",
    "month_end",
    "portfolio",
    "previous_month",
]

TREND_MONTHS = 12
TOP = 5


def month_end(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def previous_month(first: date) -> date:
    return (first - timedelta(days=1)).replace(day=1)


@dataclass(frozen=True, slots=True)
class Fall:
    """A client whose margin fell since the previous period (same currency)."""

    client_id: str
    currency: str
    before: int
    now: int
    before_percent: Decimal | None
    now_percent: Decimal | None

    @property
    def change(self) -> int:
        return self.now - self.before


@dataclass(frozen=True, slots=True)
class TrendPoint:
    label: str
    charge: int
    cost: int

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
    currency: str
    threshold: Decimal | None
    totals: tuple[MarginRow, ...]
    clients: tuple[MarginRow, ...]
    usage_types: tuple[MarginRow, ...]
    best: tuple[MarginRow, ...]
    worst: tuple[MarginRow, ...]
    flagged: tuple[MarginRow, ...]
    falls: tuple[Fall, ...]
    trend: tuple[TrendPoint, ...]
    client_names: dict[str, str]
    usage_names: dict[str, str]


def _trend(session: Session, partner_id: str, first: date, currency: str) -> tuple[TrendPoint, ...]:
    start = first
    for _ in range(TREND_MONTHS - 1):
        start = previous_month(start)
    report = margins(session, partner_id, start, month_end(first), "period")
    found = {row.key: row for row in report.rows if row.currency == currency}
    points = []
    month = start
    for _ in range(TREND_MONTHS):
        label = f"{month:%Y-%m}"
        row = found.get(label)
        points.append(TrendPoint(label, row.charge if row else 0, row.cost if row else 0))
        month = month_end(month) + timedelta(days=1)
    return tuple(points)


def _falls(current: tuple[MarginRow, ...], before: tuple[MarginRow, ...]) -> tuple[Fall, ...]:
    earlier = {(row.key, row.currency): row for row in before}
    falls = []
    for row in current:
        prior = earlier.get((row.key, row.currency))
        if prior is None or row.margin >= prior.margin:
            continue
        falls.append(
            Fall(row.key, row.currency, prior.margin, row.margin, prior.margin_percent,
                 row.margin_percent)
        )  # fmt: skip
    present = {(row.key, row.currency) for row in current}
    for prior in before:  # a client that made a margin last period and nothing now
        if (prior.key, prior.currency) not in present and prior.margin > 0:
            falls.append(
                Fall(prior.key, prior.currency, prior.margin, 0, prior.margin_percent, None)
            )
    falls.sort(key=lambda fall: (fall.change, fall.client_id))
    return tuple(falls[:TOP])


def portfolio(session: Session, partner_id: str, currency: str, first: date) -> Portfolio:
    """Margins of the month starting `first`: totals, clients, usage types, alerts, trend."""
    end = month_end(first)
    by_client = margins(session, partner_id, first, end, "client")
    by_type = margins(session, partner_id, first, end, "usage_type")
    before = margins(session, partner_id, previous_month(first), first - timedelta(days=1))
    ranked = sorted(by_client.rows, key=lambda row: (-row.margin, row.key))
    tenants = TenantRepository(session)
    return Portfolio(
        start=first,
        end=end,
        currency=currency,
        threshold=by_client.threshold,
        totals=by_client.totals,
        clients=tuple(ranked),
        usage_types=tuple(sorted(by_type.rows, key=lambda row: (-row.margin, row.key))),
        best=tuple(ranked[:TOP]),
        worst=tuple(reversed(ranked[-TOP:])) if ranked else (),
        flagged=tuple(row for row in ranked if row.flagged),
        falls=_falls(by_client.rows, before.rows),
        trend=_trend(session, partner_id, first, currency),
        client_names={c.id: c.name for c in tenants.clients(partner_id)},
        usage_names={
            NO_USAGE_TYPE: "Base fees, true-ups and other charges",
            **{t.code: t.display_name for t in tenants.usage_types(partner_id)},
        },
    )
