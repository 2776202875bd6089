"""Two worker processes started together on a database no worker has run on: both create the
connection's cursor in their first fan-out, and neither may die of it (issue 17: on PostgreSQL
the second INSERT INTO sync_cursor once failed with an IntegrityError).

The workers are real `worker --once` processes reaching a fake QuickBooks served on loopback in
this process. On PostgreSQL the collision is made certain by `tests.sync.cursor_race_worker`:
whichever worker inserts the cursor first keeps its transaction open until the other waits on
it (see that module), and the test checks that exactly one worker did so.
"""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from sandbox.loopback import Sandbox, connect_sandbox
from sandbox.quickbooks import FakeQuickBooks
from sandbox.server import FakeServer
from sandbox.xero import FakeXero
from sync.fanout_repository import ensure_cursor
from sync.models import OutboxOp, OutboxStatus, SyncCursor
from tests.billing.invoicing.builders import at, close_and_issue, last_month, send, setup_partner
from tests.processes import ROOT
from tests.sync.cursor_race_worker import HELD_MESSAGE
from tests.sync.helpers import partner_toml, rows

INVOICES = 12
#: Generous: the two processes start, import everything and push a dozen invoices.
WORKER_TIMEOUT_SECONDS = 600


def _start_worker() -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.sync.cursor_race_worker", "worker", "--once"],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_two_workers_starting_together_both_create_the_cursor_safely(
    engine: Engine, session: Session
) -> None:
    setup_partner(session, partner_toml(INVOICES))
    quickbooks = FakeQuickBooks()
    quickbooks.limits.clear()
    with FakeServer(quickbooks) as server:
        sandbox = Sandbox(quickbooks, FakeXero(limits=False), server.url, server.url)
        connection_id = connect_sandbox(session, sandbox, "acme", "quickbooks").id
        session.commit()
        month = last_month()
        send(session, [(f"v{i}", "c1", "voice", f"{i}.5", at(month, 2)) for i in range(1, 4)])
        invoices = close_and_issue(session, month)
        assert len(invoices) == INVOICES
        assert session.get(SyncCursor, connection_id) is None  # no worker has run yet
        session.commit()

        workers = [_start_worker(), _start_worker()]
        outputs = [worker.communicate(timeout=WORKER_TIMEOUT_SECONDS) for worker in workers]

    for worker, (out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, f"worker exited {worker.returncode}:\n{out}\n{err}"
        # A worker thread that dies leaves the process's exit status 0: read what it said.
        assert "Traceback" not in err, err
    held = sum(HELD_MESSAGE in err for _out, err in outputs)
    assert held == (1 if engine.dialect.name == "postgresql" else 0), outputs

    with Session(engine) as fresh:  # not `session`: its snapshot predates the workers
        assert fresh.get(SyncCursor, connection_id) is not None
        outbox = rows(fresh)
    pushes = [row for row in outbox if row.op == OutboxOp.INVOICE_PUSH]
    assert sorted(row.our_id for row in pushes) == sorted(str(inv.id) for inv in invoices)
    assert {row.status for row in outbox} == {OutboxStatus.DONE}, [
        (row.id, row.op, row.status, row.last_error) for row in outbox
    ]
    assert len(quickbooks.objects("Invoice")) == INVOICES
    for invoice in invoices:
        copies = quickbooks.invoices_by_number(str(invoice.number))
        assert len(copies) == 1, f"{invoice.number}: {len(copies)} copies in QuickBooks"
        assert Decimal(str(copies[0]["TotalAmt"])) * 100 == invoice.total_minor


def test_ensure_cursor_keeps_the_cursor_already_stored(session: Session) -> None:
    """The worker that lost the race takes the winner's cursor as it is, never its own start."""
    first = ensure_cursor(session, SyncCursor(connection_id="c", partner_id="p", last_event_id=7))
    session.commit()
    second = ensure_cursor(session, SyncCursor(connection_id="c", partner_id="p", last_event_id=3))
    assert (first.last_event_id, second.last_event_id) == (7, 7)
