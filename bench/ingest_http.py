"""`POST /v1/usage` against the same batches ingested in-process, and 2 API workers against 1.

Goal (issue 17): the HTTP path >= 0.85 of the in-process reference, on SQLite and PostgreSQL.

- HTTP: one uvicorn worker in a subprocess serving the real app (`api.app:create_app`) on
  loopback; one httpx client in this process sends the batches of 1,000 events one after the
  other (the client's own time is inside the figure, as it would be for a real sender).
- Reference: the same JSON bytes, batch by batch, through what the endpoint cannot avoid:
  `parse_batch` (bytes to the list of events the service takes), `billing.metering.ingest`
  with `EventSource.API` and no cached catalog (the endpoint loads it per request too), and
  the commit, one unit of work per batch. Not in the reference: HTTP itself, the API-key
  lookup, reading the body from the socket and building the JSON answer; that is the
  overhead the goal bounds.
- The two are interleaved in one database (the events deleted between runs), medians of
  `--rounds`. On PostgreSQL each goal runs on never-analysed tables and again after ANALYZE.
- Informative: 2 uvicorn workers (`--workers 2`) against 1, with 4 httpx clients in threads
  sending at once. On SQLite the writes serialise on the file's lock; the figure says how much
  the second process still buys on this 2-core machine (the client shares the cores).

    .venv/bin/python bench/ingest_http.py                          # SQLite, 30,000 events
    .venv/bin/python bench/ingest_http.py --database both          # and PostgreSQL
    .venv/bin/python bench/ingest_http.py --events 10000 --rounds 1  # quick run
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402

from bench._common import (  # noqa: E402
    PG_URL,
    Timer,
    analyse,
    figure,
    freeze_statistics,
    fresh_postgres,
    fresh_sqlite,
    goal_summary,
    ratio,
)
from bench._ingest_setup import TYPES as INGEST_TYPES  # noqa: E402
from bench._ingest_setup import seed as seed_partner  # noqa: E402
from billing.metering import EventSource, ingest  # noqa: E402
from billing.metering.batch_body import parse_batch  # noqa: E402
from billing.tenants import Scope, create_api_key  # noqa: E402
from config.db import session_scope  # noqa: E402
from config.secret_key import generate_key  # noqa: E402

PARTNER = "bench"
BATCH = 1_000
CONCURRENT_CLIENTS = 4
TYPES = tuple(INGEST_TYPES[:4])  # voice minutes, SMS, chats, e-mail automations
GOAL = 0.85


def batches(count: int, clients: int, seed: int = 11) -> list[bytes]:
    """`count` events as JSON arrays of `BATCH`, in the shape a platform sends."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    bodies = []
    for start in range(0, count, BATCH):
        items = []
        for _ in range(min(BATCH, count - start)):
            code, precision = TYPES[rng.randrange(len(TYPES))]
            occurred = (now - timedelta(seconds=rng.randrange(20 * 86_400))).isoformat()
            quantity = Decimal(rng.randrange(1, 100_000)).scaleb(-precision)
            items.append(
                f'{{"event_id":"{uuid.UUID(int=rng.getrandbits(128)).hex}",'
                f'"client":"client-{rng.randrange(clients):05d}","usage_type":"{code}",'
                f'"quantity":{quantity},"occurred_at":"{occurred}"}}'
            )
        bodies.append(("[" + ",".join(items) + "]").encode())
    return bodies


def seed(engine: Engine, clients: int) -> str:
    """The partner, its clients and usage types (`bench/ingest.py`'s); an ingest key."""
    seed_partner(engine, clients, len(TYPES))
    with session_scope(engine) as session:
        return create_api_key(session, PARTNER, [Scope.INGEST]).key


def clear(engine: Engine) -> None:
    """Forget the stored events, so the next run inserts the same batches again (a bench
    database only: the immutability trigger is dropped on SQLite, TRUNCATE skips PostgreSQL's)."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER IF EXISTS usage_event_no_delete"))
            conn.execute(text("DELETE FROM usage_event"))
        else:
            conn.execute(text("TRUNCATE usage_event"))


def in_process(engine: Engine, bodies: list[bytes]) -> float:
    """Seconds for the reference: parse, ingest and commit each batch."""
    accepted = 0
    with Timer() as timer:
        for body in bodies:
            with session_scope(engine) as session:
                accepted += ingest(session, PARTNER, parse_batch(body), EventSource.API).accepted
    assert accepted == sum(body.count(b'"event_id"') for body in bodies), accepted
    return timer.seconds


def _post_all(base: str, key: str, bodies: list[bytes]) -> int:
    accepted = 0
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    with httpx.Client(base_url=base, headers=headers, timeout=300) as client:
        for body in bodies:
            response = client.post("/v1/usage", content=body)
            response.raise_for_status()
            accepted += response.json()["accepted"]
    return accepted


def over_http(base: str, key: str, bodies: list[bytes], senders: int = 1) -> float:
    """Seconds to POST every batch; `senders` clients in threads split the batches."""
    shares = [bodies[n::senders] for n in range(senders)]
    with Timer() as timer:
        if senders == 1:
            accepted = _post_all(base, key, bodies)
        else:
            with ThreadPoolExecutor(senders) as pool:
                accepted = sum(pool.map(lambda share: _post_all(base, key, share), shares))
    assert accepted == sum(body.count(b'"event_id"') for body in bodies), accepted
    return timer.seconds


@contextmanager
def server(database_url: str, workers: int) -> Iterator[str]:
    """uvicorn serving the app in a subprocess, as `rebill serve` runs it; its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory"]
    command += [
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--timeout-worker-healthcheck",
        "60",
    ]
    command += ["--log-level", "warning", "--no-access-log"]
    env = {**os.environ, "REBILL_DATABASE_URL": database_url}
    env.setdefault("REBILL_SECRET_KEY", generate_key())  # a throwaway database: any key
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, workers, process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=60)


def _wait_until_up(base: str, workers: int, process: subprocess.Popen[bytes]) -> None:
    """Until the server answers; with several workers, until each has answered once (the
    first request a worker serves pays its imports' warm-up)."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited with status {process.returncode}")
        try:
            httpx.get(f"{base}/openapi.json", timeout=5)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        raise RuntimeError("uvicorn did not start")
    time.sleep(1.0 * workers)  # the supervisor starts workers one after the other
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: httpx.get(f"{base}/openapi.json", timeout=60), range(8)))


def _median(runs: list[float]) -> float:
    return statistics.median(runs)


def compare(
    label: str, engine: Engine, url: str, key: str, bodies: list[bytes], rounds: int
) -> None:
    """The goal: HTTP with one worker against the in-process reference, interleaved."""
    count = sum(body.count(b'"event_id"') for body in bodies)
    warm = bodies[:2]
    with server(url, 1) as base:
        over_http(base, key, warm)  # the worker's first requests pay imports and caches
        clear(engine)
        in_process(engine, warm)
        clear(engine)
        http_runs: list[float] = []
        reference_runs: list[float] = []
        for round_ in range(rounds):  # each goes first in turn
            first, second = (
                (reference_runs, http_runs) if round_ % 2 == 0 else (http_runs, reference_runs)
            )
            for runs in (first, second):
                if runs is reference_runs:
                    runs.append(in_process(engine, bodies))
                else:
                    runs.append(over_http(base, key, bodies))
                clear(engine)
    reference = count / _median(reference_runs)
    served = count / _median(http_runs)
    figure(f"{label}: in-process parse + ingest (reference)", reference, "events/s")
    figure(f"{label}: POST /v1/usage, 1 worker, 1 client", served, "events/s")
    ratio(f"{label}: POST /v1/usage / in-process", served, reference, GOAL)


def scale(label: str, engine: Engine, url: str, key: str, bodies: list[bytes]) -> None:
    """Informative: 2 workers against 1, each with `CONCURRENT_CLIENTS` senders at once."""
    rates = {}
    for workers in (1, 2):
        with server(url, workers) as base:
            over_http(base, key, bodies[: 2 * CONCURRENT_CLIENTS], CONCURRENT_CLIENTS)
            clear(engine)
            count = sum(body.count(b'"event_id"') for body in bodies)
            rates[workers] = count / over_http(base, key, bodies, CONCURRENT_CLIENTS)
            clear(engine)
        figure(
            f"{label}: {workers} worker(s), {CONCURRENT_CLIENTS} clients",
            rates[workers],
            "events/s",
        )
    print(f"  {label}: 2 workers / 1 worker {rates[2] / rates[1]:>22.2f}    (informative)")


def run_sqlite(bodies: list[bytes], clients: int, rounds: int, workers: bool) -> None:
    folder = Path(tempfile.mkdtemp(prefix="rebill-http-"))
    try:
        engine, path = fresh_sqlite(folder)
        key = seed(engine, clients)
        url = f"sqlite:///{path}"
        compare("SQLite", engine, url, key, bodies, rounds)
        if workers:
            scale("SQLite", engine, url, key, bodies)
        engine.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_postgres(bodies: list[bytes], clients: int, rounds: int, workers: bool) -> None:
    with fresh_postgres() as engine:
        if engine is None:
            return
        with engine.connect() as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
        key = seed(engine, clients)
        freeze_statistics(engine)
        compare("PostgreSQL never analysed", engine, url, key, bodies, rounds)
        analyse(engine)
        compare("PostgreSQL analysed", engine, url, key, bodies, rounds)
        if workers:
            scale("PostgreSQL", engine, url, key, bodies)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--clients", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=3, help="medians of this many runs")
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--skip-workers", action="store_true", help="only the goal, not 2 vs 1")
    args = parser.parse_args()
    bodies = batches(args.events, args.clients)
    gc.freeze()  # the generated input is not what the collector should be scanning
    print(
        f"POST /v1/usage bench: {args.events:,} events in batches of {BATCH:,}, "
        f"{args.clients:,} clients, medians of {args.rounds}"
    )
    workers = not args.skip_workers
    if args.database in ("sqlite", "both"):
        run_sqlite(bodies, args.clients, args.rounds, workers)
    if args.database in ("postgres", "both"):
        run_postgres(bodies, args.clients, args.rounds, workers)
    goal_summary()


if __name__ == "__main__":
    main()
