"""Which billing periods are due: monthly on the client's anchor day, in its time zone.

A period is due once it has ended and the partner's grace period (hours, for late events) has
passed since its end, both measured at the period's local midnight in the client's zone. The
period arithmetic itself is pricing's (`client_period`, `period_window`), so accrual, live
figures and invoices always agree on which days a period covers.

Decisions where the issue is silent:
- the grace period is the partner's `grace_period_hours` (default 24), read by pricing's
  `grace_period`: accrual keeps accruing the previous period exactly as long, so the books and
  the drafts hand over at the same moment;
- without `--period`, every due period since the client's last invoice (or since it started:
  its `starts_on`, else the day it was created) is closed, at most `MAX_BACKFILL` periods back,
  so a scheduler that missed a run catches up but a forgotten client does not produce years
  of invoices at once;
- `--period 2026-10` means each client's period that starts in October 2026 (on its anchor
  day); a period that is not due yet is reported, not closed.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from billing.pricing.book import client_period, local_today, period_window
from billing.rating import BillingPeriod
from config.bounds import month_days

__all__ = [
    "MAX_BACKFILL",
    "ClientCycle",
    "due_periods",
    "is_due",
    "parse_month",
    "period_starting_in",
]

MAX_BACKFILL = 12


@dataclass(frozen=True, slots=True)
class ClientCycle:
    """What decides a client's periods."""

    client_id: str
    timezone: str
    anchor_day: int
    first_day: date | None = None
    last_day: date | None = None


def parse_month(text: str) -> tuple[int, int]:
    """`"2026-10"` -> (2026, 10); within `config.bounds` (a `ValueError` naming `period`)."""
    first, _last = month_days(text)
    return first.year, first.month


def period_starting_in(cycle: ClientCycle, year: int, month: int) -> BillingPeriod:
    """The client's period whose first day is in that month (its anchor day, or the month's
    last day when the anchor does not exist in that month)."""
    day = min(cycle.anchor_day, calendar.monthrange(year, month)[1])
    return client_period(cycle.anchor_day, date(year, month, day))


def is_due(cycle: ClientCycle, period: BillingPeriod, now: datetime, grace: timedelta) -> bool:
    _, end = period_window(period, cycle.timezone)
    return end + grace <= now


def due_periods(
    cycle: ClientCycle, now: datetime, grace: timedelta, after: date | None
) -> list[BillingPeriod]:
    """Due periods that start after `after` (the client's last invoiced period start) and
    overlap the client's active days, oldest first."""
    today = local_today(cycle.timezone, now)
    period = client_period(cycle.anchor_day, today)
    found: list[BillingPeriod] = []
    for _ in range(MAX_BACKFILL + 2):
        if after is not None and period.start <= after:
            break
        if cycle.first_day is not None and period.end <= cycle.first_day:
            break
        active = cycle.last_day is None or period.start <= cycle.last_day
        if active and is_due(cycle, period, now, grace):
            found.append(period)
            if len(found) >= MAX_BACKFILL:
                break
        period = client_period(cycle.anchor_day, period.start - timedelta(days=1))
    return sorted(found, key=lambda p: p.start)
