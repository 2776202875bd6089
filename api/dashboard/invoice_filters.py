"""The invoices page's filters as the address carries them (`?status=paid&period=2026-11...`):
read into a `BrowseFilter`, each bad value named with its reason (the page shows it and leaves
that filter off), and written back into the links of the next page, so paging keeps them.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar
from urllib.parse import urlencode

from billing.invoicing.browse_repository import (
    OPEN_STATUSES,
    BrowseFilter,
    PaymentState,
    SyncState,
)
from billing.invoicing.models import InvoiceStatus

__all__ = ["FILTER_NAMES", "FilterForm", "read_filters"]

FILTER_NAMES = ("status", "period", "client", "payment", "sync", "q")
_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")
_LONGEST = 64
SHOWN_STATUSES = tuple(s.value for s in InvoiceStatus if s not in OPEN_STATUSES)


@dataclass(frozen=True, slots=True)
class FilterForm:
    """What the form shows (the values as typed), what the query uses, and what was refused."""

    values: dict[str, str]
    where: BrowseFilter
    problems: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return any(self.values.values())

    def link(self, **extra: str | int) -> str:
        """The query string of this filter with `extra` (the next page's cursor)."""
        pairs = {k: v for k, v in self.values.items() if v}
        pairs.update({k: str(v) for k, v in extra.items()})
        return urlencode(pairs)


def read_filters(raw: dict[str, str | None]) -> FilterForm:
    values = {name: (raw.get(name) or "").strip()[:200] for name in FILTER_NAMES}
    problems: list[str] = []
    status = _choice(values["status"], InvoiceStatus, SHOWN_STATUSES, "status", problems)
    payment = _choice(values["payment"], PaymentState, _values(PaymentState), "payment", problems)
    sync = _choice(values["sync"], SyncState, _values(SyncState), "sync", problems)
    period = _month(values["period"], problems)
    client = values["client"] or None
    if client is not None and len(client) > _LONGEST:
        problems.append(f"client: at most {_LONGEST} characters")
        client = None
    where = BrowseFilter(
        status=status,
        period=period,
        client_id=client,
        payment=payment,
        sync=sync,
        number=values["q"] or None,
    )
    return FilterForm(values, where, problems)


def _values(kind: type[PaymentState] | type[SyncState]) -> tuple[str, ...]:
    return tuple(member.value for member in kind)


_Choice = TypeVar("_Choice", InvoiceStatus, PaymentState, SyncState)


def _choice(
    value: str, kind: type[_Choice], allowed: tuple[str, ...], name: str, problems: list[str]
) -> _Choice | None:
    if not value:
        return None
    if value not in allowed:
        problems.append(f"{name}: {value[:40]!r} is not one of {', '.join(allowed)}")
        return None
    return kind(value)


def _month(value: str, problems: list[str]) -> tuple[date, date] | None:
    if not value:
        return None
    match = _PERIOD.match(value)
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1:
        problems.append(f"period: {value[:40]!r} is not a month written YYYY-MM")
        return None
    year, month = int(match.group(1)), int(match.group(2))
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
