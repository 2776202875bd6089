"""Ingest into a large event table against ingest into an empty one (issue 17: >= 0.5).

The same 100,000 events go through the service path (`bulk`) into a fresh copy of an empty
table and into a copy of one already holding 5,000,000 events of the months before.

    .venv/bin/python bench/ingest_growth.py                          # 5M rows, 100k events
    .venv/bin/python bench/ingest_growth.py --big-rows 1000000       # quick run
"""

from __future__ import annotations

import argparse
import gc
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import figure, goal_summary, ratio
from bench._ingest_setup import PARTNER, TYPES, bulk, make_events, template
from config.db import create_db_engine


def big_table(base: Path, rows: int, clients: int, types: int) -> Path:
    """A copy of the template already holding `rows` events, built by one INSERT ... SELECT
    from a recursive CTE (a minute for 5M, not an hour through the service) and cached under
    the temporary directory by size and schema, so iterating does not rebuild it.

    The stored events are the months before the ingested ones (occurred_at 30 to 330 days
    ago, ids older than any new UUIDv7, random event ids): a table grows by time, and what
    arrives is recent usage."""
    with sqlite3.connect(base) as conn:
        head = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    cached = (
        Path(tempfile.gettempdir()) / f"rebill-ingest-big-{head}-{rows}-{clients}-{types}.sqlite3"
    )
    if cached.exists():
        return cached
    building = cached.with_suffix(".building")
    shutil.copyfile(base, building)
    codes = ", ".join(f"'{code}'" for code, _ in TYPES[:types])
    conn = sqlite3.connect(building, isolation_level=None)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-4000000")  # 4 GB: the random index inserts stay in memory
    conn.execute("BEGIN")
    conn.execute(
        f"""
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}),
        codes(code) AS (SELECT value FROM json_each(json_array({codes})))
        INSERT INTO usage_event (id, partner_id, client_id, usage_type, event_id, quantity,
            occurred_at, received_at, properties, source, wholesale_cost, currency, adjusts_id,
            body_hash)
        SELECT printf('%032x', i), '{PARTNER}',
            printf('client-%05d', abs(random()) % {clients}),
            json_extract(json_array({codes}), '$[' || (abs(random()) % {types}) || ']'),
            lower(hex(randomblob(16))), 1000000 * (1 + abs(random()) % 1000),
            strftime('%Y-%m-%d %H:%M:%f000', 'now', '-30 days',
                     '-' || (abs(random()) % 25920000) || ' seconds'),
            strftime('%Y-%m-%d %H:%M:%f000', 'now', '-30 days'),
            NULL, 'api', 1, 'USD', NULL, lower(hex(randomblob(16)))
        FROM n
        """
    )
    conn.execute("COMMIT")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    building.rename(cached)
    return cached


def growth(
    base: Path, folder: Path, big_rows: int, events: list[dict[str, Any]], clients: int, types: int
) -> None:
    """Ingest the same events into an empty table and into one of `big_rows` events."""
    print(f"  building (or reusing) a table of {big_rows:,} events ...", flush=True)
    big = big_table(base, big_rows, clients, types)
    rates = {}
    for name, source in (("empty", base), ("big", big)):
        path = folder / f"growth-{name}.sqlite3"
        shutil.copyfile(source, path)
        engine = create_db_engine(f"sqlite:///{path}")
        seconds, accepted, _ = bulk(engine, events)
        assert accepted == len(events), accepted
        engine.dispose()
        rates[name] = len(events) / seconds
        path.unlink()
    figure(f"{len(events):,} events into an empty table", rates["empty"], "events/s")
    figure(f"{len(events):,} events into a table of {big_rows:,}", rates["big"], "events/s")
    ratio(f"into {big_rows:,} events / into an empty table", rates["big"], rates["empty"], 0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-rows", type=int, default=5_000_000, help="events already stored")
    parser.add_argument("--events", type=int, default=100_000, help="events ingested")
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--types", type=int, default=5, choices=range(1, len(TYPES) + 1))
    args = parser.parse_args()
    print(f"ingest growth bench: {args.events:,} events into {args.big_rows:,} (SQLite)")
    folder = Path(tempfile.mkdtemp(prefix="rebill-ingest-growth-"))
    try:
        base = template(folder, args.clients, args.types)
        events = make_events(args.events, args.clients, args.types)
        gc.freeze()
        growth(base, folder, args.big_rows, events, args.clients, args.types)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    goal_summary()


if __name__ == "__main__":
    main()
