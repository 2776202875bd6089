"""Bulk ingest on PostgreSQL against COPY into the same schema (issue 17: >= 0.8).

Each side gets its own fresh schema; the service path (`ingest`, one unit of work per 10,000
events) and COPY of the rows the service would store are interleaved chunk by chunk, with tables
never analysed (autovacuum off from the start) and again with statistics. A replay of the same
events (nothing new) is timed after.

    .venv/bin/python bench/ingest_pg.py                    # 100,000 events
    .venv/bin/python bench/ingest_pg.py --events 30000     # quick run
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (
    Timer,
    analyse,
    figure,
    freeze_statistics,
    fresh_postgres,
    goal_summary,
    ratio,
)
from bench._ingest_setup import CHUNK, PARTNER, TYPES, make_events, seed
from billing.metering import ingest, load_catalog
from billing.metering.models import UsageEvent
from config.db import session_scope
from config.db_types import uuid7


def _copy_rows(events: list[dict[str, Any]]) -> list[list[tuple[Any, ...]]]:
    """The rows the service would store, per chunk, in storage form for COPY."""
    received = datetime.now(UTC)
    chunks = []
    for start in range(0, len(events), CHUNK):
        rows = [
            (
                uuid7(),
                PARTNER,
                e["client"],
                e["usage_type"],
                e["event_id"],
                int(e["quantity"].scaleb(6)),
                e["occurred_at"],
                received,
                None,
                "api",
                int(e["quantity"]),
                "USD",
                None,
                e["event_id"][:32],
            )
            for e in sorted(events[start : start + CHUNK], key=lambda e: e["event_id"])
        ]
        chunks.append(rows)
    return chunks


def postgres(events: list[dict[str, Any]], clients: int, types: int, analysed: bool) -> None:
    """Service path and COPY, each into its own fresh schema, chunk by chunk interleaved."""
    state = "analysed" if analysed else "never analysed"
    with fresh_postgres() as service_engine, fresh_postgres() as copy_engine:
        if service_engine is None or copy_engine is None:
            return
        for engine in (service_engine, copy_engine):
            seed(engine, clients, types)
            freeze_statistics(engine)
            if analysed:
                analyse(engine)
        with session_scope(service_engine) as session:
            catalog = load_catalog(session, PARTNER)
        columns = ", ".join(c.name for c in UsageEvent.__table__.columns)  # type: ignore[attr-defined]
        copy_chunks = _copy_rows(events)
        service_seconds = copy_seconds = 0.0
        accepted = 0
        for number, start in enumerate(range(0, len(events), CHUNK)):
            with Timer() as timer, session_scope(service_engine) as session:
                result = ingest(session, PARTNER, events[start : start + CHUNK], catalog=catalog)
            service_seconds += timer.seconds
            accepted += result.accepted
            with Timer() as timer, copy_engine.begin() as conn:
                driver = conn.connection.driver_connection
                assert driver is not None
                sql = f"COPY usage_event ({columns}) FROM STDIN"
                with driver.cursor() as cursor, cursor.copy(sql) as copy:
                    for row in copy_chunks[number]:
                        copy.write_row(row)
            copy_seconds += timer.seconds
        assert accepted == len(events), accepted
        with Timer() as timer:
            for start in range(0, len(events), CHUNK):
                with session_scope(service_engine) as session:
                    replay = ingest(
                        session, PARTNER, events[start : start + CHUNK], catalog=catalog
                    )
                assert replay.accepted == 0, replay
        rate, reference = len(events) / service_seconds, len(events) / copy_seconds
        figure(f"PostgreSQL ({state}): COPY, same schema (reference)", reference, "events/s")
        figure(f"PostgreSQL ({state}): bulk ingest, service path", rate, "events/s")
        figure(
            f"PostgreSQL ({state}): replay (0 inserted)", len(events) / timer.seconds, "events/s"
        )
        ratio(f"PostgreSQL ({state}): bulk / COPY", rate, reference, 0.8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = int(os.environ.get("BENCH_PG_EVENTS", 100_000))
    parser.add_argument("--events", type=int, default=default)
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--types", type=int, default=5, choices=range(1, len(TYPES) + 1))
    args = parser.parse_args()
    print(f"ingest bench, PostgreSQL: {args.events:,} events, {args.clients:,} clients")
    events = make_events(args.events, args.clients, args.types)
    gc.freeze()
    for analysed in (False, True):
        postgres(events, args.clients, args.types, analysed)
    goal_summary()


if __name__ == "__main__":
    main()
