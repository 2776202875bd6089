"""Kill the worker with SIGKILL at random points while it syncs 200 invoices to QuickBooks, 20
times over, then let one worker finish: every invoice exists exactly once remotely, with our
total to the cent.

The fake QuickBooks runs on loopback in this process, so its state outlives each killed worker;
the workers are real `python main.py worker` processes on the test database, reaching the fake
through the stored connection like any production worker. Kills are timed by the fake's request
count, so they land mid-sync: after a create the remote committed but before the worker
recorded it, between a customer and its invoice, inside a batch.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from config.db_types import utcnow
from sandbox.loopback import connect_sandbox, running_sandbox
from sync.models import OutboxStatus
from sync.remotes import registry_remote
from sync.worker import Worker
from tests.billing.invoicing.builders import at, close_and_issue, last_month, send, setup_partner
from tests.sync.helpers import partner_toml, rows

ROOT = Path(__file__).resolve().parents[2]
INVOICES = 200
KILLS = 20


def _kill_mid_sync(fake_requests: list[object], rng: random.Random, most: int = 60) -> int:
    """Start a worker, let it make some requests (1 to `most` once it has started, for 0.5 to
    4 s), kill it. Returns how many requests it made. Its lease is short so the rows it held
    come back to the next worker soon after it dies. Since a first create needs no lookup
    and customers are looked up once, the sync takes few requests: kills spaced 120 apart
    left the later workers nothing to do; 24 apart, none got as far as an invoice."""
    before = len(fake_requests)
    worker = subprocess.Popen(
        [sys.executable, "main.py", "worker", "--lease-seconds", "5"],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started = time.monotonic() + 20
    while len(fake_requests) == before and time.monotonic() < started:
        if worker.poll() is not None:
            break
        time.sleep(0.002)
    wanted = len(fake_requests) + rng.randint(1, most)
    deadline = time.monotonic() + rng.uniform(0.5, 4.0)
    while len(fake_requests) < wanted and time.monotonic() < deadline:
        time.sleep(0.002)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    return len(fake_requests) - before


def test_sigkilled_workers_never_duplicate_an_invoice(engine: Engine, session: Session) -> None:
    rng = random.Random(20261124)
    setup_partner(session, partner_toml(INVOICES))
    with running_sandbox(limits=False) as sandbox:
        connect_sandbox(session, sandbox, "acme", "quickbooks")
        session.commit()
        month = last_month()
        send(session, [(f"v{i}", "c1", "voice", f"{i}.5", at(month, 2)) for i in range(1, 4)])
        invoices = close_and_issue(session, month)
        assert len(invoices) == INVOICES
        fake = sandbox.quickbooks

        made = [_kill_mid_sync(fake.requests, rng, most=8)]
        # At most 8 requests: 200 invoices and their customers need several times that, so
        # the first worker surely died mid-sync.
        assert len(fake.objects("Invoice")) < INVOICES
        made += [_kill_mid_sync(fake.requests, rng) for _ in range(KILLS - 1)]
        pushed_by_killed_workers = len(fake.objects("Invoice"))

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
            copies = fake.invoices_by_number(str(invoice.number))
            assert len(copies) == 1, f"{invoice.number}: {len(copies)} copies in QuickBooks"
            assert Decimal(str(copies[0]["TotalAmt"])) * 100 == invoice.total_minor
        assert len(fake.objects("Customer")) == INVOICES
        # The killed workers pushed invoices too, not only the last one.
        assert pushed_by_killed_workers > 0, made
