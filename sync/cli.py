"""`python main.py worker` and `python main.py sync ...`: drain the outbox, see what is pending,
failed or done, retry, resume and backfill."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import date, datetime, timedelta
from types import FrameType
from typing import Annotated

import typer
from sqlalchemy import Engine

from config.cli_helpers import AsJson, echo_json
from config.db import get_engine, session_scope
from config.db_types import utcnow
from sync import repository as repo
from sync.connections import connection_summaries
from sync.keys.rotation import check_key_in_force
from sync.service import backfill
from sync.status import status_report
from sync.worker import OpenRemote, RunStats, Worker

__all__ = ["run_workers", "sync_app", "worker_command"]

log = logging.getLogger("rebill.sync")

sync_app = typer.Typer(help="Accounting sync: the outbox and its worker.", no_args_is_help=True)

Once = Annotated[bool, typer.Option("--once", help="Drain what is due now, then exit.")]
Concurrency = Annotated[int, typer.Option(min=1, max=32, help="Worker threads in this process.")]
LeaseSeconds = Annotated[
    int,
    typer.Option(
        "--lease-seconds",
        min=5,
        max=3600,
        help="How long a claimed row stays this worker's; rows of a worker that died return "
        "to the queue after it.",
    ),
]


def _open_remote(engine: Engine) -> OpenRemote:
    from sync.remotes import registry_remote

    return registry_remote(engine)


def _charge_cards(engine: Engine, now: datetime) -> object:
    """Stripe charges due now; imported lazily so a worker without Stripe settings starts."""
    from sync.stripe import charge_due_invoices

    return charge_due_invoices(engine, now=now)


def _deliver_webhooks(engine: Engine, now: datetime) -> object:
    """Partner webhooks due now (billing.webhooks.delivery), secrets decrypted with the key
    in force."""
    from billing.webhooks.delivery import deliver_due
    from connectors.connections.crypto import cipher_from_settings

    return deliver_due(engine, cipher_from_settings(), now=now)


def run_workers(
    engine: Engine,
    open_remote: OpenRemote,
    *,
    once: bool,
    concurrency: int = 1,
    stop: threading.Event | None = None,
    lease: timedelta = timedelta(minutes=5),
) -> list[RunStats]:
    """`concurrency` workers in threads until `stop` (or, with `once`, until nothing is due).

    A worker that dies on an error stops the others after their batch, and the error is raised
    here: a crashed worker must fail the command (a non-zero exit the process manager or cron
    sees), not leave it running with fewer workers or exit 0 after a traceback. What it held is
    leased, so nothing is lost: the next run takes it over."""
    stop = stop or threading.Event()
    results: list[RunStats] = [RunStats() for _ in range(concurrency)]
    failures: list[Exception] = []

    def run(index: int) -> None:
        try:
            worker = Worker(
                engine,
                open_remote,
                lease=lease,
                charge=_charge_cards,
                webhooks=_deliver_webhooks,
            )
            if once:
                results[index] = worker.run_once(stop)
            else:
                worker.run_forever(stop)
        except Exception as exc:
            log.exception("sync worker %s stopped on an error", index)
            failures.append(exc)
            stop.set()

    threads = [
        threading.Thread(target=run, args=(i,), name=f"sync-{i}") for i in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.5)
    if failures:
        raise failures[0]
    return results


def _graceful(stop: threading.Event) -> None:
    """SIGTERM / SIGINT: finish the batch in hand, then exit (leases cover a hard kill)."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping after the current batch", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _report(results: list[RunStats]) -> None:
    done = sum(r.done for r in results)
    retried = sum(r.retried for r in results)
    dead = sum(r.dead for r in results)
    paused = sum(r.paused for r in results)
    typer.echo(f"done {done}, retrying {retried}, dead {dead}, paused {paused}")


def worker_command(
    *, once: Once = False, concurrency: Concurrency = 1, lease_seconds: LeaseSeconds = 300
) -> None:
    """Run the sync worker: push the outbox to every connected accounting system."""
    stop = threading.Event()
    _graceful(stop)
    engine = get_engine()
    check_key_in_force(engine)
    lease = timedelta(seconds=lease_seconds)
    _report(
        run_workers(
            engine,
            _open_remote(engine),
            once=once,
            concurrency=concurrency,
            stop=stop,
            lease=lease,
        )
    )


@sync_app.command("run")
def run_command(*, once: Once = False, concurrency: Concurrency = 1) -> None:
    """Drain the outbox (with --once: what is due now, then exit)."""
    worker_command(once=once, concurrency=concurrency)


@sync_app.command("status")
def status_command(
    partner: Annotated[
        str | None, typer.Option("--partner", "-p", help="Only this partner.")
    ] = None,
    *,
    as_json: AsJson = False,
) -> None:
    """Rows per connection and state, the oldest waiting row, and dead rows with their errors."""
    with session_scope() as session:
        report = status_report(session, partner)
    if as_json:
        echo_json(report)
        return
    if not report["connections"]:
        typer.echo("nothing in the outbox")
    for entry in report["connections"]:
        counts = ", ".join(f"{k} {v}" for k, v in entry["counts"].items() if v)
        name = entry["name"] or entry["connection"]
        line = f"{name} ({entry['provider']}, {entry['connection_status']}): {counts}"
        if entry["oldest_pending_seconds"] is not None:
            line += f"; oldest pending {entry['oldest_pending_seconds']}s"
        typer.echo(line)
    for row in report["dead"]:
        typer.echo(f"dead row {row['row']} {row['op']} {row['subject']}: {row['error']}")


@sync_app.command("retry")
def retry_command(
    row: Annotated[int | None, typer.Argument(help="The outbox row to retry.")] = None,
    *,
    dead: Annotated[bool, typer.Option("--dead", help="Retry every dead row.")] = False,
    connection: Annotated[
        str | None, typer.Option(help="With --dead: only this connection.")
    ] = None,
) -> None:
    """Put a dead (or paused) row, or every dead row, back in the queue with fresh attempts."""
    if (row is None) == (not dead):
        raise typer.BadParameter("give either a ROW or --dead")
    with session_scope() as session:
        count = repo.retry_rows(
            session, utcnow(), row_ids=[row] if row is not None else None, connection_id=connection
        )
    if row is not None and count == 0:
        typer.secho(
            f"row {row}: not dead or paused (nothing to retry)", fg=typer.colors.RED, err=True
        )
        raise typer.Exit(1)
    typer.echo(f"{count} row(s) queued again")


@sync_app.command("resume")
def resume_command(connection: Annotated[str, typer.Option(help="Connection id.")]) -> None:
    """Resume a connection's paused rows (the worker does it by itself after re-authorising)."""
    with session_scope() as session:
        count = repo.resume_connection(session, connection, utcnow())
    typer.echo(f"{count} row(s) resumed")


@sync_app.command("backfill")
def backfill_command(
    connection: Annotated[str, typer.Option(help="Connection id.")],
    since: Annotated[str, typer.Option(help="Invoices issued on or after this date (YYYY-MM-DD).")],
) -> None:
    """Push invoices issued before the connection was made (they are not sent by themselves)."""
    try:
        start = date.fromisoformat(since)
    except ValueError as exc:
        raise typer.BadParameter(f"--since: {since!r} is not a date (YYYY-MM-DD)") from exc
    with session_scope() as session:
        found = connection_summaries(session, connection_ids=[connection])
        if not found:
            raise typer.BadParameter(f"--connection: no connection {connection!r}")
        summary = found[0]
        count = backfill(session, summary, start)
    typer.echo(f"{count} row(s) added to the outbox")


@sync_app.command("pull-payments")
def pull_payments_command(
    connection: Annotated[
        str | None, typer.Option(help="Connection id (default: every active connection).")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Payments dated on or after (YYYY-MM-DD; 35 days ago).")
    ] = None,
    *,
    as_json: AsJson = False,
) -> None:
    """Record payments entered in the accounting tools (read-back), each once."""
    from sync.readback import pull_payments

    try:
        start = date.fromisoformat(since) if since else None
    except ValueError as exc:
        raise typer.BadParameter(f"--since: {since!r} is not a date (YYYY-MM-DD)") from exc
    engine = get_engine()
    with session_scope() as session:
        targets = connection_summaries(
            session,
            connection_ids=[connection] if connection else None,
            statuses=None if connection else ("active",),
        )
    if connection and not targets:
        raise typer.BadParameter(f"--connection: no connection {connection!r}")
    reports = []
    failed = False
    for target in targets:
        try:
            reports.append(pull_payments(engine, target.id, start))
        except Exception as exc:  # one tool down does not stop the others
            failed = True
            typer.echo(f"{target.id}: read-back failed: {exc}", err=True)
    if as_json:
        echo_json([vars(r) for r in reports])
    else:
        for r in reports:
            typer.echo(
                f"{r.connection_id}: {r.listed} listed, {r.recorded} recorded, "
                f"{r.already} already, {r.ours} ours, {len(r.unknown)} unknown, "
                f"{len(r.refused)} refused"
            )
            for line in r.unknown + r.refused:
                typer.echo(f"  {line}")
    if failed:
        raise typer.Exit(1)
