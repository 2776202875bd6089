"""The audit trail: what was stored, page by page, streamed, and totalled per local day.

Ingestion itself is `billing.metering.ingestion` (re-exported here, where callers have always
found it). Services never commit: the request or import does.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlmodel import Session

from billing.metering.ingestion import ingest, load_catalog
from billing.metering.models import UsageEvent
from billing.metering.repository import EventFilter, MeteringRepository
from billing.tenants.repository import TenantRepository
from billing.tenants.service import get_client, get_partner
from config.bounds import month_days

__all__ = [
    "DayTotal",
    "InvalidCursorError",
    "decode_cursor",
    "encode_cursor",
    "ingest",
    "iter_events",
    "list_events",
    "load_catalog",
    "month_bounds",
    "summarize",
]


class InvalidCursorError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class DayTotal:
    client_id: str
    usage_type: str
    day: date
    quantity: Decimal
    events: int
    wholesale_cost: int
    currency: str

    def plus(self, other: DayTotal) -> DayTotal:
        """The sum of two totals of one usage type (keeps this one's client and day)."""
        return replace(
            self,
            quantity=self.quantity + other.quantity,
            events=self.events + other.events,
            wholesale_cost=self.wholesale_cost + other.wholesale_cost,
        )


# audit trail ----------------------------------------------------------------------
def encode_cursor(event_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(event_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
    try:
        return uuid.UUID(bytes=base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursorError(f"cursor {cursor[:40]!r} is not one this API returned") from exc


def list_events(
    session: Session, partner_id: str, where: EventFilter, cursor: str | None, limit: int
) -> tuple[list[UsageEvent], str | None]:
    """One page in id (arrival) order and the cursor of the next page, if there is one."""
    after = decode_cursor(cursor) if cursor else None
    rows = MeteringRepository(session).page(partner_id, where, after, limit + 1)
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], encode_cursor(rows[limit - 1].id)


def iter_events(session: Session, partner_id: str, where: EventFilter) -> Iterator[UsageEvent]:
    return MeteringRepository(session).stream(partner_id, where)


def month_bounds(period: str) -> tuple[date, date]:
    """`"2026-10"` -> first and last day of that month (`config.bounds.month_days`)."""
    return month_days(period)


def summarize(
    session: Session,
    partner_id: str,
    start: date,
    end: date,
    *,
    client_id: str | None = None,
    usage_type: str | None = None,
) -> list[DayTotal]:
    """Totals per client x usage type x calendar day in each client's own time zone."""
    partner = get_partner(session, partner_id)
    if client_id is not None:
        zones = {client_id: ZoneInfo(get_client(session, partner_id, client_id).timezone)}
        zone = zones[client_id]
        window_start = datetime.combine(start, time.min, zone).astimezone(UTC)
        window_end = datetime.combine(end + timedelta(days=1), time.min, zone).astimezone(UTC)
    else:
        zones = {
            cid: ZoneInfo(tz)
            for cid, tz in TenantRepository(session).client_timezones(partner_id).items()
        }
        # Every offset on Earth is within a day of UTC: widen, then keep exact local days.
        window_start = datetime.combine(start - timedelta(days=1), time.min, UTC)
        window_end = datetime.combine(end + timedelta(days=2), time.min, UTC)
    where = EventFilter(client_id, usage_type, window_start, window_end)
    totals: dict[tuple[str, str, date], DayTotal] = {}
    currency = partner.currency
    for row in MeteringRepository(session).summary_rows(partner_id, where):
        day = row.occurred_at.astimezone(zones[row.client_id]).date()
        if not start <= day <= end:
            continue
        key = (row.client_id, row.usage_type, day)
        one = DayTotal(
            row.client_id, row.usage_type, day, row.quantity, 1, row.wholesale_cost, currency
        )
        seen = totals.get(key)
        totals[key] = one if seen is None else seen.plus(one)
    return [totals[key] for key in sorted(totals)]
