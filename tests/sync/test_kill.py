"""Kill the worker with SIGKILL at random points while it syncs, restart it, many times over:
at the end every invoice exists exactly once remotely with the right total.

The QuickBooks fake is served on loopback by this process (its state outlives the workers);
each worker is a separate process on the same database. Rounds: REBILL_KILL_ROUNDS (20)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from sync.models import OutboxStatus
from tests.fakes.quickbooks import FakeQuickBooks
from tests.fakes.server import FakeServer, free_port
from tests.sync.helpers import issue, rows

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = int(os.environ.get("REBILL_KILL_ROUNDS", "20"))
INVOICES = int(os.environ.get("REBILL_KILL_INVOICES", "200"))


def _start(url: str, lease: float) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.sync.crash_worker", url, str(lease)],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_sigkill_at_random_points_never_duplicates(engine: Engine, session: Session) -> None:
    invoices = issue(session, clients=INVOICES)
    port = free_port()
    fake = FakeQuickBooks("9130357", base_url=f"http://127.0.0.1:{port}", require_auth=False)
    rng = random.Random(20)
    with FakeServer(fake, port, hang_seconds=3) as server:
        for _ in range(ROUNDS):
            process = _start(server.url, lease=1.0)
            time.sleep(rng.uniform(1.0, 4.0))
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        time.sleep(1.2)  # the last killed worker's leases run out
        process = _start(server.url, lease=30.0)
        try:
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                states = {r.status for r in rows(session)}
                if states == {OutboxStatus.DONE}:
                    break
                time.sleep(0.5)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
    assert {r.status for r in rows(session)} == {OutboxStatus.DONE}, [
        (r.status, r.last_error) for r in rows(session) if r.status is not OutboxStatus.DONE
    ][:5]
    for invoice in invoices:
        copies = fake.invoices_by_number(str(invoice.number))
        assert len(copies) == 1, invoice.number
        assert Decimal(str(copies[0]["TotalAmt"])) * 100 == invoice.total_minor
    assert len(fake.objects("Invoice")) == len(invoices)
    assert len(fake.objects("Customer")) == len(invoices)


def test_worker_processes_racing_push_each_invoice_once(engine: Engine, session: Session) -> None:
    invoices = issue(session, clients=60)
    port = free_port()
    fake = FakeQuickBooks("9130357", base_url=f"http://127.0.0.1:{port}", require_auth=False)
    with FakeServer(fake, port) as server:
        processes = [_start(server.url, lease=60.0) for _ in range(3)]
        try:
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                if {r.status for r in rows(session)} == {OutboxStatus.DONE}:
                    break
                time.sleep(0.5)
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(30)
    assert {r.status for r in rows(session)} == {OutboxStatus.DONE}
    assert len({r.locked_by for r in rows(session)}) == 1  # cleared on completion
    for invoice in invoices:
        assert len(fake.invoices_by_number(str(invoice.number))) == 1
    assert len(fake.objects("Invoice")) == len(invoices)
    sent = _created_numbers(fake)
    assert sorted(sent) == sorted(str(i.number) for i in invoices)  # no row was pushed twice


def _created_numbers(fake: FakeQuickBooks) -> list[str]:
    """DocNumbers of every invoice create sent (batched or single)."""
    numbers: list[str] = []
    for request in fake.requests_to("/batch", "POST"):
        for item in request.body.get("BatchItemRequest", []):
            if "Invoice" in item and item.get("operation") == "create":
                numbers.append(item["Invoice"]["DocNumber"])
    for request in fake.requests_to("/invoice", "POST"):
        body, params = request.body, request.params
        if isinstance(body, dict) and "DocNumber" in body and "operation" not in params:
            numbers.append(body["DocNumber"])
    return numbers
