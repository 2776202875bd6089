"""`python main.py usage import|show`: load usage from CSV and read a client's period."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

from billing.metering.csv_import import DEFAULT_CHUNK, CsvFormatError, import_csv
from billing.metering.schemas import quantity_text
from billing.metering.service import DayTotal, month_bounds, summarize
from billing.tenants.errors import TenantError
from config.cli_helpers import AsJson, echo_json, fail
from config.db import session_scope
from config.money import format_minor

__all__ = ["usage_app"]

usage_app = typer.Typer(
    help="Usage events: import a CSV, show a client's month.", no_args_is_help=True
)

Partner = Annotated[str, typer.Option("--partner", "-p", help="Partner id.")]


@usage_app.command("import")
def import_command(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The CSV file.")
    ],
    partner: Partner,
    rejects: Annotated[
        Path | None, typer.Option(help="Where bad rows go (default FILE.rejects.csv).")
    ] = None,
    chunk_size: Annotated[int, typer.Option(min=1, max=100_000)] = DEFAULT_CHUNK,
    *,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Import event_id,client,usage_type,quantity,occurred_at (+ extra columns as properties).

    Safe to run again: rows already stored count as duplicates and change nothing."""
    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=quiet,
    )
    try:
        with progress:
            task = progress.add_task(f"importing {file.name}", total=file.stat().st_size)
            summary = import_csv(
                session_scope,
                partner,
                file,
                rejects_path=rejects,
                chunk_size=chunk_size,
                on_progress=lambda done, _total: progress.update(task, completed=done),
            )
    except (CsvFormatError, TenantError) as exc:
        raise fail(exc) from exc
    typer.echo(
        f"{summary.rows:,} rows in {summary.elapsed.total_seconds():.1f} s "
        f"({summary.rows_per_second:,}/s): "
        f"{summary.accepted:,} accepted, {summary.duplicates:,} duplicates, "
        f"{summary.rejected:,} rejected"
    )
    typer.echo(f"rejects: {summary.rejects_path}" + ("" if summary.rejected else " (none)"))


@usage_app.command("show")
def show_command(
    partner: Partner,
    client: Annotated[str, typer.Option("--client", "-c", help="Client id.")],
    period: Annotated[str, typer.Option(help="A month, e.g. 2026-10, in the client's time zone.")],
    *,
    as_json: AsJson = False,
) -> None:
    """A client's usage per day and usage type for one month, with totals."""
    try:
        first, last = month_bounds(period)
        with session_scope() as session:
            days = summarize(session, partner, first, last, client_id=client)
    except (ValueError, TenantError) as exc:
        raise fail(exc) from exc
    if as_json:
        echo_json(
            [
                {
                    "day": d.day.isoformat(),
                    "usage_type": d.usage_type,
                    "quantity": quantity_text(d.quantity),
                    "events": d.events,
                    "wholesale_cost": d.wholesale_cost,
                    "currency": d.currency,
                }
                for d in days
            ]
        )
        return
    typer.echo(f"Usage of {client} ({partner}) from {first} to {last}, in the client's time zone")
    typer.echo(f"  {'day':<10}  {'usage type':<22} {'quantity':>16} {'events':>8} {'cost':>14}")
    totals: dict[str, DayTotal] = {}
    for d in days:
        cost = format_minor(d.wholesale_cost, d.currency)
        typer.echo(
            f"  {d.day}  {d.usage_type:<22} {quantity_text(d.quantity):>16} {d.events:>8} {cost:>14}"
        )
        seen = totals.get(d.usage_type)
        totals[d.usage_type] = d if seen is None else seen.plus(d)
    for code, total in sorted(totals.items()):
        cost = format_minor(total.wholesale_cost, total.currency)
        typer.echo(
            f"  {'total':<10}  {code:<22} {quantity_text(total.quantity):>16} {total.events:>8} "
            f"{cost:>14}"
        )
    if not days:
        typer.echo("  (no usage)")
