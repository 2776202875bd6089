"""`python main.py reconcile ...` and `python main.py wholesale import ...`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from billing.tenants.repository import TenantRepository
from config.cli_helpers import AsJson
from config.db import get_engine, read_scope, session_scope
from sync.reconcile.fixes import apply_fixes
from sync.reconcile.readable import readable_report
from sync.reconcile.report import as_json, as_text, queue_report, recipients
from sync.reconcile.repository import differences_of, get_run
from sync.reconcile.service import reconcile
from sync.reconcile.wholesale import import_wholesale_bill

__all__ = ["reconcile_app", "wholesale_app"]

reconcile_app = typer.Typer(
    help="Reconcile a period across usage, books, accounting systems and the wholesale bill.",
    invoke_without_command=True,
)
wholesale_app = typer.Typer(help="The platform's actual wholesale bills.", no_args_is_help=True)


@reconcile_app.callback()
def reconcile_command(
    ctx: typer.Context,
    partner: Annotated[str | None, typer.Option(help="Partner id.")] = None,
    period: Annotated[str | None, typer.Option(help="Month, YYYY-MM.")] = None,
    *,
    email: Annotated[bool, typer.Option("--email", help="Queue the report to finance.")] = False,
    as_json_: AsJson = False,
) -> None:
    """Run a reconciliation and print its summary and differences."""
    if ctx.invoked_subcommand is not None:
        return
    if partner is None or period is None:
        raise typer.BadParameter("--partner and --period are both required")
    engine = get_engine()
    if email:  # refuse before the work, not after it
        with read_scope(engine) as session:
            found = TenantRepository(session).partner(partner)
            try:
                recipients(found) if found is not None else None
            except ValueError as exc:
                raise typer.BadParameter(str(exc)) from exc
    try:
        run_id = reconcile(engine, partner, period)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if email:
        with session_scope(engine) as session:
            run = get_run(session, run_id)
            assert run is not None
            try:
                row = queue_report(session, run)
            except ValueError as exc:
                raise typer.BadParameter(str(exc)) from exc
        typer.echo(f"report queued (outgoing e-mail {row})", err=True)
    _print(run_id, as_json_=as_json_)


def _print(run_id: int, *, as_json_: bool) -> None:
    with read_scope() as session:
        run = get_run(session, run_id)
        if run is None:
            raise typer.BadParameter(f"run: reconciliation {run_id} does not exist")
        diffs = differences_of(session, run_id)
        report = readable_report(session, run, diffs)
        text = json.dumps(as_json(run, diffs, report), indent=2) if as_json_ else as_text(report)
    typer.echo(text, nl=as_json_)


@reconcile_app.command("show")
def show_command(
    run: Annotated[int, typer.Argument(help="Reconciliation run id.")],
    *,
    as_json_: AsJson = False,
) -> None:
    """Print a stored run's report again, as it was (fixes applied since are marked)."""
    _print(run, as_json_=as_json_)


@reconcile_app.command("fix")
def fix_command(
    run: Annotated[int, typer.Argument(help="Reconciliation run id.")],
    *,
    apply: Annotated[bool, typer.Option("--apply", help="Do it (default: dry run).")] = False,
    difference: Annotated[
        list[int] | None,
        typer.Option("--difference", help="Only this difference (repeatable; default: all)."),
    ] = None,
) -> None:
    """Apply the run's safe fixes: re-push missing invoices, pull payments."""
    try:
        outcomes = apply_fixes(get_engine(), run, apply=apply, only=difference or None)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    for outcome in outcomes:
        typer.echo(f"#{outcome.difference_id} {outcome.action}: {outcome.message}")
    if not outcomes:
        typer.echo("nothing to fix")


@wholesale_app.command("import")
def import_command(
    bill: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV file.")],
    partner: Annotated[str, typer.Option(help="Partner id.")],
    period: Annotated[str, typer.Option(help="Month, YYYY-MM.")],
) -> None:
    """Import the platform's bill (usage_type,quantity,amount) for a period."""
    with session_scope() as session:
        try:
            count = import_wholesale_bill(session, partner, period, bill.read_text("utf-8"))
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
    typer.echo(f"{count} line(s) imported for {partner} {period}")
