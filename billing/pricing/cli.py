"""`config apply`, `usage current`, `ledger accrue` and `prices ...` (margins: `billing.margins`).

`usage current` and `ledger accrue` belong to groups other packages own; `attach` adds them
there so that `main.py` stays the only place that wires the command line together.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from billing.pricing.accrual import accrue
from billing.pricing.apply import apply_partner_file
from billing.pricing.book import client_period, local_today
from billing.pricing.changes import put_client_pricing
from billing.pricing.errors import InvalidPricingError
from billing.pricing.live import live_figures
from billing.pricing.models import ChangeSource
from billing.pricing.render import accrual_lines, apply_lines, change_lines, live_lines
from billing.pricing.repository import PricingRepository
from billing.pricing.schemas import ClientPricingIn, effective_prices_out, live_out
from billing.pricing.service import pricing_for
from billing.tenants.errors import TenantError
from billing.tenants.service import get_client
from config.cli_helpers import AsJson, echo_json, fail
from config.db import session_scope
from config.db_types import utcnow
from config.partner_file import PartnerFileError, load_partner_file
from config.partner_file.problems import problems_from_validation_error
from ledger.errors import LedgerError

__all__ = ["attach", "config_app", "prices_app"]

config_app = typer.Typer(help="Partner configuration files (TOML).", no_args_is_help=True)
prices_app = typer.Typer(
    help="Price books: what a client pays, the change log.", no_args_is_help=True
)

Partner = Annotated[str, typer.Option("--partner", "-p", help="Partner id.")]
ClientOpt = Annotated[str, typer.Option("--client", "-c", help="Client id.")]
OnDay = Annotated[
    str | None, typer.Option("--on", help="A date in the period (client's zone); default today.")
]


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(
            f"{value!r} is not a date such as 2026-03-01", param_hint=option
        ) from exc


@config_app.command("apply")
def apply_command(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="The partner file (.toml).")],
    *,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; write nothing.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Allow effective_from dates inside started periods.")
    ] = False,
) -> None:
    """Create or update the partner, usage types, wholesale prices, plans and clients a file
    describes, in one transaction. Nothing is applied when anything is wrong (exit code 2)."""
    try:
        partner_file = load_partner_file(file)
    except PartnerFileError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    with session_scope() as session:
        try:
            report = apply_partner_file(
                session,
                partner_file,
                utcnow(),
                reference=str(file),
                force=force,
                base_dir=file.resolve().parent,
            )
        except PartnerFileError as exc:
            session.rollback()
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from exc
        except (TenantError, LedgerError) as exc:
            session.rollback()
            raise fail(str(exc)) from exc
        if dry_run:
            session.rollback()
        else:
            session.commit()
    for line in apply_lines(report, str(file), dry_run=dry_run):
        typer.echo(line)


def usage_current_command(
    partner: Partner, client: ClientOpt, on: OnDay = None, *, as_json: AsJson = False
) -> None:
    """Period-to-date usage, charges, wholesale cost and margin, rated as the invoice will be."""
    day = _day(on, "--on")
    try:
        with session_scope() as session:
            figures = live_out(partner, live_figures(session, partner, client, utcnow(), on=day))
    except TenantError as exc:
        raise fail(str(exc)) from exc
    if as_json:
        echo_json(figures.model_dump(mode="json"))
        return
    for line in live_lines(figures):
        typer.echo(line)


def accrue_command(
    partner: Partner,
    client: Annotated[
        list[str] | None, typer.Option("--client", "-c", help="Only these clients.")
    ] = None,
    *,
    previous: Annotated[
        bool, typer.Option(help="Also the period before the open one (late events).")
    ] = True,
    as_json: AsJson = False,
) -> None:
    """Post the change in each client's period-to-date usage charge and cost to the books."""
    try:
        with session_scope() as session:
            result = accrue(
                session, partner, utcnow(), client_ids=client or None, previous=previous
            )
    except (TenantError, LedgerError) as exc:
        raise fail(str(exc)) from exc
    if as_json:
        echo_json(
            {
                "partner": partner,
                "entries": result.entries,
                "clients": sorted(result.clients),
                "charge": dict(result.charge),
                "cost": dict(result.cost),
            }
        )
        return
    for line in accrual_lines(partner, result):
        typer.echo(line)


@prices_app.command("show")
def show_prices(
    partner: Partner, client: ClientOpt, on: OnDay = None, *, as_json: AsJson = False
) -> None:
    """The prices in force for a client's period (plan, its own prices, terms, wholesale)."""
    try:
        with session_scope() as session:
            row = get_client(session, partner, client)
            period = client_period(
                row.billing_anchor_day, _day(on, "--on") or local_today(row.timezone, utcnow())
            )
            shown = effective_prices_out(
                client, period, row.currency, pricing_for(session, partner, client, period)
            )
    except TenantError as exc:
        raise fail(str(exc)) from exc
    payload = shown.model_dump(mode="json")
    if as_json:
        echo_json(payload)
        return
    typer.echo(f"{client}: {shown.plan} ({shown.currency}), period {period.start} to {period.end}")
    for key, value in payload.items():
        if key not in ("client", "period", "plan", "currency"):
            typer.echo(f"  {key}: {json.dumps(value, default=str)}")


@prices_app.command("set")
def set_prices(
    partner: Partner,
    client: ClientOpt,
    body: Annotated[
        str,
        typer.Option(
            "--json-body",
            help='JSON as for PUT /v1/clients/{id}/prices, e.g. \'{"prices": {"sms": {"model": "per_unit", "unit_price": "0.01"}}}\'.',
        ),
    ],
    *,
    force: Annotated[
        bool, typer.Option("--force", help="Allow dates inside started periods.")
    ] = False,
) -> None:
    """Change a client's plan, own plan, own prices or terms (recorded as source `cli`)."""
    try:
        raw: Any = json.loads(body)
        spec = ClientPricingIn.model_validate(raw)
    except json.JSONDecodeError as exc:
        raise fail(f"--json-body is not JSON: {exc}") from exc
    except ValidationError as exc:
        for problem in problems_from_validation_error(exc, raw):
            typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(2) from exc
    try:
        with session_scope() as session:
            changes = put_client_pricing(
                session, partner, client, spec, utcnow(), source=ChangeSource.CLI, force=force
            )
    except InvalidPricingError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    except TenantError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"{client}: " + ("updated" if changes else "no changes"))
    for line in change_lines(changes, "    "):
        typer.echo(line)


@prices_app.command("history")
def price_history(
    partner: Partner,
    key: Annotated[
        str | None, typer.Option(help="Only objects whose key starts with this.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    *,
    as_json: AsJson = False,
) -> None:
    """The change log, newest first: when, what, before and after, and from where."""
    with session_scope() as session:
        rows = PricingRepository(session).changes(partner, object_key=key, limit=limit)
    payload = [
        {
            "at": r.changed_at,
            "source": r.source.value,
            "reference": r.reference,
            "object": r.object_type,
            "key": r.object_key,
            "action": r.action,
            "effective_from": r.effective_from,
            "before": r.before,
            "after": r.after,
        }
        for r in rows
    ]
    if as_json:
        echo_json(payload)
        return
    for item in payload:
        when = f" from {item['effective_from']}" if item["effective_from"] else ""
        typer.echo(
            f"{item['at']:%Y-%m-%d %H:%M:%S} {item['source']:<4} {item['object']} {item['key']} "
            f"{item['action']}{when}"
        )


def attach(usage_app: typer.Typer, ledger_app: typer.Typer) -> None:
    """Add `usage current` and `ledger accrue` to the groups metering and the ledger own."""
    usage_app.command("current")(usage_current_command)
    ledger_app.command("accrue")(accrue_command)
