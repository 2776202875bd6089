"""The parts of a client's period charge, net of tax, as the books recognise them.

Accrual and issuing recognise revenue per (client, service period, component), so both must
cut a statement the same way:
- one component per usage type: its usage lines (usage revenue, per usage type);
- `SUBSCRIPTION`: base fee plus minimum-spend true-up (subscription revenue);
- `DISCOUNT`: the discount line, a negative amount (the contra-revenue account "Discounts").
Tax is not revenue: it is a liability recognised when the invoice is issued.

Component keys share the accrual state's `usage_type` column with usage type codes; the two
reserved keys start with a colon, which no usage type code may contain.

Entries are dated inside the client's period and, where the two overlap, inside the partner's
calendar month that the period starts in: a period read by effective date in the partner's
calendar (the trial balance as of a month end) then gets the same month as a period read by
service period.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from billing.pricing.book import period_window
from billing.rating import BillingPeriod, PeriodStatement
from ledger import AccountRole

__all__ = [
    "DISCOUNT",
    "SUBSCRIPTION",
    "component_account",
    "component_usage_type",
    "is_usage",
    "recognition_moment",
    "statement_components",
]

SUBSCRIPTION = ":subscription"
DISCOUNT = ":discount"
_MICROSECOND = timedelta(microseconds=1)


def is_usage(component: str) -> bool:
    return not component.startswith(":")


def component_usage_type(component: str) -> str | None:
    """The usage type dimension of the component's postings (None for the reserved ones)."""
    return component if is_usage(component) else None


def component_account(component: str) -> tuple[AccountRole, str | None]:
    """The revenue account (role, usage type sub-account) a component is recognised in."""
    if component == SUBSCRIPTION:
        return AccountRole.SUBSCRIPTION_REVENUE, None
    if component == DISCOUNT:
        return AccountRole.DISCOUNTS, None
    return AccountRole.USAGE_REVENUE, component


def statement_components(statement: PeriodStatement) -> dict[str, int]:
    """Component -> amount (minor units, the discount negative) of the statement net of tax;
    the amounts add up to `statement.taxable`."""
    parts = {charge.usage_type: charge.amount for charge in statement.usage}
    fixed = sum(line.amount for line in (statement.base_fee, statement.minimum_true_up) if line)
    if fixed:
        parts[SUBSCRIPTION] = fixed
    if statement.discount is not None and statement.discount.amount:
        parts[DISCOUNT] = statement.discount.amount
    return parts


@lru_cache(maxsize=4096)
def _recognition_window(
    period: BillingPeriod, client_timezone: str, partner_timezone: str
) -> tuple[datetime, datetime]:
    start, end = period_window(period, client_timezone)
    first = period.start.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    month_start, month_end = period_window(BillingPeriod(first, following), partner_timezone)
    if max(start, month_start) < min(end, month_end):
        start, end = max(start, month_start), min(end, month_end)
    return start, end - _MICROSECOND


def recognition_moment(
    period: BillingPeriod, client_timezone: str, partner_timezone: str, moment: datetime
) -> datetime:
    """`moment` moved inside the client's period and, where they overlap, inside the partner's
    calendar month of the period's first day."""
    first, last = _recognition_window(period, client_timezone, partner_timezone)
    return min(max(moment, first), last)
