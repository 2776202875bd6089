"""The sync commands: status, retry, resume, backfill, and the worker threads stopping."""

from __future__ import annotations

import json
import threading
from datetime import date

from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from sync.cli import run_workers, sync_app
from sync.connections import ConnectionSummary
from sync.handlers import Remote
from sync.models import OutboxOp, OutboxStatus
from tests.fakes.memory_connector import MemoryConnector, MemoryRemote
from tests.sync.helpers import CONNECTION, FakeMapping, connect, issue, make_worker, rows

runner = CliRunner()


def test_status_retry_and_resume(engine: Engine, session: Session) -> None:
    issue(session)
    remote = MemoryRemote()
    remote.fail_next("push_invoices", "rejected")
    make_worker(engine, remote).run_once()
    result = runner.invoke(sync_app, ["status", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    [entry] = report["connections"]
    assert entry["counts"]["dead"] == 2 and entry["connection_status"] == "active"
    assert "Account code 999" in report["dead"][0]["error"]
    text = runner.invoke(sync_app, ["status"]).output
    assert "dead 2" in text and "dead row" in text
    row_id = report["dead"][0]["row"]
    assert "1 row(s) queued" in runner.invoke(sync_app, ["retry", str(row_id)]).output
    again = runner.invoke(sync_app, ["retry", str(row_id)])
    assert again.exit_code == 1 and "nothing to retry" in again.output
    assert (
        "1 row(s) queued"
        in runner.invoke(sync_app, ["retry", "--dead", "--connection", CONNECTION]).output
    )
    assert runner.invoke(sync_app, ["retry"]).exit_code != 0
    make_worker(engine, remote).run_once()
    assert {r.status for r in rows(session)} == {OutboxStatus.DONE}
    assert (
        "0 row(s) resumed" in runner.invoke(sync_app, ["resume", "--connection", CONNECTION]).output
    )


def test_backfill_pushes_invoices_issued_before_the_connection(
    engine: Engine, session: Session
) -> None:
    invoices = issue(session)
    connect(session, connection_id="late")
    remote = MemoryRemote()
    make_worker(engine, remote).run_once()
    assert not [r for r in rows(session) if r.connection_id == "late"]  # not seen by itself
    bad = runner.invoke(sync_app, ["backfill", "--connection", "late", "--since", "nope"])
    assert bad.exit_code != 0
    since = min(i.issued_at for i in invoices).date().isoformat()  # type: ignore[union-attr]
    result = runner.invoke(sync_app, ["backfill", "--connection", "late", "--since", since])
    assert "2 row(s) added" in result.output, result.output
    assert (
        "0 row(s) added"
        in runner.invoke(sync_app, ["backfill", "--connection", "late", "--since", since]).output
    )
    late_remote = MemoryRemote()

    def open_remote(connection: ConnectionSummary) -> Remote:
        target = late_remote if connection.id == "late" else remote
        return Remote(MemoryConnector(target), FakeMapping())

    run_workers(engine, open_remote, once=True, concurrency=2)
    late = [r for r in rows(session) if r.connection_id == "late"]
    assert [r.op for r in late] == [OutboxOp.INVOICE_PUSH] * 2
    assert {r.status for r in late} == {OutboxStatus.DONE}
    assert len(late_remote.invoices) == 2 and date.today() >= date.fromisoformat(since)


def test_workers_stop_when_told(engine: Engine, session: Session) -> None:
    issue(session)
    remote = MemoryRemote()
    stop = threading.Event()

    def open_remote(connection: ConnectionSummary) -> Remote:
        return Remote(MemoryConnector(remote), FakeMapping())

    thread = threading.Thread(
        target=run_workers, args=(engine, open_remote), kwargs={"once": False, "stop": stop}
    )
    thread.start()
    for _ in range(100):
        if len(remote.invoices) == 2:
            break
        threading.Event().wait(0.1)
    stop.set()
    thread.join(10)
    assert not thread.is_alive() and len(remote.invoices) == 2
