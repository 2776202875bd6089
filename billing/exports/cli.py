"""`python main.py export`: invoice import files for partners without an API connection."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from billing.exports.formats import FORMATS, write_export
from billing.exports.lines import invoices_for_export
from billing.invoicing.errors import InvoicingError
from billing.tenants.errors import TenantError
from billing.tenants.service import get_partner
from config.cli_helpers import fail
from config.db import session_scope
from config.settings import get_settings

__all__ = ["export_command"]


def export_command(
    partner: Annotated[str, typer.Option("--partner", "-p", help="Partner id.")],
    fmt: Annotated[
        str, typer.Option("--format", help="quickbooks, xero or freshbooks.", case_sensitive=False)
    ],
    period: Annotated[str, typer.Option(help="Invoices of periods starting in this month.")],
    out: Annotated[
        Path | None, typer.Option(help="Directory (default <data dir>/exports/<partner>).")
    ] = None,
    account_code: Annotated[
        str, typer.Option(help="Xero revenue account code for every line.")
    ] = "200",
) -> None:
    """Write the issued (not void) invoices of a period as a CSV in the tool's invoice import
    layout, one row per line, totals to the cent."""
    layout = FORMATS.get(fmt.lower())
    if layout is None:
        raise typer.BadParameter(
            f"{fmt!r}: choose one of {', '.join(FORMATS)}", param_hint="--format"
        )
    try:
        with session_scope() as session:
            partner_id = get_partner(session, partner).id
            invoices = invoices_for_export(session, partner_id, period)
    except (InvoicingError, TenantError, ValueError) as exc:
        raise fail(exc) from exc
    directory = out or get_settings().data_dir / "exports" / partner_id
    path = directory / f"{partner_id}-{period}-{layout.file_suffix}.csv"
    rows = write_export(layout, invoices, path, account_code=account_code)
    typer.echo(f"{len(invoices)} invoices ({rows} lines) written to {path}")
