"""Billing periods as calendar dates in the client's time zone, and day-based proration.

A period is half-open, `[start, end)`: `start` is the first billed day and `end` the first day of
the next period, so consecutive periods share a boundary and never overlap. Whole days are the
unit of proration because invoices speak in days and a client's day boundaries are local.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

__all__ = ["BillingPeriod", "add_months"]


def add_months(day: date, months: int, anchor: int) -> date:
    """The date `months` later on day `anchor` (1..28, so it exists in every month)."""
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, anchor)


@dataclass(frozen=True, slots=True)
class BillingPeriod:
    """`start` inclusive, `end` exclusive (the next period's start)."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"period end {self.end} must be after its start {self.start}")

    @classmethod
    def monthly(cls, containing: date, billing_day: int = 1) -> BillingPeriod:
        """The monthly period anchored on `billing_day` (1..28) that contains `containing`."""
        if not 1 <= billing_day <= 28:
            raise ValueError(f"billing_day must be between 1 and 28, got {billing_day}")
        back = 0 if containing.day >= billing_day else -1
        start = add_months(containing, back, billing_day)
        return cls(start, add_months(start, 1, billing_day))

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end

    def active_days(self, starts_on: date | None = None, ends_on: date | None = None) -> int:
        """Days of the period on which a client was active: from `starts_on` through `ends_on`
        (both inclusive; None means before / after the period)."""
        first = max(self.start, starts_on) if starts_on is not None else self.start
        last = min(self.last_day, ends_on) if ends_on is not None else self.last_day
        return max((last - first).days + 1, 0)
