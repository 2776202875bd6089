"""`python main.py ledger ...`: read the books from the command line."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from config.cli_helpers import AsJson, echo_json, parse_as_of
from config.db import session_scope
from config.money import format_minor
from ledger.chart import open_standard_chart
from ledger.errors import LedgerError
from ledger.reports import account_balance, trial_balance
from ledger.repository import LedgerRepository
from ledger.schemas import TrialBalance

__all__ = ["ledger_app", "render_trial_balance"]

ledger_app = typer.Typer(help="The double-entry books: balances, entries, trial balance.")

Partner = Annotated[str, typer.Option("--partner", "-p", help="Partner id (tenant).")]
AsOf = Annotated[
    str | None,
    typer.Option("--as-of", help="ISO timestamp with offset, or a date (end of day UTC)."),
]


def render_trial_balance(report: TrialBalance) -> list[str]:
    """A trial balance as aligned text lines, ending with the per-currency totals."""
    lines = [f"  {'code':<20} {'account':<34} {'debit':>16} {'credit':>16}"]
    for row in report.rows:
        debit_text = format_minor(row.debit, row.currency) if row.debit else ""
        credit_text = format_minor(row.credit, row.currency) if row.credit else ""
        lines.append(
            f"  {row.account_code:<20} {row.account_name[:34]:<34} {debit_text:>16} {credit_text:>16}"
        )
    for currency, (debit, credit) in report.totals.items():
        lines.append(
            f"  {'total':<20} {currency:<34} {format_minor(debit, currency):>16} "
            f"{format_minor(credit, currency):>16}"
        )
    lines.append(f"  balanced: {'yes' if report.is_balanced else 'NO'}")
    return lines


@ledger_app.command("trial-balance")
def trial_balance_command(partner: Partner, as_of: AsOf = None, *, as_json: AsJson = False) -> None:
    """Every account's balance on its debit or credit side; each currency nets to zero."""
    with session_scope() as session:
        report = trial_balance(session, partner, parse_as_of(as_of))
    if as_json:
        echo_json(
            {
                "partner": report.partner_id,
                "as_of": report.as_of,
                "balanced": report.is_balanced,
                "rows": [
                    {
                        "code": r.account_code,
                        "name": r.account_name,
                        "type": r.account_type,
                        "currency": r.currency,
                        "debit": r.debit,
                        "credit": r.credit,
                    }
                    for r in report.rows
                ],
                "totals": {c: {"debit": d, "credit": cr} for c, (d, cr) in report.totals.items()},
            }
        )
        return
    typer.echo(f"Trial balance for {partner}" + (f" as of {report.as_of}" if report.as_of else ""))
    for line in render_trial_balance(report):
        typer.echo(line)
    if not report.is_balanced:
        raise typer.Exit(1)


@ledger_app.command("balance")
def balance_command(
    partner: Partner,
    account: Annotated[str, typer.Option("--account", help="Account code, e.g. 1200.")],
    currency: Annotated[str, typer.Option("--currency", help="ISO 4217 code.")] = "USD",
    as_of: AsOf = None,
    *,
    as_json: AsJson = False,
) -> None:
    """One account's balance (debit positive) as of a time."""
    try:
        with session_scope() as session:
            amount = account_balance(session, partner, account, currency, parse_as_of(as_of))
    except LedgerError as exc:
        raise typer.BadParameter(str(exc), param_hint="--account") from exc
    if as_json:
        echo_json({"account": account, "currency": currency, "balance": amount, "as_of": as_of})
    else:
        typer.echo(f"{account} {format_minor(amount, currency)} (debit positive)")


@ledger_app.command("entries")
def entries_command(
    partner: Partner,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    source: Annotated[str | None, typer.Option(help="Only entries of this source type.")] = None,
    *,
    as_json: AsJson = False,
) -> None:
    """The newest journal entries with their postings."""
    with session_scope() as session:
        repo = LedgerRepository(session)
        entries = repo.recent_entries(partner, limit, source)
        legs = repo.postings_of([e.entry_id for e in entries])
    by_entry: dict[object, list[dict[str, Any]]] = {}
    for posting, acct in legs:
        by_entry.setdefault(posting.entry_id, []).append(
            {
                "account": acct.code,
                "name": acct.name,
                "amount": posting.amount,
                "currency": posting.currency,
                "client": posting.client_id,
                "usage_type": posting.usage_type,
                "service_period": posting.service_period.isoformat()
                if posting.service_period
                else None,
            }
        )
    payload: list[dict[str, Any]] = [
        {
            "id": str(e.id),
            "key": e.idempotency_key,
            "effective_at": e.effective_at,
            "memo": e.memo,
            "source": f"{e.source_type}:{e.source_id or ''}",
            "reverses": str(e.reverses_entry_id) if e.reverses_entry_id else None,
            "postings": by_entry.get(e.id, []),
        }
        for e in entries
    ]
    if as_json:
        echo_json(payload)
        return
    for item in payload:
        typer.echo(f"{item['effective_at']}  {item['key']}  {item['memo']}")
        for leg in item["postings"]:
            amount = int(leg["amount"])
            side = "Dr" if amount > 0 else "   Cr"
            period = f"  period {leg['service_period']}" if leg["service_period"] else ""
            typer.echo(
                f"    {side} {leg['account']:<20} {format_minor(abs(amount), str(leg['currency']))}"
                f"{period}"
            )


@ledger_app.command("open-chart")
def open_chart_command(
    partner: Partner,
    currency: Annotated[str, typer.Option("--currency", help="ISO 4217 code.")] = "USD",
) -> None:
    """Open the standard chart of accounts for a partner and currency (idempotent)."""
    with session_scope() as session:
        opened = open_standard_chart(session, partner, currency.upper())
        for role, acct in opened.items():
            typer.echo(f"{acct.code:<8} {acct.name:<34} {acct.type:<10} {role}")
