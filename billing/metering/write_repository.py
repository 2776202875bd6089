"""How ingestion writes events: part by part, while the next part is being validated.

A batch is validated and written in parts of a few thousand events in event_id order
(`billing.metering.service.ingest`). Each part is one `INSERT ... ON CONFLICT DO NOTHING`:
the unique `(partner_id, event_id)` index decides what is a replay, even between concurrent
writers, and no stored event is read before writing.

- PostgreSQL runs the insert in its own process. The parts are sent in pipeline mode
  (psycopg's `Connection.pipeline`): each INSERT goes to the server at once and this process
  validates the next part while the server writes this one, so ingestion costs about the larger
  of the two, not their sum. The rows travel as one array per column (`unnest`), a statement
  per part with its own row count; the parts are in event_id order and each part's rows are
  inserted in that same order (`COLLATE "C"` is Python's order of strings), so two writers
  sending overlapping batches lock rows in one order and never deadlock.
- SQLite writes in this process: each part is an `executemany` at once, with the rows already
  in storage form (the exact text SQLAlchemy's SQLite types write, checked by a test), because
  per-value type processing costs more than SQLite's own insert.

Nothing else may use the session between `EventWriter.send` and the end of the `writing` block
(on PostgreSQL a query would wait for every insert sent).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy.dialects import sqlite
from sqlmodel import Session

from billing.metering.models import UsageEvent
from billing.metering.validation import ValidEvent

__all__ = ["EventWriter", "writing"]

_TABLE = UsageEvent.__table__  # type: ignore[attr-defined]
_COLUMNS = [column.name for column in _TABLE.columns]
_IDEMPOTENCY_KEY = ["partner_id", "event_id"]

# One array per column that varies by event; what is the same for the whole batch is a scalar.
_PG_INSERT = """
INSERT INTO usage_event (id, partner_id, client_id, usage_type, event_id, quantity,
    occurred_at, received_at, properties, source, wholesale_cost, currency, adjusts_id,
    body_hash)
SELECT e.id, %s, e.client_id, e.usage_type, e.event_id, e.quantity, e.occurred_at, %s,
    e.properties::json, %s, e.wholesale_cost, %s, e.adjusts_id, e.body_hash
FROM unnest(%b::uuid[], %b::text[], %b::text[], %b::text[], %b::int8[], %b::timestamptz[],
    %b::text[], %b::int8[], %b::uuid[], %b::text[])
    AS e(id, client_id, usage_type, event_id, quantity, occurred_at, properties,
        wholesale_cost, adjusts_id, body_hash)
ORDER BY e.event_id COLLATE "C"
ON CONFLICT (partner_id, event_id) DO NOTHING
"""


class EventWriter(Protocol):
    def send(self, events: Sequence[ValidEvent]) -> None:
        """Write these events (stamped with their ids), in this order, unless stored."""

    @property
    def written(self) -> int:
        """Rows written by every `send`; read it after the `writing` block."""


@dataclass(slots=True)
class _Batch:
    partner_id: str
    currency: str
    source: str
    received_at: datetime


@contextmanager
def writing(
    session: Session, partner_id: str, currency: str, source: str, received_at: datetime
) -> Iterator[EventWriter]:
    """An `EventWriter` for one batch; every row it sent is written when the block ends."""
    batch = _Batch(partner_id, currency, source, received_at)
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        yield _SQLiteWriter(connection, batch)
        return
    driver = connection.connection.driver_connection
    assert driver is not None
    writer = _PostgresWriter(driver, batch)
    with driver.pipeline():
        yield writer
    writer.collect()


@dataclass(slots=True)
class _SQLiteWriter:
    connection: Any
    batch: _Batch
    written: int = 0

    def send(self, events: Sequence[ValidEvent]) -> None:
        if not events:
            return
        batch = self.batch
        received = batch.received_at.astimezone(UTC).isoformat(" ", "microseconds")[:26]
        rows = [
            (
                e.id,
                batch.partner_id,
                e.client_id,
                e.usage_type,
                e.event_id,
                e.quantity_scaled,
                e.occurred_text,
                received,
                e.properties_json,
                batch.source,
                e.wholesale_cost,
                batch.currency,
                e.adjusts_id,
                e.body_hash,
            )
            for e in events
        ]
        result = self.connection.exec_driver_sql(
            _sqlite_insert_sql(), rows, execution_options={"preserve_rowcount": True}
        )
        self.written += result.rowcount


@lru_cache(maxsize=1)
def _sqlite_insert_sql() -> str:
    """The statement with one `?` per column, in `_COLUMNS` order (the rows' tuple order)."""
    statement = sqlite.insert(_TABLE).on_conflict_do_nothing(index_elements=_IDEMPOTENCY_KEY)
    compiled = statement.compile(dialect=sqlite.dialect(), column_keys=_COLUMNS)
    assert list(compiled.positiontup or ()) == _COLUMNS, compiled.positiontup
    return str(compiled)


@dataclass(slots=True)
class _PostgresWriter:
    driver: Any
    batch: _Batch
    cursors: list[Any] = field(default_factory=list)
    written: int = 0

    def send(self, events: Sequence[ValidEvent]) -> None:
        if not events:
            return
        batch = self.batch
        cursor = self.driver.cursor()
        # Every array goes in binary: the server, not this process, is the slower side of the
        # pipeline, so ids and instants are sent as what they are, with nothing to parse.
        cursor.execute(
            _PG_INSERT,
            (
                batch.partner_id,
                batch.received_at,
                batch.source,
                batch.currency,
                [UUID(e.id) for e in events],
                [e.client_id for e in events],
                [e.usage_type for e in events],
                [e.event_id for e in events],
                [e.quantity_scaled for e in events],
                [e.occurred_at for e in events],
                [e.properties_json for e in events],
                [e.wholesale_cost for e in events],
                [None if e.adjusts_id is None else UUID(e.adjusts_id) for e in events],
                [e.body_hash for e in events],
            ),
        )
        self.cursors.append(cursor)

    def collect(self) -> None:
        """After the pipeline's sync: every statement's row count, summed."""
        self.written = sum(cursor.rowcount for cursor in self.cursors)
        for cursor in self.cursors:
            cursor.close()
        self.cursors.clear()
