"""`python main.py margins` and `python main.py ledger retag-periods`."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from billing.margins.render import margin_lines
from billing.margins.retag import retag_periods
from billing.margins.schemas import margins_out
from billing.margins.selection import PeriodSelection, month_selection, parse_period
from billing.margins.service import GroupBy, margins
from billing.pricing.book import local_today
from billing.tenants.errors import TenantError
from billing.tenants.service import get_partner
from config.bounds import check_day
from config.cli_helpers import AsJson, echo_json, fail
from config.db import session_scope
from config.db_types import utcnow
from ledger import trial_balance
from ledger.errors import LedgerError

__all__ = ["margins_command", "retag_command", "selection_of"]

Partner = Annotated[str, typer.Option("--partner", "-p", help="Partner id.")]


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(
            f"{value!r} is not a date such as 2026-03-01", param_hint=option
        ) from exc


def selection_of(
    period: str | None, start: date | None, end: date | None, today: date
) -> PeriodSelection:
    """`period` (a month), or `start`/`end` (days; each defaults to the month of `today`'s
    first / last day), or this month. `ValueError` names the field at fault."""
    if period is not None:
        if start is not None or end is not None:
            raise ValueError("period: give a month or from/to, not both")
        return parse_period(period)
    for value, name in ((start, "from"), (end, "to")):
        if value is not None:
            check_day(value, name)
    month = month_selection(today)
    return PeriodSelection(start or month.first, end or month.last)


def margins_command(
    partner: Partner,
    by: Annotated[str, typer.Option("--by", help="client, usage-type or period.")] = "client",
    period: Annotated[
        str | None, typer.Option("--period", help="A month, e.g. 2026-11 (default: this one).")
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="Periods starting on or after this day.")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Periods starting on or before this day.")
    ] = None,
    *,
    as_json: AsJson = False,
) -> None:
    """Charge, cost, margin and margin % per billing period (invoices net of tax + what is not
    invoiced yet); clients below the partner's alert are flagged."""
    group = by.replace("-", "_")
    if group not in ("client", "usage_type", "period"):
        raise typer.BadParameter("use client, usage-type or period", param_hint="--by")
    first, last = _day(start, "--from"), _day(end, "--to")
    try:
        with session_scope() as session:
            today = local_today(get_partner(session, partner).timezone, utcnow())
            selection = selection_of(period, first, last, today)
            grouped: GroupBy = group  # type: ignore[assignment]
            report = margins_out(margins(session, partner, selection, grouped))
    except (TenantError, ValueError) as exc:
        raise fail(exc) from exc
    if as_json:
        echo_json(report.model_dump(mode="json", by_alias=True))
        return
    for line in margin_lines(report):
        typer.echo(line)


def retag_command(
    partner: Partner,
    *,
    apply: Annotated[
        bool, typer.Option("--apply", help="Post the entries (default: a dry run).")
    ] = False,
) -> None:
    """Re-tag books posted before postings recorded their service period: reverse each such
    entry and post it again with every leg in its billing period (accruals re-dated inside
    it). Posted entries never change; running it again finds nothing to do."""
    with session_scope() as session:
        try:
            result = retag_periods(session, partner, apply=apply)
            balanced = trial_balance(session, partner).is_balanced
        except (TenantError, LedgerError, ValueError) as exc:
            session.rollback()
            raise fail(exc) from exc
        if apply and balanced:
            session.commit()
        else:
            session.rollback()
    kinds = ", ".join(
        f"{n} {kind.replace('_', ' ')}" for kind, n in sorted(result.retagged.items())
    )
    verb = "re-tagged" if apply else "to re-tag (dry run: nothing was written)"
    typer.echo(f"{partner}: {result.total} entries {verb}" + (f" ({kinds})" if kinds else ""))
    if result.redated:
        typer.echo(f"  {result.redated} accrual entries dated inside their billing period")
    for problem in result.fallbacks:
        typer.echo(f"  note: {problem}")
    typer.echo(f"  trial balance: {'balanced' if balanced else 'NOT BALANCED (nothing written)'}")
    if not result.total:
        typer.echo("  nothing to do: every revenue and cost posting has its period")
    if not balanced:
        raise typer.Exit(1)
