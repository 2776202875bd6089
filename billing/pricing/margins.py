"""Margins from the books: cost, charge, margin and margin % per client, usage type or month,
read from ledger balances (DESIGN: "the margin dashboard, the invoice and the books always
agree").

Charge is every revenue account's credit balance (usage revenue from accruals; subscription
revenue, true-ups, credit notes once invoicing posts them); cost is the wholesale cost
accounts' debit balance. Postings carry client and usage type, so the grouping is the ledger's.
Dates are inclusive and read in the partner's time zone; a month is a calendar month there.
Amounts of different currencies are never added: there is one row per group and currency.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from sqlmodel import Session

from billing.rating import margin_percent
from billing.tenants.service import get_partner
from ledger import AccountRole, AccountType, BalanceRow, balances
from ledger.repository import LedgerRepository

__all__ = ["GroupBy", "MarginReport", "MarginRow", "margins"]

GroupBy = Literal["client", "usage_type", "period"]
NO_CLIENT = "(no client)"
NO_USAGE_TYPE = "(no usage type)"


@dataclass(frozen=True, slots=True)
class MarginRow:
    key: str
    currency: str
    charge: int
    cost: int
    flagged: bool = False

    @property
    def margin(self) -> int:
        return self.charge - self.cost

    @property
    def margin_percent(self) -> Decimal | None:
        """2 places, half-up; None when nothing was charged."""
        return margin_percent(self.charge, self.cost)


@dataclass(frozen=True, slots=True)
class MarginReport:
    partner_id: str
    start: date
    end: date
    group_by: GroupBy
    threshold: Decimal | None
    rows: tuple[MarginRow, ...]
    totals: tuple[MarginRow, ...]
    flagged_clients: tuple[str, ...]


def below(charge: int, cost: int, threshold: Decimal | None) -> bool:
    """Under the partner's alert threshold; a cost with no charge is always under it."""
    if threshold is None:
        return False
    percent = margin_percent(charge, cost)
    return cost > 0 if percent is None else percent < threshold


def _instant(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, zone).astimezone(UTC)


def _months(start: date, end: date) -> Iterable[tuple[str, date, date]]:
    """(label, first day, last day) of each calendar month in [start, end], clipped."""
    first = start.replace(day=1)
    while first <= end:
        following = (first + timedelta(days=32)).replace(day=1)
        yield f"{first:%Y-%m}", max(first, start), min(following - timedelta(days=1), end)
        first = following


def _constant(label: str) -> Callable[[BalanceRow], str]:
    return lambda _row: label


def _sum(
    rows: Iterable[BalanceRow],
    kinds: dict[tuple[str, str], tuple[str | None, AccountType]],
    key_of: Callable[[BalanceRow], str],
) -> dict[tuple[str, str], list[int]]:
    """(group key, currency) -> [charge, cost]."""
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        role, kind = kinds[(row.account_code, row.currency)]
        if role == AccountRole.WHOLESALE_COST:
            index, amount = 1, row.debits - row.credits
        elif kind is AccountType.REVENUE:
            index, amount = 0, row.credits - row.debits
        else:
            continue
        sums[(key_of(row), row.currency)][index] += amount
    return sums


def margins(
    session: Session, partner_id: str, start: date, end: date, group_by: GroupBy = "client"
) -> MarginReport:
    """The table for `start` to `end` (inclusive, partner's local dates)."""
    if end < start:
        raise ValueError(f"the range ends ({end}) before it starts ({start})")
    partner = get_partner(session, partner_id)
    zone = ZoneInfo(partner.timezone)
    raw = partner.settings.get("margin_alert_percent")
    threshold = None if raw is None else Decimal(str(raw))
    kinds = {
        (a.code, a.currency): (a.role, a.type)
        for a in LedgerRepository(session).accounts(partner_id)
    }
    window = (_instant(start, zone), _instant(end + timedelta(days=1), zone))
    by_client = balances(session, partner_id, *window, by_client=True)
    client_sums = _sum(by_client, kinds, lambda row: row.client_id or NO_CLIENT)
    flagged = sorted(
        {key for (key, _), (charge, cost) in client_sums.items() if below(charge, cost, threshold)}
        - {NO_CLIENT}
    )
    if group_by == "client":
        sums = client_sums
    elif group_by == "usage_type":
        rows = balances(session, partner_id, *window, by_usage_type=True)
        sums = _sum(rows, kinds, lambda row: row.usage_type or NO_USAGE_TYPE)
    else:
        sums = {}
        for label, first, last in _months(start, end):
            month = (_instant(first, zone), _instant(last + timedelta(days=1), zone))
            month_rows = balances(session, partner_id, *month)
            sums.update(_sum(month_rows, kinds, _constant(label)))
    table = tuple(
        MarginRow(key, currency, charge, cost, below(charge, cost, threshold))
        for (key, currency), (charge, cost) in sorted(sums.items())
    )
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in table:
        totals[row.currency][0] += row.charge
        totals[row.currency][1] += row.cost
    return MarginReport(
        partner_id,
        start,
        end,
        group_by,
        threshold,
        table,
        tuple(
            MarginRow("total", currency, charge, cost, below(charge, cost, threshold))
            for currency, (charge, cost) in sorted(totals.items())
        ),
        tuple(flagged),
    )
