"""`serve --workers 2`: usage sent to both API processes at once is stored exactly once.

Each worker builds its own engine (uvicorn starts them with multiprocessing "spawn", so nothing
of the supervisor's engine is inherited). On SQLite both processes write to one file: ingest
takes the write lock before it reads, and within a process requests queue on a lock, so the
overlapping batches below must come out as one stored row per event and every other copy a
duplicate, whichever process or thread got there first.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import Session, col

from billing.metering import UsageEvent
from billing.tenants.models import Scope
from tests.billing.factories import event, make_key, make_partner
from tests.processes import ROOT, wait_for_http

EVENTS = 240
SENDERS = 6
BATCH = 60


def _workers_of(pid: int) -> int:
    """How many multiprocessing-spawned children `pid` has (uvicorn's worker processes)."""
    count = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                command = Path(f"/proc/{child}/cmdline").read_bytes()
            except FileNotFoundError:  # exited meanwhile
                continue
            count += b"multiprocessing" in command and b"spawn_main" in command
    return count


def _send(base: str, key: str, batches: list[list[dict[str, Any]]]) -> tuple[int, int, int]:
    """One sender with its own connection: (accepted, duplicates, rejected) over its batches."""
    totals = [0, 0, 0]
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as client:
        for batch in batches:
            response = client.post("/v1/usage", json=batch, timeout=120)
            assert response.status_code == 200, response.text
            body = response.json()
            totals[0] += body["accepted"]
            totals[1] += body["duplicates"]
            totals[2] += body["rejected"]
    return totals[0], totals[1], totals[2]


@pytest.mark.slow
def test_two_workers_store_concurrent_usage_exactly_once(session: Session) -> None:
    make_partner(session, "acme")
    key = make_key(session, "acme", Scope.INGEST)
    events = [event(f"w-{i:04d}", client=("alpha", "beta")[i % 2]) for i in range(EVENTS)]
    # Every sender sends every event, each starting at a different place, so the same events
    # are in flight in both processes at once.
    plans = []
    for sender in range(SENDERS):
        shifted = events[sender * BATCH // 2 :] + events[: sender * BATCH // 2]
        plans.append([shifted[at : at + BATCH] for at in range(0, EVENTS, BATCH)])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "main.py", "serve", "--port", str(port), "--workers", "2"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/openapi.json", server)
        deadline = time.monotonic() + 180
        while (workers := _workers_of(server.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        if workers < 2:
            pytest.skip(f"only {workers} of 2 API processes started within 180 s (machine loaded)")
        with ThreadPoolExecutor(SENDERS) as pool:
            outcomes = list(pool.map(lambda plan: _send(base, key, plan), plans))
        assert sum(o[0] for o in outcomes) == EVENTS
        assert sum(o[1] for o in outcomes) == EVENTS * (SENDERS - 1)
        assert sum(o[2] for o in outcomes) == 0
        assert _send(base, key, plans[0]) == (0, EVENTS, 0)  # a replay, reported as one
    finally:
        server.terminate()
        server.wait(timeout=120)
    stored = select(func.count(), func.count(func.distinct(col(UsageEvent.event_id))))
    assert tuple(session.execute(stored.where(col(UsageEvent.partner_id) == "acme")).one()) == (
        EVENTS,
        EVENTS,
    )
