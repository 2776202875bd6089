"""The usage events CSV, one layout for every place that exports it (`GET /v1/usage/export`,
the dashboard's drill-down): streamed in chunks of 1,000 rows from one read, so an export of
millions of events never sits in memory."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

from sqlalchemy import Engine

from billing.metering.repository import EventFilter
from billing.metering.schemas import quantity_text
from billing.metering.service import iter_events
from config.csv_cells import safe_writer
from config.db import session_scope

__all__ = ["EXPORT_COLUMNS", "export_csv_chunks"]

EXPORT_COLUMNS = (
    "id",
    "event_id",
    "client",
    "usage_type",
    "quantity",
    "occurred_at",
    "received_at",
    "source",
    "wholesale_cost",
    "currency",
    "adjusts_id",
    "properties",
)
_CHUNK_ROWS = 1000


def export_csv_chunks(
    partner_id: str, where: EventFilter, *, costs: bool, engine: Engine | None = None
) -> Iterator[str]:
    """The header, then the partner's events matching `where` in arrival order, as text
    chunks for a streaming response. Without `costs` (a non-admin API key) the
    `wholesale_cost` cells are empty: the columns stay the same. It reads in its own session
    (on `engine`, else the process engine): a streamed answer outlives the request's."""
    buffer = io.StringIO()
    writer = safe_writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    with session_scope(engine) as session:
        for count, event in enumerate(iter_events(session, partner_id, where), start=1):
            writer.writerow(
                [
                    event.id,
                    event.event_id,
                    event.client_id,
                    event.usage_type,
                    quantity_text(event.quantity),
                    event.occurred_at.isoformat(),
                    event.received_at.isoformat(),
                    event.source,
                    event.wholesale_cost if costs else "",
                    event.currency,
                    event.adjusts_id or "",
                    json.dumps(event.properties, sort_keys=True) if event.properties else "",
                ]
            )
            if count % _CHUNK_ROWS == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()
