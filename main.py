"""Rebill's command line: every job a user runs. `python main.py --help` lists them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from api.dashboard.cli import users_app
from billing.documents.cli import mail_app
from billing.exports.cli import export_command
from billing.invoicing.cli import cycle_app, invoices_app
from billing.margins.cli import margins_command, retag_command
from billing.metering.cli import usage_app
from billing.payments.cli import payments_app
from billing.pricing.cli import attach, config_app, prices_app
from billing.tenants.cli import apikeys_app, clients_app, partners_app, usage_types_app
from config.db import get_engine
from config.settings import get_settings
from connectors.connections.cli import connections_app
from ledger.cli import ledger_app
from migrations.runner import upgrade_to_head
from sync.cli import sync_app, worker_command
from sync.demo import sandbox_command
from sync.reconcile.cli import reconcile_app, wholesale_app
from sync.scheduler.cli import jobs_command, scheduler_command
from sync.stripe.cli import payment_link_command, stripe_app

app = typer.Typer(help="Rebill: usage-based rebilling and accounting sync.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")
app.add_typer(partners_app, name="partners")
app.add_typer(clients_app, name="clients")
app.add_typer(usage_types_app, name="usage-types")
app.add_typer(apikeys_app, name="apikeys")
app.add_typer(usage_app, name="usage")
app.add_typer(config_app, name="config")
app.add_typer(prices_app, name="prices")
app.command("margins")(margins_command)
ledger_app.command("retag-periods")(retag_command)
attach(usage_app, ledger_app)
app.add_typer(mail_app, name="mail")
app.add_typer(cycle_app, name="cycle")
app.add_typer(invoices_app, name="invoices")
app.add_typer(payments_app, name="payments")
app.command("export")(export_command)
app.add_typer(connections_app, name="connections")
app.add_typer(sync_app, name="sync")
app.command("worker")(worker_command)
app.command("scheduler")(scheduler_command)
app.command("jobs")(jobs_command)
app.add_typer(stripe_app, name="stripe")
clients_app.command("payment-link")(payment_link_command)
app.add_typer(users_app, name="users")
app.add_typer(reconcile_app, name="reconcile")
app.add_typer(wholesale_app, name="wholesale")
app.command("sandbox")(sandbox_command)


@app.command()
def init() -> None:
    """Create the database, or upgrade it to the newest schema."""
    upgrade_to_head(get_engine())
    typer.echo(f"database ready: {get_settings().resolved_database_url}")


@app.command()
def demo() -> None:
    """The main job on a demo partner: 20 clients, a month of usage, accrual, cycle close,
    review, issue, PDFs and e-mails on disk, and a summary. Safe to run again."""
    from billing.invoicing.demo import PARTNER, demo_month, run_demo
    from sync.demo import run_sandbox_sync

    engine = get_engine()
    upgrade_to_head(engine)
    run_demo(engine)
    run_sandbox_sync(engine, PARTNER, demo_month(datetime.now(UTC)), reconcile_after=True)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
) -> None:
    """Run the HTTP API (uvicorn); OpenAPI at /openapi.json, docs at /docs."""
    import uvicorn

    uvicorn.run("api.app:create_app", factory=True, host=host, port=port)


if __name__ == "__main__":
    app()
