"""Which billing periods a margin figure covers.

Margins are read by billing period, never by the date an amount was booked: a client's period
belongs to the month it starts in (its anchor day in its own time zone), as `cycle close
--period` names it. `--period 2026-11` is every client's period starting in November 2026;
`--from`/`--to` (days) select the periods starting on one of those days, so the calendar month
`--from 2026-11-01 --to 2026-11-30` is the same selection as `--period 2026-11`.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from config.bounds import month_days

__all__ = ["PeriodSelection", "label", "month_selection", "parse_period", "shift_month"]


@dataclass(frozen=True, slots=True)
class PeriodSelection:
    """Periods whose first day is in `[first, last]`."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError(f"the range ends ({self.last}) before it starts ({self.first})")

    def contains(self, period_start: date) -> bool:
        return self.first <= period_start <= self.last

    @property
    def labels(self) -> list[str]:
        """The months the selection touches, oldest first (`2026-11`)."""
        found, month = [], self.first.replace(day=1)
        while month <= self.last:
            found.append(label(month))
            month = shift_month(month, 1)
        return found


def label(period_start: date) -> str:
    """The month a period is read under: the month it starts in."""
    return f"{period_start:%Y-%m}"


def shift_month(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_selection(first: date, months: int = 1) -> PeriodSelection:
    """The periods starting in `months` calendar months from the one containing `first`."""
    start = first.replace(day=1)
    end = shift_month(start, months - 1)
    return PeriodSelection(start, end.replace(day=calendar.monthrange(end.year, end.month)[1]))


def parse_period(text: str, field: str = "period") -> PeriodSelection:
    """`2026-11` -> the periods starting in November 2026; a clear error naming `field`
    (also for a month outside the days the books can hold, `config.bounds`)."""
    first, _last = month_days(text, field)
    return month_selection(first)
