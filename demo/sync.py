"""The sync part of `make demo`: the demo partner's issued invoices arrive in QuickBooks Online
and Xero, here the sandbox fakes served on loopback (the real services are not reachable from
a demo machine), through the same stored connections, worker and connectors as production.

The sandbox lives as long as the demo run, so each run connects afresh: new connections are
made, the period's invoices are backfilled to them and the worker drains the outbox. The
summary compares what each sandbox holds with our invoices, to the cent. When the sandbox stops,
its connections are disconnected (their outbox rows are all done), so nothing after the demo
(the worker, the scheduler's read-back, a reconciliation) tries to reach a system that is gone;
the last lines say what still works.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

import typer
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from billing.documents import mail_backend_from_settings, send_due_emails
from billing.invoicing.models import Invoice, InvoiceStatus
from billing.tenants.models import Partner
from config.db import read_scope, session_scope
from config.db_types import utcnow
from config.money import format_minor
from config.settings import get_settings
from connectors.connections.models import Connection, ConnectionStatus
from demo.reconcile import after_demo_hint, run_demo_reconciliation
from sandbox.loopback import connect_sandbox, running_sandbox
from sync.connections import connection_summaries
from sync.remotes import registry_remote
from sync.service import backfill
from sync.worker import Worker

__all__ = ["SANDBOX_PREFIX", "run_sandbox_sync", "sandbox_command"]

SANDBOX_PREFIX = "sandbox-"
PROVIDERS = ("quickbooks", "xero")


def _retire_previous(session: Session, partner_id: str) -> int:
    """Disconnect the partner's sandbox connections (their sandboxes are gone, or going)."""
    old = session.exec(
        select(Connection).where(
            col(Connection.partner_id) == partner_id,
            col(Connection.name).startswith(SANDBOX_PREFIX),
            col(Connection.status) != ConnectionStatus.DISCONNECTED,
        )
    ).all()
    partner = session.get(Partner, partner_id)
    if partner is not None:
        kept = {
            name: table
            for name, table in (partner.settings.get("connections") or {}).items()
            if not name.startswith(SANDBOX_PREFIX)
        }
        partner.settings = {**partner.settings, "connections": kept}
        session.add(partner)
    for connection in old:
        connection.status = ConnectionStatus.DISCONNECTED
        connection.access_token_enc = connection.refresh_token_enc = None
        connection.updated_at = utcnow()
        session.add(connection)
    return len(old)


def _remote_total(provider: str, invoice: dict[str, Any]) -> Decimal:
    return Decimal(str(invoice["TotalAmt"] if provider == "quickbooks" else invoice["Total"]))


def run_sandbox_sync(
    engine: Engine,
    partner_id: str,
    period_start: date,
    say: Callable[[str], None] = typer.echo,
    *,
    reconcile_after: bool = False,
) -> dict[str, int]:
    """Connect both sandboxes, push the period's invoices, show what arrived; with
    `reconcile_after`, plant problems and reconcile (`demo.reconcile`). Returns the
    number of our invoices found exactly once with our total, per provider."""
    stamp = utcnow().strftime("%Y%m%d%H%M%S%f")
    hint: str | None = None
    with running_sandbox() as sandbox:
        with session_scope(engine) as session:
            retired = _retire_previous(session, partner_id)
            ids = [
                connect_sandbox(
                    session,
                    sandbox,
                    partner_id,
                    provider,
                    name=f"{SANDBOX_PREFIX}{provider}-{stamp}",
                ).id
                for provider in PROVIDERS
            ]
        with session_scope(engine) as session:
            queued = sum(
                backfill(session, summary, period_start)
                for summary in connection_summaries(session, connection_ids=ids)
            )
        say(
            f"6. accounting sync: sandbox QuickBooks at {sandbox.quickbooks_url} and Xero at "
            f"{sandbox.xero_url} connected ({retired} earlier sandbox connections retired); "
            f"{queued} outbox rows"
        )
        worker = Worker(engine, registry_remote(engine))
        done = dead = 0
        for _ in range(20):
            stats = worker.run_once()
            done, dead = done + stats.done, dead + stats.dead
            if stats.claimed == 0:
                break
        with read_scope(engine) as session:
            ours = session.exec(
                select(Invoice).where(
                    col(Invoice.partner_id) == partner_id,
                    col(Invoice.period_start) == period_start,
                    col(Invoice.status) != InvoiceStatus.DRAFT,
                    col(Invoice.number).is_not(None),
                )
            ).all()
        arrived: dict[str, int] = {}
        for provider in PROVIDERS:
            fake = sandbox.fake(provider)
            exact = 0
            remote_total = Decimal(0)
            for invoice in ours:
                copies = fake.invoices_by_number(str(invoice.number))
                if len(copies) == 1:
                    total = _remote_total(provider, copies[0])
                    remote_total += total
                    exact += int(total * 100 == invoice.total_minor)
            arrived[provider] = exact
            our_total = sum(invoice.total_minor for invoice in ours)
            currency = ours[0].currency if ours else "USD"
            say(
                f"   {provider:<10} {exact}/{len(ours)} invoices present once with our total; "
                f"theirs {remote_total:,.2f} vs ours {format_minor(our_total, currency)}"
            )
        say(f"   worker: {done} rows done, {dead} dead")
        if reconcile_after:
            run_id, _ = run_demo_reconciliation(engine, sandbox, partner_id, period_start, say)
            send_due_emails(engine, mail_backend_from_settings(get_settings()))
            hint = after_demo_hint(partner_id, period_start, run_id)
    with session_scope(engine) as session:
        _retire_previous(session, partner_id)
    if hint is not None:
        say(hint)
    return arrived


def sandbox_command(
    partner: Annotated[
        str | None,
        typer.Option(help="Also connect this partner to both sandboxes (replacing earlier ones)."),
    ] = None,
    quickbooks_port: Annotated[int, typer.Option(help="Loopback port of QuickBooks.")] = 8101,
    xero_port: Annotated[int, typer.Option(help="Loopback port of Xero.")] = 8102,
) -> None:
    """Serve the QuickBooks and Xero sandboxes (stateful fakes of their APIs) on loopback until
    interrupted; with --partner, store connections to them so `worker` pushes there (they are
    disconnected again when the sandboxes stop)."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with running_sandbox(quickbooks_port=quickbooks_port, xero_port=xero_port) as sandbox:
        typer.echo(
            f"QuickBooks sandbox: {sandbox.quickbooks_url} (realm {sandbox.quickbooks.realm})"
        )
        typer.echo(f"Xero sandbox:       {sandbox.xero_url} (tenant {sandbox.xero.tenant_id})")
        if partner:
            stamp = utcnow().strftime("%Y%m%d%H%M%S%f")
            with session_scope() as session:
                _retire_previous(session, partner)
                for provider in PROVIDERS:
                    connection = connect_sandbox(
                        session,
                        sandbox,
                        partner,
                        provider,
                        name=f"{SANDBOX_PREFIX}{provider}-{stamp}",
                    )
                    typer.echo(f"connected {partner} to {provider}: {connection.name}")
        typer.echo("Ctrl-C to stop (the sandboxes keep nothing).")
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    if partner:  # the sandboxes are gone: nothing may keep trying to reach them
        with session_scope() as session:
            closed = _retire_previous(session, partner)
        typer.echo(f"{closed} sandbox connection(s) of {partner} disconnected")
