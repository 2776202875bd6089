"""Every query metering runs, except ingestion's writes (`write_repository`).

Lookups by event id are keyed by long lists: on PostgreSQL they join an array
(`config.key_arrays`), never an IN list whose generic plan scans the partner's events.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Date, Select, String, column, select, table, text
from sqlmodel import Session, col

from billing.metering.models import UsageEvent
from billing.metering.validation import IssuedPeriod
from config.db_types import UTCDateTime
from config.key_arrays import on_postgres, probed_queries

__all__ = ["ISSUED_STATUSES", "EventFilter", "MeteringRepository", "StoredRef", "SummaryRow"]

_Query = TypeVar("_Query", bound=Select[*tuple[Any, ...]])
# Invoices that were issued and stand (invoicing's `ISSUED_STATES`, which metering may not
# import: invoicing imports metering; a test keeps the two equal).
ISSUED_STATUSES = ("issued", "paid", "partially_paid", "uncollectible")
_LONGEST_PERIOD = timedelta(days=62)
# What metering reads of invoicing's table (invoicing imports metering, not the reverse).
_INVOICES = table(
    "invoice",
    column("partner_id", String()),
    column("client_id", String()),
    column("number", String()),
    column("status", String()),
    column("period_start", Date()),
    column("period_start_at", UTCDateTime()),
    column("period_end_at", UTCDateTime()),
    column("issued_at", UTCDateTime()),
)


class StoredRef(NamedTuple):
    id: uuid.UUID
    event_id: str
    body_hash: str
    client_id: str
    usage_type: str
    adjusts_id: uuid.UUID | None


class SummaryRow(NamedTuple):
    client_id: str
    usage_type: str
    occurred_at: datetime
    quantity: Decimal
    wholesale_cost: int


@dataclass(frozen=True, slots=True)
class EventFilter:
    client_id: str | None = None
    usage_type: str | None = None
    start: datetime | None = None
    end: datetime | None = None


class MeteringRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # writing ------------------------------------------------------------------
    def claim_sqlite_writer(self) -> None:
        """On SQLite, take the write lock before this transaction reads anything.

        A deferred SQLite transaction that has read and then wants to write fails at once
        (SQLITE_BUSY_SNAPSHOT, no busy wait) if another process committed in between; a
        write first makes it wait its turn instead. The statement changes no row.
        """
        if self.session.get_bind().dialect.name == "sqlite":
            self.session.execute(text("UPDATE billing_partner SET id = id WHERE 0"))

    # reading ------------------------------------------------------------------
    def stored_hashes(self, partner_id: str, event_ids: Iterable[str]) -> dict[str, str]:
        """event_id -> body hash, for telling replays from conflicts when nothing was new."""
        query = select(col(UsageEvent.event_id), col(UsageEvent.body_hash)).where(
            col(UsageEvent.partner_id) == partner_id
        )
        found: dict[str, str] = {}
        for chunk in self._by_event_id(query, event_ids):
            found.update(
                (event_id, body_hash) for event_id, body_hash in self.session.execute(chunk)
            )
        return found

    def stored(self, partner_id: str, event_ids: Iterable[str]) -> dict[str, StoredRef]:
        query = select(
            col(UsageEvent.id),
            col(UsageEvent.event_id),
            col(UsageEvent.body_hash),
            col(UsageEvent.client_id),
            col(UsageEvent.usage_type),
            col(UsageEvent.adjusts_id),
        ).where(col(UsageEvent.partner_id) == partner_id)
        found: dict[str, StoredRef] = {}
        for chunk in self._by_event_id(query, event_ids):
            for row in self.session.execute(chunk):
                found[row[1]] = StoredRef(*row)
        return found

    def _by_event_id(self, query: _Query, event_ids: Iterable[str]) -> Iterator[Select[Any]]:
        """On PostgreSQL each event id probes the unique index on its own
        (`config.key_arrays.probed_queries`): a plain join on the array can be planned, on a
        table never analysed, as a scan of every event of the partner."""
        postgres = on_postgres(self.session)
        return probed_queries(query, col(UsageEvent.event_id), event_ids, postgres=postgres)

    def issued_periods(
        self, partner_id: str, client_ids: Collection[str], ending_after: datetime
    ) -> dict[str, list[IssuedPeriod]]:
        """Client (of `client_ids`) -> its periods with an issued, standing invoice that end
        after `ending_after`, by start: the only invoices a batch's events can fall in.

        One query on the partner's index (status, period start), not an IN list of clients:
        a batch names thousands of clients, and its periods started at most a cycle before
        its oldest event (cycles are monthly, `_LONGEST_PERIOD` is the margin)."""
        c = _INVOICES.c
        query = (
            select(c.client_id, c.period_start_at, c.period_end_at, c.issued_at, c.number)
            .where(
                c.partner_id == partner_id,
                c.status.in_(ISSUED_STATUSES),
                c.period_start >= (ending_after - _LONGEST_PERIOD).date(),
                c.period_end_at > ending_after,
                c.issued_at.is_not(None),
            )
            .order_by(c.client_id, c.period_start_at)
        )
        found: dict[str, list[IssuedPeriod]] = {}
        for client_id, begins, ends, issued_at, number in self.session.execute(query):
            if client_id in client_ids:
                found.setdefault(client_id, []).append(
                    IssuedPeriod(begins, ends, issued_at, str(number))
                )
        return found

    def page(
        self, partner_id: str, where: EventFilter, after: uuid.UUID | None, limit: int
    ) -> list[UsageEvent]:
        query = self._filtered(select(UsageEvent), partner_id, where)
        if after is not None:
            query = query.where(col(UsageEvent.id) > after)
        return list(self.session.scalars(query.order_by(col(UsageEvent.id)).limit(limit)))

    def stream(
        self, partner_id: str, where: EventFilter, batch: int = 2000
    ) -> Iterator[UsageEvent]:
        """Every matching event in id order, holding at most `batch` rows in memory."""
        after: uuid.UUID | None = None
        while True:
            rows = self.page(partner_id, where, after, batch)
            yield from rows
            if len(rows) < batch:
                return
            after = rows[-1].id

    def summary_rows(self, partner_id: str, where: EventFilter) -> Iterator[SummaryRow]:
        query = self._filtered(
            select(
                col(UsageEvent.client_id),
                col(UsageEvent.usage_type),
                col(UsageEvent.occurred_at),
                col(UsageEvent.quantity),
                col(UsageEvent.wholesale_cost),
            ),
            partner_id,
            where,
        )
        result = self.session.execute(query.execution_options(yield_per=5000))
        for row in result:
            yield SummaryRow(*row)

    @staticmethod
    def _filtered(query: _Query, partner_id: str, where: EventFilter) -> _Query:
        query = query.where(col(UsageEvent.partner_id) == partner_id)
        if where.client_id is not None:
            query = query.where(col(UsageEvent.client_id) == where.client_id)
        if where.usage_type is not None:
            query = query.where(col(UsageEvent.usage_type) == where.usage_type)
        if where.start is not None:
            query = query.where(col(UsageEvent.occurred_at) >= where.start)
        if where.end is not None:
            query = query.where(col(UsageEvent.occurred_at) < where.end)
        return query
