"""Rebill's command line: every job a user runs. `rebill --help` (or `python main.py --help`)
lists them. Installed, the `rebill` console script runs `run()`: a database that is down,
locked or unwritable, or an unusable secret key, is one short line on stderr and exit status 1;
`rebill --debug ...` adds the traceback."""

from __future__ import annotations

import sys
import traceback
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
from billing.portal.cli import portal_app
from billing.pricing import clients_cli  # noqa: F401 (registers `clients create`)
from billing.pricing.cli import attach, config_app, prices_app
from billing.simulation.cli import simulate_command
from billing.tenants.cli import apikeys_app, clients_app, partners_app, usage_types_app
from config.cli_errors import describe_failure, safe_database_url
from config.db import get_engine
from config.secret_key import ensure_secret_key
from connectors.connections.cli import connections_app
from demo.sync import sandbox_command
from ledger.cli import ledger_app
from migrations.runner import upgrade_to_head
from sync.cli import sync_app, worker_command
from sync.connection_check import check_command
from sync.keys.cli import secrets_app
from sync.keys.rotation import check_key_in_force
from sync.reconcile.cli import reconcile_app, wholesale_app
from sync.scheduler.cli import jobs_command, scheduler_command
from sync.stripe.cli import payment_link_command, stripe_app
from sync.webhooks_out.cli import webhooks_app

app = typer.Typer(help="Rebill: usage-based rebilling and accounting sync.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")
app.add_typer(partners_app, name="partners")
app.add_typer(clients_app, name="clients")
app.add_typer(usage_types_app, name="usage-types")
app.add_typer(apikeys_app, name="apikeys")
app.add_typer(usage_app, name="usage")
app.add_typer(config_app, name="config")
app.add_typer(prices_app, name="prices")
prices_app.command("simulate")(simulate_command)
app.command("margins")(margins_command)
ledger_app.command("retag-periods")(retag_command)
attach(usage_app, ledger_app)
app.add_typer(mail_app, name="mail")
app.add_typer(cycle_app, name="cycle")
app.add_typer(invoices_app, name="invoices")
app.add_typer(payments_app, name="payments")
app.add_typer(portal_app, name="portal")
app.command("export")(export_command)
app.add_typer(connections_app, name="connections")
connections_app.command("check")(check_command)
app.add_typer(sync_app, name="sync")
app.add_typer(webhooks_app, name="webhooks")
app.command("worker")(worker_command)
app.command("scheduler")(scheduler_command)
app.command("jobs")(jobs_command)
app.add_typer(stripe_app, name="stripe")
clients_app.command("payment-link")(payment_link_command)
app.add_typer(users_app, name="users")
app.add_typer(reconcile_app, name="reconcile")
app.add_typer(wholesale_app, name="wholesale")
app.command("sandbox")(sandbox_command)
app.add_typer(secrets_app, name="secrets")

_debug = False


@app.callback()
def options(
    *,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback when a command fails.")
    ] = False,
) -> None:
    """Rebill: usage-based rebilling and accounting sync."""
    global _debug
    _debug = debug


def run() -> None:
    """The `rebill` console script: `app` with short messages for failures a user can act on."""
    try:
        app()
    except Exception as exc:
        message = describe_failure(exc)
        if message is None:
            raise
        if _debug:
            traceback.print_exc()
        typer.echo(f"rebill: {message}", err=True)
        sys.exit(1)


@app.command()
def init() -> None:
    """Create the database, or upgrade it to the newest schema; generate the secret key into
    the data directory when REBILL_SECRET_KEY is not set and none exists yet."""
    where, created = ensure_secret_key()
    engine = get_engine()
    upgrade_to_head(engine)
    check_key_in_force(engine)
    typer.echo(f"database ready: {safe_database_url()}")
    if created:
        typer.echo(f"secret key generated: {where} (mode 0600; back it up with the database)")
    else:
        typer.echo(f"secret key: {where}")


@app.command()
def demo() -> None:
    """The main job on a demo partner: 20 clients, a month of usage, accrual, cycle close,
    review, issue, PDFs and e-mails on disk, and a summary. Safe to run again."""
    from demo.billing import PARTNER, demo_month, run_demo
    from demo.sync import run_sandbox_sync

    ensure_secret_key()
    engine = get_engine()
    upgrade_to_head(engine)
    run_demo(engine)
    run_sandbox_sync(engine, PARTNER, demo_month(datetime.now(UTC)), reconcile_after=True)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="API processes sharing the port (uvicorn workers); more than one needs "
            "PostgreSQL for throughput, see docs/deployment.md.",
        ),
    ] = 1,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="Reverse proxies whose X-Forwarded-For/-Proto are trusted (comma-separated "
            "addresses, or *); default: uvicorn's ($FORWARDED_ALLOW_IPS, else 127.0.0.1)."
        ),
    ] = None,
) -> None:
    """Run the HTTP API (uvicorn); OpenAPI at /openapi.json, docs at /docs."""
    import uvicorn

    check_key_in_force(get_engine(), tolerate_storage_fault=True)
    # Each of several workers is a fresh "spawn" process that imports the app and builds its
    # own engine; the supervisor kills a worker that has not answered its health check within
    # `timeout_worker_healthcheck` seconds. uvicorn's 5 s is less than the import takes on a
    # busy machine, and the replacement is killed the same way, for ever: allow 60 s.
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        forwarded_allow_ips=forwarded_allow_ips,
        timeout_worker_healthcheck=60,
    )


if __name__ == "__main__":
    run()
