"""`python main.py payments ...`: payments received outside Stripe, and what was paid.

Stripe payments arrive by webhook and accounting-tool payments by read-back; this is for the
transfer a person sees on the bank statement. Each command is one unit of work.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from billing.invoicing.errors import InvoicingError
from billing.invoicing.repository import InvoiceRepository
from billing.payments.errors import PaymentsError
from billing.payments.manual import list_payments, record_manual_payment
from billing.payments.models import PaymentMethod
from billing.payments.schemas import payment_read
from billing.tenants.cli import partner_for_command
from billing.tenants.errors import TenantError
from config.cli_helpers import AsJson, echo_json, fail
from config.db import session_scope
from config.money import format_minor
from ledger import LedgerError

__all__ = ["payments_app"]

payments_app = typer.Typer(
    help="Payments: record a bank transfer, list what was paid.", no_args_is_help=True
)

PartnerOpt = Annotated[
    str | None, typer.Option("--partner", "-p", help="Partner id (optional with one partner).")
]


@payments_app.command("record")
def record_command(
    invoice: Annotated[str, typer.Argument(help="Invoice number (or id).")],
    amount: Annotated[str, typer.Option(help="Amount in major units, e.g. 12.34.")],
    reference: Annotated[str, typer.Option(help="Bank reference; recorded once.")],
    method: Annotated[PaymentMethod, typer.Option()] = PaymentMethod.BANK_TRANSFER,
    on: Annotated[
        str | None, typer.Option("--date", help="Day received (YYYY-MM-DD); default now.")
    ] = None,
    partner: PartnerOpt = None,
) -> None:
    """Record a payment received outside Stripe against an issued invoice (Dr Bank / Cr
    Accounts receivable); entering the same reference again changes nothing."""
    try:
        day = date.fromisoformat(on) if on else None
    except ValueError as exc:
        raise typer.BadParameter(f"{on!r} is not a date (YYYY-MM-DD)", param_hint="--date") from exc
    try:
        with session_scope() as session:
            partner_id = partner_for_command(session, partner)
            payment, created = record_manual_payment(
                session,
                partner_id,
                invoice,
                amount=amount,
                reference=reference,
                method=method,
                on=day,
            )
            stored = InvoiceRepository(session).invoice(partner_id, payment.invoice_id)
            assert stored is not None
            status, due = stored.status, stored.amount_due_minor
    except (PaymentsError, InvoicingError, TenantError, LedgerError) as exc:
        raise fail(exc) from exc
    money = format_minor(payment.amount_minor, payment.currency)
    if not created:
        typer.echo(f"payment {reference} was already recorded ({money}); nothing changed")
        return
    typer.echo(
        f"payment #{payment.id} of {money} recorded on {invoice}: {status}, "
        f"{format_minor(due, payment.currency)} due"
    )


@payments_app.command("list")
def list_command(
    partner: PartnerOpt = None,
    invoice: Annotated[str | None, typer.Option(help="Only this invoice (number or id).")] = None,
    client: Annotated[str | None, typer.Option(help="Only this client.")] = None,
    *,
    as_json: AsJson = False,
) -> None:
    """Payments, oldest first, with what was refunded or disputed of each."""
    try:
        with session_scope() as session:
            partner_id = partner_for_command(session, partner)
            rows = list_payments(session, partner_id, invoice_key=invoice, client_id=client)
            repo = InvoiceRepository(session)
            numbers = {
                i.id: i.number
                for i in repo.invoices_by_id(partner_id, [r.invoice_id for r in rows])
            }
    except (PaymentsError, InvoicingError, TenantError) as exc:
        raise fail(exc) from exc
    reads = [payment_read(r, numbers.get(r.invoice_id)) for r in rows]
    if as_json:
        echo_json([r.model_dump(mode="json") for r in reads])
        return
    for r in reads:
        extra = ""
        if r.refunded_minor or r.disputed_minor:
            extra = (
                f"  refunded {format_minor(r.refunded_minor, r.currency)}, "
                f"disputed {format_minor(r.disputed_minor, r.currency)}"
            )
        typer.echo(
            f"#{r.id:<6} {r.received_at:%Y-%m-%d} {r.invoice_number or '-':<16} {r.client:<16} "
            f"{r.source:<10} {r.method:<13} {format_minor(r.amount_minor, r.currency):>14} "
            f"{r.external_id}{extra}"
        )
