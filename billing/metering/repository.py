"""Every query metering runs. Ingestion writes with one `INSERT ... ON CONFLICT DO NOTHING`
executed over thousands of rows: the unique `(partner_id, event_id)` index decides what is a
replay, even between concurrent writers, and no stored event is read before writing.

On SQLite the rows are handed to the driver already in storage form (the exact text
SQLAlchemy's SQLite types write, checked by a test), because per-value type processing costs
more than SQLite's own insert. PostgreSQL (the only other database we run on) takes the typed
rows through SQLAlchemy.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import (
    JSON,
    Date,
    Select,
    String,
    Text,
    bindparam,
    cast,
    column,
    select,
    table,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from billing.metering.models import UsageEvent
from billing.metering.validation import IssuedPeriod, ValidEvent
from config.db_types import UTCDateTime

__all__ = ["ISSUED_STATUSES", "EventFilter", "MeteringRepository", "StoredRef", "SummaryRow"]

_LOOKUP_CHUNK = 1000
_INSERT_CHUNK = 5000
_Query = TypeVar("_Query", bound=Select[*tuple[Any, ...]])
_TABLE = UsageEvent.__table__  # type: ignore[attr-defined]
_COLUMNS = [column.name for column in _TABLE.columns]
_IDEMPOTENCY_KEY = ["partner_id", "event_id"]
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


def _hex(value: uuid.UUID | None) -> str | None:
    """How SQLAlchemy's `Uuid` stores a UUID on SQLite: 32 hex digits, no dashes."""
    return None if value is None else value.hex


@lru_cache(maxsize=1)
def _sqlite_insert_sql() -> str:
    """The statement with one `?` per column, in `_COLUMNS` order (the rows' tuple order)."""
    statement = sqlite.insert(_TABLE).on_conflict_do_nothing(index_elements=_IDEMPOTENCY_KEY)
    compiled = statement.compile(dialect=sqlite.dialect(), column_keys=_COLUMNS)
    assert list(compiled.positiontup or ()) == _COLUMNS, compiled.positiontup
    return str(compiled)


@lru_cache(maxsize=1)
def _postgres_insert() -> Any:
    """Properties arrive already encoded (exact decimals included), so bind them as text."""
    properties = cast(bindparam("properties", type_=Text()), JSON)
    return (
        postgresql.insert(_TABLE)
        .values(properties=properties)
        .on_conflict_do_nothing(index_elements=_IDEMPOTENCY_KEY)
        .execution_options(preserve_rowcount=True)
    )


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

    def insert_new(
        self,
        partner_id: str,
        currency: str,
        source: str,
        received_at: datetime,
        events: Sequence[ValidEvent],
    ) -> int:
        """Insert what is not there yet; returns how many rows were written."""
        connection = self.session.connection()
        written = 0
        if connection.dialect.name == "sqlite":
            sql = _sqlite_insert_sql()
            received = received_at.isoformat(" ", "microseconds")[:26]
            for start in range(0, len(events), _INSERT_CHUNK):
                rows = [
                    (
                        _hex(e.id),
                        partner_id,
                        e.client_id,
                        e.usage_type,
                        e.event_id,
                        e.quantity_scaled,
                        e.occurred_text,
                        received,
                        e.properties_json,
                        source,
                        e.wholesale_cost,
                        currency,
                        _hex(e.adjusts_id),
                        e.body_hash,
                    )
                    for e in events[start : start + _INSERT_CHUNK]
                ]
                result = connection.exec_driver_sql(
                    sql, rows, execution_options={"preserve_rowcount": True}
                )
                written += result.rowcount
            return written
        statement = _postgres_insert()
        for start in range(0, len(events), _INSERT_CHUNK):
            dicts = [
                {
                    "id": e.id,
                    "partner_id": partner_id,
                    "client_id": e.client_id,
                    "usage_type": e.usage_type,
                    "event_id": e.event_id,
                    "quantity": e.quantity,
                    "occurred_at": e.occurred_at,
                    "received_at": received_at,
                    "properties": e.properties_json,
                    "source": source,
                    "wholesale_cost": e.wholesale_cost,
                    "currency": currency,
                    "adjusts_id": e.adjusts_id,
                    "body_hash": e.body_hash,
                }
                for e in events[start : start + _INSERT_CHUNK]
            ]
            written += self.session.execute(statement, dicts).rowcount  # type: ignore[attr-defined]
        return written

    # reading ------------------------------------------------------------------
    def stored_hashes(self, partner_id: str, event_ids: Iterable[str]) -> dict[str, str]:
        """event_id -> body hash, for telling replays from conflicts when nothing was new."""
        wanted = list(event_ids)
        found: dict[str, str] = {}
        for start in range(0, len(wanted), _LOOKUP_CHUNK):
            query = select(col(UsageEvent.event_id), col(UsageEvent.body_hash)).where(
                col(UsageEvent.partner_id) == partner_id,
                col(UsageEvent.event_id).in_(wanted[start : start + _LOOKUP_CHUNK]),
            )
            found.update(
                (event_id, body_hash) for event_id, body_hash in self.session.execute(query)
            )
        return found

    def stored(self, partner_id: str, event_ids: Iterable[str]) -> dict[str, StoredRef]:
        wanted = list(event_ids)
        found: dict[str, StoredRef] = {}
        columns = (
            col(UsageEvent.id),
            col(UsageEvent.event_id),
            col(UsageEvent.body_hash),
            col(UsageEvent.client_id),
            col(UsageEvent.usage_type),
            col(UsageEvent.adjusts_id),
        )
        for start in range(0, len(wanted), _LOOKUP_CHUNK):
            query = select(*columns).where(
                col(UsageEvent.partner_id) == partner_id,
                col(UsageEvent.event_id).in_(wanted[start : start + _LOOKUP_CHUNK]),
            )
            for row in self.session.execute(query):
                found[row[1]] = StoredRef(*row)
        return found

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
