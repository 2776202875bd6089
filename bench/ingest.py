"""Usage ingestion speed: bulk service path, replay, HTTP, CSV, against raw sqlite3.

Targets (issue 3): bulk >= 100,000 events/s on SQLite (and at least half of raw sqlite3);
replaying the same events inserts nothing and is no slower. Issue 17: bulk >= 0.8 of raw
sqlite3 into the same schema and >= 0.3 of a minimal idempotent table (medians of three
interleaved rounds), and (bench/ingest_growth.py) ingest into a table of 5M events >= 0.5 of into an empty one. POST /v1/usage >= 20,000 events/s
over loopback (batches of 1,000, uvicorn in a subprocess, one httpx client); CSV import
>= 50,000 rows/s; CSV peak memory flat in the file size.

    .venv/bin/python bench/ingest.py                      # 1,000,000 events (a few minutes)
    .venv/bin/python bench/ingest.py --events 100000      # quick run
    .venv/bin/python bench/ingest_pg.py                   # the same goal on PostgreSQL
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
import resource
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Context, localcontext
from pathlib import Path
from statistics import median
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine  # noqa: E402

from bench._common import (  # noqa: E402
    Timer,
    figure,
    goal_summary,
    ratio,
)
from bench._ingest_setup import (  # noqa: E402
    CHUNK,
    PARTNER,
    TYPES,
    bulk,
    copy_of,
    make_events,
    template,
)
from billing.metering import import_csv, load_catalog  # noqa: E402
from billing.metering.batch_validation import clean_batch  # noqa: E402
from billing.metering.models import UsageEvent  # noqa: E402
from billing.tenants import Scope, create_api_key  # noqa: E402
from billing.tenants.repository import TenantRepository  # noqa: E402
from config.db import _sqlite_pragmas, create_db_engine, session_scope  # noqa: E402

HTTP_BATCH = 1_000
ROUNDS = 3


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
    path.unlink(missing_ok=True)
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
        "--skip",
        nargs="*",
        default=[],
        choices=["http", "csv"],
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

    bulk_rate, raw_rate, minimal_rate = sqlite_rounds(folder, base, events, count)
    with session_scope(create_db_engine(f"sqlite:///{base}")) as session:
        catalog = load_catalog(session, PARTNER)
        named = {event["client"] for event in events}
        catalog.clients.update(TenantRepository(session).client_statuses(PARTNER, named))
    validation = validation_seconds(catalog, events)
    figure("raw sqlite3.executemany, same schema (reference)", raw_rate, "events/s")
    figure("minimal idempotent table (reference)", minimal_rate, "events/s")
    figure("bulk ingest, service path", bulk_rate, "events/s", ">= 100,000")
    figure("  validation alone (clean batches, no database)", count / validation, "events/s")
    # SQLite writes in this process: validating each event and SQLite's own insert add up,
    # so no ingest that validates as this one does can be faster than this bound.
    bound = (count / raw_rate) / (count / raw_rate + validation)
    print(f"  bound on bulk / raw for in-process validation: {bound:.2f}")
    ratio("SQLite: bulk / raw executemany, same schema", bulk_rate, raw_rate, 0.8)
    ratio("SQLite: bulk / minimal idempotent table", bulk_rate, minimal_rate, 0.3)
    if "http" not in args.skip:
        _http_and_csv(folder, base, events, http_count, "csv" not in args.skip)
    elif "csv" not in args.skip:
        _csv(folder, base, events)


def sqlite_rounds(
    folder: Path, base: Path, events: list[dict[str, Any]], count: int
) -> tuple[float, float, float]:
    """Bulk, raw and minimal, interleaved over `ROUNDS` rounds on fresh copies: the medians
    (events/s). The first round also replays the events and checks nothing is added."""
    bulk_rates: list[float] = []
    raw_rates: list[float] = []
    minimal_rates: list[float] = []
    for number in range(ROUNDS):
        engine = create_db_engine(f"sqlite:///{copy_of(base, f'bulk-{number}')}")
        seconds, accepted, _ = bulk(engine, events)
        assert accepted == count, accepted
        bulk_rates.append(count / seconds)
        if number == 0:
            replay_seconds, replay_accepted, duplicates = bulk(engine, events)
            assert (replay_accepted, duplicates) == (0, count), (replay_accepted, duplicates)
            figure(
                "replay of the same events (0 inserted)",
                count / replay_seconds,
                "events/s",
                f"no slower than bulk ({count / seconds:,.0f})",
            )
        raw_rates.append(count / raw_sqlite(copy_of(base, f"raw-{number}"), engine, events))
        engine.dispose()
        minimal_rates.append(count / minimal_table(folder, events))
        for name in (f"bulk-{number}", f"raw-{number}"):
            folder.joinpath(f"{name}.sqlite3").unlink()
    print(f"  medians of {ROUNDS} interleaved rounds")
    return median(bulk_rates), median(raw_rates), median(minimal_rates)


def validation_seconds(catalog: Any, events: list[dict[str, Any]]) -> float:
    """Validating the events as ingestion's clean path does, with no database at all."""
    received_at = datetime.now(UTC)
    with Timer() as timer, localcontext(Context(prec=60)):
        for start in range(0, len(events), 2_000):
            part = events[start : start + 2_000]
            assert clean_batch(catalog, received_at, part, range(start, start + len(part)))
    return timer.seconds


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
