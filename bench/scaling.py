"""Scaling on PostgreSQL: ingest, rating and the trial balance as the tables grow to 20M events.

The simulation behind docs/scaling.md. A private schema is filled fast with generated rows
(`INSERT ... SELECT FROM generate_series`, never through the service): four months of usage,
a quarter of `--events` each, for 1,000 clients x 5 usage types. At 0, 1, 2 and 4 months loaded
it measures, in the same run:

1. 100,000 events through the real service path (`billing.metering.ingest`, chunks of
   10,000) against COPY of 100,000 rows into the same table (the reference) and into a
   monthly range-partitioned copy of it;
2. the rating aggregation over the first month (a quarter of `--events`, constant) and over
   every loaded month (the window grows with the table): the service's own query
   (`UsageTotalsRepository.totals`), the same GROUP BY by hand over the plain table, over the
   partitioned copy, and over daily and hourly rollups; first on never-analysed tables, then
   after VACUUM ANALYZE;
3. at the end, the trial balance (`ledger.trial_balance`) over postings generated to a
   twentieth and to half of `--events`, and one month's per-account sums beside it.

The partitioned table and the rollups are experiments inside the bench's schema: the
project's migrations and models are untouched.

    nice -n 5 .venv/bin/python bench/scaling.py                   # 20,000,000 events (long)
    nice -n 5 .venv/bin/python bench/scaling.py --events 1000000  # quick run
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, text
from sqlmodel import Session

from bench._common import Timer, figure, fresh_postgres, goal_summary, ratio
from bench._ingest_setup import TYPES as INGEST_TYPES
from bench._ingest_setup import seed
from bench._scaling_parts import (
    AGGREGATE,
    COLUMNS,
    GENERATED,
    RAW,
    ROLLED,
    SECONDARY,
    UNIQUE,
    ledger,
    median,
    pages,
    vacuum,
)
from bench._scaling_rollups import Rollups
from billing.metering import ingest, load_catalog
from billing.pricing.usage_repository import AggregationRule, UsageTotalsRepository
from billing.tenants.models import Aggregation
from config.db import session_scope
from config.db_types import uuid7

PARTNER = "bench"
CLIENTS = 1_000
TYPES = INGEST_TYPES[:5]  # the partner of bench/_ingest_setup.py, with 1,000 clients
BATCH = 100_000
CHUNK = 10_000


def month_start(now: datetime, back: int) -> datetime:
    year, month = divmod(now.year * 12 + now.month - 1 - back, 12)
    return datetime(year, month + 1, 1, tzinfo=UTC)


class Simulation(Rollups):
    def __init__(self, engine: Engine, events: int) -> None:
        self.engine = engine
        self.per_month = events // 4
        now = datetime.now(UTC)
        self.current = month_start(now, 0)
        self.months = [(month_start(now, 4 - k), month_start(now, 3 - k)) for k in range(4)]
        self.loaded = 0
        self.batches = 0

    def sql(self, statement: str, **params: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(text("SET LOCAL maintenance_work_mem = '1GB'"))
            conn.execute(text("SET LOCAL session_replication_role = replica"))  # no FK triggers
            conn.execute(text(statement), params)

    def setup(self) -> None:
        seed(self.engine, CLIENTS, len(TYPES), PARTNER)
        like = "(LIKE usage_event INCLUDING DEFAULTS)"
        self.sql(f"CREATE TABLE usage_part {like} PARTITION BY RANGE (occurred_at)")
        for grain in ("day", "hour"):
            self.sql(
                f"CREATE TABLE rollup_{grain} (partner_id text, client_id text, usage_type text,"
                " bucket timestamptz, quantity bigint, events bigint, newest timestamptz,"
                " top bigint, PRIMARY KEY (partner_id, client_id, usage_type, bucket))"
            )
        self.add_partition(self.current, month_start(datetime.now(UTC), -1), empty=True)
        with self.engine.begin() as conn:  # never analysed, as _common.freeze_statistics
            for table in conn.execute(
                text(
                    "SELECT relname FROM pg_class WHERE relkind = 'r'"
                    " AND relnamespace = current_schema()::regnamespace"
                )
            ).scalars():
                conn.execute(text(f'ALTER TABLE "{table}" SET (autovacuum_enabled = false)'))

    def add_partition(self, start: datetime, end: datetime, *, empty: bool = False) -> str:
        name = f"usage_part_{start:%Y%m}"
        self.sql(f"CREATE TABLE {name} (LIKE usage_part INCLUDING DEFAULTS)")
        self.sql(f"ALTER TABLE {name} SET (autovacuum_enabled = false)")
        if not empty:
            self.sql(
                f"INSERT INTO {name} ({COLUMNS}) {GENERATED.format(clients=CLIENTS)}",
                **{**self.month_params(self.months.index((start, end)))},
            )
        self.sql(
            f"CREATE INDEX ON {name} (partner_id, client_id, usage_type, occurred_at, quantity,"
            " received_at, adjusts_id)"
        )
        # The unique key of a partitioned table must include its partition key.
        self.sql(f"ALTER TABLE {name} ADD UNIQUE (partner_id, event_id, occurred_at)")
        self.sql(
            f"ALTER TABLE usage_part ATTACH PARTITION {name}"
            f" FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )
        return name

    def month_params(self, k: int) -> dict[str, Any]:
        start, end = self.months[k]
        step = (end - start) / timedelta(microseconds=1) // self.per_month
        first = 1 + k * self.per_month
        return {"start": start, "first": first, "last": first + self.per_month, "step": step}

    def grow(self, months: int) -> None:
        """Load months `self.loaded .. months - 1` into every variant; print what it cost."""
        with Timer() as plain:
            for name in SECONDARY:
                self.sql(f"DROP INDEX {name}")
            self.sql("ALTER TABLE usage_event DROP CONSTRAINT uq_usage_event_partner_event")
            for k in range(self.loaded, months):
                self.sql(
                    f"INSERT INTO usage_event ({COLUMNS}) {GENERATED.format(clients=CLIENTS)}",
                    **self.month_params(k),
                )
            for statement in SECONDARY.values():
                self.sql(statement)
            self.sql(f"{UNIQUE} (partner_id, event_id)")
        with Timer() as part:
            for k in range(self.loaded, months):
                self.add_partition(*self.months[k])
        with Timer() as rolled:
            for k in range(self.loaded, months):
                for grain in ("day", "hour"):
                    self.roll(grain, f"usage_part_{self.months[k][0]:%Y%m}")
        added = (months - self.loaded) * self.per_month
        print(
            f"  loaded {added:,} events in {plain.seconds:,.0f} s (indexes rebuilt), partitions"
            f" {part.seconds:,.0f} s, day+hour rollups {rolled.seconds:,.0f} s"
        )
        self.loaded = months

    def sizes(self) -> None:
        """Bytes on disk per stored event, table and indexes, for each variant."""
        with self.engine.connect() as conn:
            found = conn.execute(
                text(
                    "SELECT t, (SELECT sum(pg_total_relation_size(i.inhrelid)) FROM pg_inherits i"
                    " WHERE i.inhparent = t::regclass) AS parts, pg_total_relation_size(t)"
                    " FROM unnest(ARRAY['usage_event', 'usage_part', 'rollup_day',"
                    " 'rollup_hour']) AS t"
                )
            ).all()
        events = self.count()
        for table, parts, total in found:
            size = int(parts or total)
            print(
                f"  on disk: {table:<12} {size / 2**20:>9,.0f} MiB  {size / events:>6,.0f} B/event"
            )

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM usage_event")).scalar_one())

    # -- 1. inserts ---------------------------------------------------------------------------

    def batch(self) -> list[dict[str, Any]]:
        rng = random.Random(self.batches)
        self.batches += 1
        span = int((datetime.now(UTC) - self.current).total_seconds()) - 60
        now = datetime.now(UTC)
        return [
            {
                "event_id": uuid.UUID(int=rng.getrandbits(128)).hex,
                "client": f"client-{rng.randrange(CLIENTS):05d}",
                "usage_type": TYPES[n % 5][0],
                "quantity": Decimal(rng.randrange(1, 100_000)).scaleb(-TYPES[n % 5][1]),
                "occurred_at": (now - timedelta(seconds=rng.randrange(max(span, 1)))).isoformat(),
            }
            for n in range(BATCH)
        ]

    def inserts(self) -> None:
        events = self.batch()
        with session_scope(self.engine) as session:
            catalog = load_catalog(session, PARTNER)
        with Timer() as service:
            for start in range(0, BATCH, CHUNK):
                with session_scope(self.engine) as session:
                    result = ingest(
                        session, PARTNER, events[start : start + CHUNK], catalog=catalog
                    )
                assert result.accepted == len(events[start : start + CHUNK]), result.rejections[:3]
        with Timer() as upkeep:
            self.roll_batch(events)
        rows = [self.row(e) for e in self.batch()]
        copy_plain = self.copy("usage_event", rows)
        copy_part = self.copy("usage_part", [self.row(e) for e in self.batch()])
        figure("service path (ingest), 100k events", BATCH / service.seconds, "events/s")
        figure("COPY into usage_event (reference)", BATCH / copy_plain, "events/s")
        figure("COPY into the monthly partitioned table", BATCH / copy_part, "events/s")
        print(
            f"  service / COPY {copy_plain / service.seconds:.2f};"
            f" hourly rollup upkeep for the batch {upkeep.seconds:.2f} s"
            f" ({upkeep.seconds / service.seconds:.0%} of its ingest time)"
        )
        self.last_service = BATCH / service.seconds

    @staticmethod
    def row(event: dict[str, Any]) -> tuple[Any, ...]:
        occurred = datetime.fromisoformat(event["occurred_at"])
        scaled = int(event["quantity"].scaleb(6))
        return (
            uuid7(),
            PARTNER,
            event["client"],
            event["usage_type"],
            "c" + event["event_id"],
            scaled,
            occurred,
            occurred + timedelta(seconds=3),
            None,
            "api",
            scaled // 80_000,
            "USD",
            None,
            event["event_id"][:32],
        )

    def copy(self, table: str, rows: list[tuple[Any, ...]]) -> float:
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            with Timer() as timer:
                with cursor.copy(f"COPY {table} ({COLUMNS}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                    for row in rows:
                        copy.write_row(row)
                raw.commit()
        finally:
            raw.close()
        return timer.seconds

    # -- 2. rating ----------------------------------------------------------------------------

    def rating(self, state: str) -> None:
        first = self.months[0]
        every = (self.months[0][0], self.months[self.loaded - 1][1])
        rules = {code: AggregationRule(Aggregation.SUM) for code, _ in TYPES}

        def service(window: tuple[datetime, datetime]) -> Callable[[], int]:
            def run() -> int:
                with Session(self.engine) as session:
                    repo = UsageTotalsRepository(session)
                    return len(repo.totals(PARTNER, window[0], window[1], rules))

            return run

        def query(sql: str, window: tuple[datetime, datetime]) -> Callable[[], int]:
            def run() -> int:
                with self.engine.connect() as conn:
                    return len(
                        conn.execute(text(sql), {"start": window[0], "end": window[1]}).all()
                    )

            run.sql = sql  # type: ignore[attr-defined]
            run.window = window  # type: ignore[attr-defined]
            return run

        for name, window in (("first month", first), (f"{self.loaded} month(s)", every)):
            events = self.per_month * (1 if window is first else self.loaded)
            variants = [
                ("service query (totals)", service(window)),
                ("GROUP BY, plain table", query(self.aggregate("usage_event", RAW), window)),
                ("GROUP BY, partitioned", query(self.aggregate("usage_part", RAW), window)),
                ("daily rollup", query(self.aggregate("rollup_day", ROLLED, "bucket"), window)),
                ("hourly rollup", query(self.aggregate("rollup_hour", ROLLED, "bucket"), window)),
            ]
            times = 3 if events <= 500_000 else 1  # big windows: one warm run, one timed
            seconds = {label: median(run, times) for label, run in variants}
            reference = seconds["GROUP BY, plain table"]
            for (label, value), (_, run) in zip(seconds.items(), variants, strict=True):
                read = f"{self.pages(run.sql, run.window):>9,} pages" if hasattr(run, "sql") else ""
                print(
                    f"  {state}, {name} ({events:,} events): {label:<24}"
                    f" {value * 1000:>9,.0f} ms  {reference / value:>6.2f}x plain {read}"
                )

    def pages(self, sql: str, window: tuple[datetime, datetime]) -> int:
        return pages(self.engine, sql, {"start": window[0], "end": window[1]})

    @staticmethod
    def aggregate(table: str, shape: dict[str, str], time: str = "occurred_at") -> str:
        return AGGREGATE.format(table=table, time=time, **shape)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = int(os.environ.get("BENCH_SCALING_EVENTS", 20_000_000))
    parser.add_argument("--events", type=int, default=default)
    parser.add_argument("--no-ledger", action="store_true", help="skip the trial balance part")
    parser.add_argument("--ledger-only", action="store_true", help="only the trial balance part")
    args = parser.parse_args()
    print(
        f"scaling bench (PostgreSQL): up to {args.events:,} events, {CLIENTS:,} clients x 5"
        f" types, {args.events // 4:,} events a month; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    with fresh_postgres() as engine:
        if engine is None:
            return
        sim = Simulation(engine, args.events)
        sim.setup()
        rates: dict[int, float] = {}
        for months in () if args.ledger_only else (0, 1, 2, 4):
            if months:
                sim.grow(months)
            if months:
                sim.sizes()
            size = sim.count()
            print(f"-- usage_event holds {size:,} rows (never analysed)")
            sim.inserts()
            rates[months] = sim.last_service
            if months:
                sim.rating("as loaded")
                vacuum(engine)
                sim.rating("analysed")
        if rates:
            ratio("service ingest at the largest size / empty table", rates[4], rates[0], 0.5)
        if not args.no_ledger:
            print("-- ledger")
            ledger(engine, [args.events // 20, args.events // 2], sim.months)
    goal_summary()


if __name__ == "__main__":
    main()
