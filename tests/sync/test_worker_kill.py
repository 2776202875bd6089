"""Kill the worker with SIGKILL mid-sync while it syncs 200 invoices to QuickBooks, 20 times
over, then let one worker finish: every invoice exists exactly once remotely, with our total to
the cent.

The fake QuickBooks runs on loopback in this process, so its state outlives each killed worker;
the workers are real `python main.py worker` processes on the test database, reaching the fake
through the stored connection like any production worker. Each kill is made by the fake itself,
inside its handler of the worker's n-th request, after it applied the request and before the
worker reads the answer: so kills land at request counts (after a create the remote committed
but before the worker recorded it, between a customer and its invoice), whatever the machine's
speed. A worker that runs out of work before its n-th request is stopped once it has been idle.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from config.db_types import utcnow
from sandbox.loopback import Sandbox, connect_sandbox
from sandbox.quickbooks import FakeQuickBooks
from sandbox.server import FakeServer
from sandbox.xero import FakeXero
from sync.models import OutboxStatus
from sync.remotes import registry_remote
from sync.worker import Worker
from tests.billing.invoicing.builders import at, close_and_issue, last_month, send, setup_partner
from tests.sync.helpers import partner_toml, rows

ROOT = Path(__file__).resolve().parents[2]
INVOICES = 200
KILLS = 20
#: How long a worker may take to make its first request before the test gives up (skip).
START_BOUND_SECONDS = 300.0
#: A worker that has made no request for this long (more than its 5 s lease) has no work.
IDLE_SECONDS = 20.0


class KillingFake:
    """The fake, served as is, except that the request numbered `kill_at` (counted from when
    it was armed) ends the worker process before the answer goes out."""

    def __init__(self, fake: FakeQuickBooks) -> None:
        self.fake = fake
        self.base_url = fake.base_url
        self.worker: subprocess.Popen[bytes] | None = None
        self.kill_at = 0
        self.seen = 0
        self.killed = threading.Event()
        self.killed_after: list[tuple[str, str, int | None]] = []  # method, path, status

    def arm(self, worker: subprocess.Popen[bytes], kill_at: int) -> None:
        self.worker, self.kill_at, self.seen = worker, kill_at, 0
        self.killed.clear()

    def handle(self, request: httpx.Request) -> httpx.Response:
        response = self.fake.handle(request)
        if self.worker is not None:
            self.seen += 1
            if self.seen == self.kill_at:
                self.worker.send_signal(signal.SIGKILL)
                last = self.fake.requests[-1]
                self.killed_after.append((last.method, last.path, last.status))
                self.worker = None
                self.killed.set()
        return response


def _run_until_killed(killer: KillingFake, kill_at: int, pending: Callable[[], bool]) -> bool:
    """Start a worker, arm the fake to kill it at its `kill_at`-th request, wait. Returns
    whether the fake killed it (False: it had no work left, or none it could claim yet, and
    was stopped here). Its lease is short so the rows it held come back to the next worker
    soon after it dies."""
    worker = subprocess.Popen(
        [sys.executable, "main.py", "worker", "--lease-seconds", "5"],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    killer.arm(worker, kill_at)
    last_count, last_change = len(killer.fake.requests), time.monotonic()
    try:
        while not killer.killed.wait(0.5):
            if worker.poll() is not None:
                raise AssertionError(f"the worker exited by itself ({worker.returncode})")
            if len(killer.fake.requests) != last_count:
                last_count, last_change = len(killer.fake.requests), time.monotonic()
            elif not pending():
                return False  # nothing left to sync
            elif time.monotonic() - last_change > IDLE_SECONDS:
                return False  # waiting for the dead workers' leases; the next one goes on
        return True
    finally:
        killer.worker = None
        if worker.poll() is None:
            worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=60)


@pytest.mark.slow
def test_sigkilled_workers_never_duplicate_an_invoice(engine: Engine, session: Session) -> None:
    rng = random.Random(20261124)
    setup_partner(session, partner_toml(INVOICES))
    quickbooks = FakeQuickBooks()
    quickbooks.limits.clear()
    killer = KillingFake(quickbooks)
    with FakeServer(killer) as server:
        sandbox = Sandbox(quickbooks, FakeXero(limits=False), server.url, server.url)
        connect_sandbox(session, sandbox, "acme", "quickbooks")
        session.commit()
        month = last_month()
        send(session, [(f"v{i}", "c1", "voice", f"{i}.5", at(month, 2)) for i in range(1, 4)])
        invoices = close_and_issue(session, month)
        assert len(invoices) == INVOICES

        # The first kill comes within 8 requests: 200 invoices and their customers need
        # many times that, so the first worker surely dies mid-sync.
        def pending() -> bool:
            """Rows not done yet, or none made yet (the worker fans the events out first)."""
            with Session(engine) as fresh:
                outbox = rows(fresh)
            return not outbox or any(row.status != OutboxStatus.DONE for row in outbox)

        assert _run_until_killed(killer, rng.randint(1, 8), pending)
        assert len(quickbooks.objects("Invoice")) < INVOICES
        kills = 1 + sum(
            _run_until_killed(killer, rng.randint(1, 60), pending) for _ in range(KILLS - 1)
        )
        pushed_by_killed_workers = len(quickbooks.objects("Invoice"))

        # The last worker runs in this process with its clock past every lease the killed
        # workers held and every backoff they left behind.
        ahead = Worker(engine, registry_remote(engine), clock=lambda: utcnow() + timedelta(hours=2))
        for _ in range(30):
            stats = ahead.run_once()
            if stats.claimed == 0:
                break

        outbox = rows(session)
        assert {row.status for row in outbox} == {OutboxStatus.DONE}, [
            (row.id, row.status, row.last_error) for row in outbox if row.status != "done"
        ]
        for invoice in invoices:
            copies = quickbooks.invoices_by_number(str(invoice.number))
            assert len(copies) == 1, f"{invoice.number}: {len(copies)} copies in QuickBooks"
            assert Decimal(str(copies[0]["TotalAmt"])) * 100 == invoice.total_minor
        assert len(quickbooks.objects("Customer")) == INVOICES
    # What the test is for: kills right after the remote committed a write the worker never
    # heard back about. Kills land by request count, so this holds on any machine; should the
    # worker's request pattern change so that none does, the test says so instead of passing.
    committed_writes = [k for k in killer.killed_after if k[0] == "POST" and k[2] == 200]
    if not committed_writes or pushed_by_killed_workers == 0:
        pytest.skip(
            f"no kill landed after a committed write ({kills} kills: {killer.killed_after}); "
            "the exactly-once check above passed but did not exercise that case"
        )
