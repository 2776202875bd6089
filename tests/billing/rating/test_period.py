"""Billing periods: half-open calendar ranges anchored on a billing day 1..28."""

from __future__ import annotations

from datetime import date

import pytest

from billing.rating import BillingPeriod


@pytest.mark.parametrize(
    ("day", "billing_day", "start", "end", "days"),
    [
        (date(2026, 3, 15), 1, date(2026, 3, 1), date(2026, 4, 1), 31),
        (date(2026, 2, 28), 1, date(2026, 2, 1), date(2026, 3, 1), 28),
        (date(2024, 2, 29), 1, date(2024, 2, 1), date(2024, 3, 1), 29),
        (date(2026, 4, 30), 1, date(2026, 4, 1), date(2026, 5, 1), 30),
        (date(2026, 3, 14), 15, date(2026, 2, 15), date(2026, 3, 15), 28),
        (date(2026, 3, 15), 15, date(2026, 3, 15), date(2026, 4, 15), 31),
        (date(2026, 1, 10), 28, date(2025, 12, 28), date(2026, 1, 28), 31),
        (date(2025, 12, 31), 28, date(2025, 12, 28), date(2026, 1, 28), 31),
    ],
)
def test_monthly_periods(day: date, billing_day: int, start: date, end: date, days: int) -> None:
    period = BillingPeriod.monthly(day, billing_day)
    assert (period.start, period.end, period.days) == (start, end, days)
    assert period.contains(day)
    assert not period.contains(end)
    assert period.last_day.toordinal() == end.toordinal() - 1


@pytest.mark.parametrize("billing_day", [0, 29, 31])
def test_billing_day_outside_1_to_28_is_refused(billing_day: int) -> None:
    with pytest.raises(ValueError, match="between 1 and 28"):
        BillingPeriod.monthly(date(2026, 1, 1), billing_day)


def test_empty_period_is_refused() -> None:
    with pytest.raises(ValueError, match="must be after"):
        BillingPeriod(date(2026, 1, 1), date(2026, 1, 1))


def test_active_days() -> None:
    march = BillingPeriod(date(2026, 3, 1), date(2026, 4, 1))
    assert march.active_days() == 31
    assert march.active_days(starts_on=date(2026, 3, 31)) == 1
    assert march.active_days(ends_on=date(2026, 3, 1)) == 1
    assert march.active_days(starts_on=date(2026, 4, 1)) == 0
    assert march.active_days(ends_on=date(2026, 2, 28)) == 0
    assert march.active_days(date(2026, 3, 10), date(2026, 3, 9)) == 0
