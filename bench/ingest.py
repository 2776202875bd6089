"""Usage ingestion speed: bulk service path, replay, HTTP, CSV, against raw sqlite3.

Targets (issue 3): bulk >= 100,000 events/s on SQLite (and at least half of raw sqlite3);
replaying the same events inserts nothing and is no slower; POST /v1/usage >= 20,000 events/s
over loopback (batches of 1,000, uvicorn in a subprocess, one httpx client); CSV import
>= 50,000 rows/s; CSV peak memory flat in the file size.

    .venv/bin/python bench/ingest.py                      # 1,000,000 events (a few minutes)
    .venv/bin/python bench/ingest.py --events 100000      # quick run
    BENCH_EVENTS=100000 make bench

The generated input is moved out of the garbage collector's way (`gc.freeze`): a server
never holds a million parsed events, and without it every figure measures collector scans
of the input instead of ingestion.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, insert  # noqa: E402

from bench._common import (  # noqa: E402
    Timer,
    analyse,
    figure,
    freeze_statistics,
    fresh_postgres,
    fresh_sqlite,
    goal_summary,
    ratio,
)
from billing.metering import import_csv, ingest, load_catalog  # noqa: E402
from billing.metering.models import UsageEvent  # noqa: E402
from billing.tenants import Client, Partner, Scope, UsageType, create_api_key  # noqa: E402
from config.db import _sqlite_pragmas, create_db_engine, session_scope  # noqa: E402
from config.db_types import uuid7  # noqa: E402

PARTNER = "bench"
CHUNK = 10_000
HTTP_BATCH = 1_000
TYPES = [
    ("voice_minutes", 2),
    ("sms", 0),
    ("chat_conversations", 0),
    ("email_automations", 0),
    ("workflow_runs", 3),
    ("custom_a", 1),
    ("custom_b", 2),
    ("custom_c", 0),
]


def make_events(count: int, clients: int, types: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    events = []
    for _ in range(count):
        code, precision = TYPES[rng.randrange(types)]
        occurred = now - timedelta(seconds=rng.randrange(20 * 86_400))
        events.append(
            {
                "event_id": uuid.UUID(int=rng.getrandbits(128)).hex,
                "client": f"client-{rng.randrange(clients):05d}",
                "usage_type": code,
                "quantity": Decimal(rng.randrange(1, 100_000)).scaleb(-precision),
                "occurred_at": occurred.isoformat(),
            }
        )
    return events


def template(folder: Path, clients: int, types: int) -> Path:
    """A migrated database with the partner, its clients and usage types; copied per run."""
    engine, path = fresh_sqlite(folder)
    seed(engine, clients, types)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def copy_of(source: Path, name: str) -> Path:
    target = source.with_name(f"{name}.sqlite3")
    shutil.copyfile(source, target)
    return target


def bulk(engine: Engine, events: list[dict[str, Any]]) -> tuple[float, int, int]:
    """The service path: one unit of work per 10,000 events, the catalog reused."""
    accepted = duplicates = 0
    with session_scope(engine) as session:
        catalog = load_catalog(session, PARTNER)
    with Timer() as timer:
        for start in range(0, len(events), CHUNK):
            with session_scope(engine) as session:
                result = ingest(session, PARTNER, events[start : start + CHUNK], catalog=catalog)
            accepted += result.accepted
            duplicates += result.duplicates
    return timer.seconds, accepted, duplicates


def raw_sqlite(path: Path, engine: Engine, events: list[dict[str, Any]]) -> float:
    """The rows the service stored, re-inserted by sqlite3.executemany into a fresh copy in
    the order the service wrote them (each 10,000-event chunk sorted by event_id)."""
    columns = [c.name for c in UsageEvent.__table__.columns]  # type: ignore[attr-defined]
    with engine.connect() as conn:
        stored = conn.exec_driver_sql(f"SELECT {', '.join(columns)} FROM usage_event").fetchall()
    by_event_id = {row[4]: tuple(row) for row in stored}
    chunks = [
        sorted(
            (by_event_id[e["event_id"]] for e in events[start : start + CHUNK]), key=lambda r: r[4]
        )
        for start in range(0, len(events), CHUNK)
    ]
    sql = (
        f"INSERT INTO usage_event ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        " ON CONFLICT (partner_id, event_id) DO NOTHING"
    )
    conn = sqlite3.connect(path, isolation_level=None)
    _sqlite_pragmas(conn, None)  # exactly the application's connection settings
    with Timer() as timer:
        for rows in chunks:
            conn.execute("BEGIN")
            conn.executemany(sql, rows)
            conn.execute("COMMIT")
    conn.close()
    return timer.seconds


def minimal_table(folder: Path, events: list[dict[str, Any]]) -> float:
    """The least any idempotent store can do: an id and a unique event_id, INSERT OR IGNORE,
    in the same chunks and transactions, with the application's connection settings."""
    path = folder / "minimal.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    _sqlite_pragmas(conn, None)
    conn.execute("CREATE TABLE minimal (id INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE)")
    chunks = [
        [(e["event_id"],) for e in events[start : start + CHUNK]]
        for start in range(0, len(events), CHUNK)
    ]
    with Timer() as timer:
        for rows in chunks:
            conn.execute("BEGIN")
            conn.executemany("INSERT OR IGNORE INTO minimal (event_id) VALUES (?)", rows)
            conn.execute("COMMIT")
    conn.close()
    return timer.seconds


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


def seed(engine: Engine, clients: int, types: int, partner: str = PARTNER) -> None:
    """The partner, its clients and usage types (the template's rows, on any database)."""
    stamps = {"created_at": datetime.now(UTC), "updated_at": datetime.now(UTC)}
    with session_scope(engine) as session:
        session.execute(
            insert(Partner),
            [
                {
                    "id": partner,
                    "name": "Bench",
                    "currency": "USD",
                    "timezone": "UTC",
                    "invoice_prefix": "B",
                    "branding": {},
                    "settings": {"late_event_days": 90},
                    **stamps,
                }
            ],
        )
        session.execute(
            insert(Client),
            [
                {
                    "partner_id": partner,
                    "id": f"client-{n:05d}",
                    "name": f"Client {n}",
                    "address": {},
                    "currency": "USD",
                    "timezone": "America/New_York",
                    **stamps,
                }
                for n in range(clients)
            ],
        )
        session.execute(
            insert(UsageType),
            [
                {
                    "partner_id": partner,
                    "code": code,
                    "display_name": code,
                    "unit": "unit",
                    "precision": precision,
                    "wholesale_rate": Decimal("0.0123"),
                    "created_at": stamps["created_at"],
                }
                for code, precision in TYPES[:types]
            ],
        )


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


def http(path: Path, events: list[dict[str, Any]]) -> float:
    import httpx

    with session_scope(create_db_engine(f"sqlite:///{path}")) as session:
        key = create_api_key(session, PARTNER, [Scope.INGEST]).key
    bodies = [
        _json_batch(events[start : start + HTTP_BATCH])
        for start in range(0, len(events), HTTP_BATCH)
    ]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "REBILL_DATABASE_URL": f"sqlite:///{path}"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.app:create_app",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=120
        ) as client:
            _wait_until_up(client)
            accepted = 0
            with Timer() as timer:
                for body in bodies:
                    response = client.post(
                        "/v1/usage", content=body, headers={"Content-Type": "application/json"}
                    )
                    response.raise_for_status()
                    accepted += response.json()["accepted"]
        assert accepted == len(events), accepted
        return timer.seconds
    finally:
        server.terminate()
        server.wait(timeout=30)


def _json_batch(events: list[dict[str, Any]]) -> bytes:
    items = (
        f'{{"event_id":"{e["event_id"]}","client":"{e["client"]}","usage_type":"{e["usage_type"]}",'
        f'"quantity":{e["quantity"]},"occurred_at":"{e["occurred_at"]}"}}'
        for e in events
    )
    return ("[" + ",".join(items) + "]").encode()


def _wait_until_up(client: Any) -> None:
    for _ in range(200):
        try:
            client.get("/openapi.json")
            return
        except Exception:  # the server is still starting
            time.sleep(0.05)
    raise RuntimeError("uvicorn did not start")


def write_csv(path: Path, events: list[dict[str, Any]], repeat: int = 1) -> Path:
    with path.open("w") as handle:
        handle.write("event_id,client,usage_type,quantity,occurred_at,campaign\n")
        for copy in range(repeat):
            for e in events:
                handle.write(
                    f"{e['event_id']}{copy or ''},{e['client']},{e['usage_type']},"
                    f"{e['quantity']},{e['occurred_at']},spring\n"
                )
    return path


def csv_in_subprocess(csv_path: Path, db_path: Path) -> dict[str, float]:
    """A fresh process per file, so its peak resident memory is this import's alone."""
    out = subprocess.run(
        [sys.executable, __file__, "--csv-worker", str(csv_path), str(db_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def peak_rss_mib() -> float:
    """This process's peak resident memory. VmHWM, not ru_maxrss: Linux carries a forking
    parent's peak over into ru_maxrss, and the parent here holds a million events."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def csv_worker(csv_path: Path, db_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{db_path}")
    before = peak_rss_mib()
    summary = import_csv(lambda: session_scope(engine), PARTNER, csv_path)
    peak = peak_rss_mib()
    assert summary.rejected == 0, summary
    print(
        json.dumps(
            {
                "rows": summary.rows,
                "seconds": summary.elapsed.total_seconds(),
                "accepted": summary.accepted,
                "peak_mib": peak,
                "baseline_mib": before,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = int(os.environ.get("BENCH_EVENTS", 1_000_000))
    parser.add_argument("--events", type=int, default=default)
    parser.add_argument("--http-events", type=int, default=None, help="default: --events / 5")
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--types", type=int, default=5, choices=range(1, len(TYPES) + 1))
    parser.add_argument(
        "--big-rows", type=int, default=5_000_000, help="events already stored (growth goal)"
    )
    parser.add_argument("--growth-events", type=int, default=100_000)
    parser.add_argument("--pg-events", type=int, default=None, help="default: min(events, 100k)")
    parser.add_argument(
        "--skip",
        nargs="*",
        default=[],
        choices=["http", "csv", "growth", "postgres"],
        help="parts not to run (for quick iterations)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary databases")
    parser.add_argument("--csv-worker", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.csv_worker:
        csv_worker(*args.csv_worker)
        return
    folder = Path(tempfile.mkdtemp(prefix="rebill-ingest-"))
    try:
        run(folder, args)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    goal_summary()


def run(folder: Path, args: argparse.Namespace) -> None:
    count, clients, types = args.events, args.clients, args.types
    http_count = args.http_events or max(HTTP_BATCH, count // 5)
    print(f"ingest bench: {count:,} events, {clients:,} clients, {types} usage types (SQLite)")
    base = template(folder, clients, types)
    events = make_events(count, clients, types)
    gc.freeze()

    bulk_path = copy_of(base, "bulk")
    engine = create_db_engine(f"sqlite:///{bulk_path}")
    seconds, accepted, _ = bulk(engine, events)
    assert accepted == count, accepted
    bulk_rate = count / seconds
    replay_seconds, replay_accepted, duplicates = bulk(engine, events)
    assert (replay_accepted, duplicates) == (0, count), (replay_accepted, duplicates)
    raw_rate = count / raw_sqlite(copy_of(base, "raw"), engine, events)
    engine.dispose()
    minimal_rate = count / minimal_table(folder, events)

    figure("raw sqlite3.executemany, same schema (reference)", raw_rate, "events/s")
    figure("minimal idempotent table (reference)", minimal_rate, "events/s")
    figure("bulk ingest, service path", bulk_rate, "events/s", ">= 100,000")
    figure(
        "replay of the same events (0 inserted)",
        count / replay_seconds,
        "events/s",
        f"no slower than bulk ({bulk_rate:,.0f})",
    )
    ratio("SQLite: bulk / raw executemany, same schema", bulk_rate, raw_rate, 0.8)
    ratio("SQLite: bulk / minimal idempotent table", bulk_rate, minimal_rate, 0.3)
    if "growth" not in args.skip:
        growth(base, folder, args.big_rows, events[: args.growth_events], clients, types)
    if "postgres" not in args.skip:
        pg_events = events[: args.pg_events or min(count, 100_000)]
        for analysed in (False, True):
            postgres(pg_events, clients, types, analysed)
    if "http" not in args.skip:
        _http_and_csv(folder, base, events, http_count, "csv" not in args.skip)
    elif "csv" not in args.skip:
        _csv(folder, base, events)


def _http_and_csv(
    folder: Path, base: Path, events: list[dict[str, Any]], http_count: int, csv: bool
) -> None:
    http_seconds = http(copy_of(base, "http"), events[:http_count])
    figure(
        f"POST /v1/usage, {http_count:,} events in batches of 1,000",
        http_count / http_seconds,
        "events/s",
        ">= 20,000",
    )

    if csv:
        _csv(folder, base, events)


def _csv(folder: Path, base: Path, events: list[dict[str, Any]]) -> None:
    count = len(events)
    small, large = max(1, count // 4), count
    large_csv = write_csv(folder / "large.csv", events[:large])
    small_csv = write_csv(folder / "small.csv", events[:small])
    big = csv_in_subprocess(large_csv, copy_of(base, "csv-large"))
    little = csv_in_subprocess(small_csv, copy_of(base, "csv-small"))
    figure(f"CSV import, {large:,} rows", big["rows"] / big["seconds"], "rows/s", ">= 50,000")
    for rows, seen in ((small, little), (large, big)):
        figure(
            f"CSV import peak RSS, {rows:,} rows",
            seen["peak_mib"],
            "MiB",
            f"flat in file size ({seen['baseline_mib']:,.0f} MiB before the import)",
        )
    print(
        f"  peak RSS ratio {big['peak_mib'] / little['peak_mib']:.2f}x for {large / small:.0f}x the rows"
    )


if __name__ == "__main__":
    main()
