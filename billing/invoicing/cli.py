"""`python main.py cycle close` and `python main.py invoices ...`: the reviewer's desk.

Every command is one unit of work. `--partner` may be left out when the database holds one
partner. The operator sees wholesale cost and margin (`show`, `list`, `explain`); nothing here
sends mail (issuing queues it; `python main.py mail send-pending` delivers).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from billing.invoicing.closing import close_cycles, refresh_draft
from billing.invoicing.credits import CreditRequest, create_credit_note
from billing.invoicing.cycles import parse_month
from billing.invoicing.documents import invoice_document, write_pdf
from billing.invoicing.errors import InvoicingError
from billing.invoicing.explain import explain_invoice
from billing.invoicing.issuing import issue_invoices
from billing.invoicing.models import InvoiceStatus
from billing.invoicing.render import render_explanation, render_invoice
from billing.invoicing.repository import InvoiceFilter, InvoiceRepository
from billing.invoicing.schemas import credit_note_read, explanation_read, invoice_read
from billing.invoicing.service import (
    approve_invoice,
    approve_invoices,
    get_invoice,
    list_invoices,
    mark_uncollectible,
    set_auto_approve,
    void_invoice,
)
from billing.tenants.cli import partner_for_command
from billing.tenants.errors import TenantError
from billing.tenants.service import get_client, get_partner
from config.cli_helpers import AsJson, echo_json, fail
from config.db import session_scope
from config.money import format_minor
from ledger import LedgerError

__all__ = ["cycle_app", "invoices_app"]

cycle_app = typer.Typer(
    help="Billing cycles: close the periods that are due.", no_args_is_help=True
)
invoices_app = typer.Typer(
    help="Invoices: review, approve, issue, void, credit, explain.", no_args_is_help=True
)

PartnerOpt = Annotated[
    str | None, typer.Option("--partner", "-p", help="Partner id (optional with one partner).")
]
Key = Annotated[str, typer.Argument(help="Invoice number (or id).")]


@cycle_app.command("close")
def close_command(
    partner: PartnerOpt = None,
    period: Annotated[
        str | None, typer.Option(help="Periods starting in this month, e.g. 2026-10.")
    ] = None,
    client: Annotated[str | None, typer.Option(help="Only this client.")] = None,
    *,
    as_json: AsJson = False,
) -> None:
    """Draft every due cycle (period ended + grace period); running it again creates nothing."""
    try:
        if period:
            parse_month(period)
        with session_scope() as session:
            partner_id = partner_for_command(session, partner)
            result = close_cycles(session, partner_id, period=period, client_id=client)
    except (InvoicingError, TenantError, ValueError) as exc:
        raise fail(exc) from exc
    summary = {
        "created": len(result.created),
        "auto_approved": result.auto_approved,
        "prior_period_adjustments": result.adjustments,
        "already_closed": result.already_closed,
        "not_due": [f"{c} {d}" for c, d in result.not_due],
        "nothing_to_bill": [f"{c} {d}" for c, d in result.nothing_to_bill],
    }
    if as_json:
        echo_json(summary)
        return
    typer.echo(
        f"{len(result.created)} drafts created ({result.auto_approved} auto-approved, "
        f"{result.adjustments} prior-period adjustments); {result.already_closed} already "
        f"closed; {len(result.not_due)} not due yet; {len(result.nothing_to_bill)} with "
        "nothing to bill"
    )


@invoices_app.command("list")
def list_command(
    partner: PartnerOpt = None,
    status: Annotated[InvoiceStatus | None, typer.Option(help="Only this status.")] = None,
    client: Annotated[str | None, typer.Option(help="Only this client.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 1000,
    *,
    as_json: AsJson = False,
) -> None:
    """Invoices, oldest first."""
    with session_scope() as session:
        partner_id = partner_for_command(session, partner)
        rows = list_invoices(session, partner_id, InvoiceFilter(status, client), limit=limit)
        lines = InvoiceRepository(session).lines([r.invoice_id for r in rows])
    if as_json:
        echo_json(
            [
                invoice_read(r, lines[r.invoice_id], internal=True).model_dump(mode="json")
                for r in rows
            ]
        )
        return
    for r in rows:
        typer.echo(
            f"{r.number or '(draft #' + str(r.id) + ')':<18} {r.client_id:<20} "
            f"{r.period_start} {r.status:<15} {format_minor(r.total_minor, r.currency):>16}"
        )


@invoices_app.command("show")
def show_command(key: Key, partner: PartnerOpt = None, *, as_json: AsJson = False) -> None:
    """One invoice with its lines."""
    try:
        with session_scope() as session:
            invoice = get_invoice(session, partner_for_command(session, partner), key)
            lines = InvoiceRepository(session).lines([invoice.invoice_id])[invoice.invoice_id]
    except (InvoicingError, TenantError) as exc:
        raise fail(exc) from exc
    if as_json:
        echo_json(invoice_read(invoice, lines, internal=True).model_dump(mode="json"))
        return
    for text in render_invoice(invoice, lines):
        typer.echo(text)


@invoices_app.command("refresh")
def refresh_command(key: Key, partner: PartnerOpt = None) -> None:
    """Re-rate a draft from the usage and prices there are now."""
    try:
        with session_scope() as session:
            partner_id = partner_for_command(session, partner)
            invoice = refresh_draft(
                session, partner_id, get_invoice(session, partner_id, key).invoice_id
            )
    except (InvoicingError, TenantError) as exc:
        raise fail(exc) from exc
    typer.echo(
        f"draft #{invoice.id} re-rated: {format_minor(invoice.total_minor, invoice.currency)}"
    )


@invoices_app.command("approve")
def approve_command(
    keys: Annotated[list[str] | None, typer.Argument(help="Invoice ids.")] = None,
    partner: PartnerOpt = None,
    *,
    all_drafts: Annotated[bool, typer.Option("--all", help="Every draft.")] = False,
    by: Annotated[str, typer.Option(help="Who approves (recorded).")] = "cli",
) -> None:
    """Approve reviewed drafts (they are no longer re-rated)."""
    try:
        with session_scope() as session:
            partner_id = partner_for_command(session, partner)
            if all_drafts:
                done = approve_invoices(session, partner_id, by=by)
            else:
                done = len([approve_invoice(session, partner_id, k, by=by) for k in keys or []])
    except (InvoicingError, TenantError) as exc:
        raise fail(exc) from exc
    typer.echo(f"{done} invoices approved")


@invoices_app.command("issue")
def issue_command(
    keys: Annotated[list[str] | None, typer.Argument(help="Invoice ids.")] = None,
    partner: PartnerOpt = None,
    *,
    all_approved: Annotated[bool, typer.Option("--all", help="Every approved invoice.")] = False,
    documents: Annotated[bool, typer.Option(help="Write PDFs and queue e-mails.")] = True,
    as_json: AsJson = False,
) -> None:
    """Issue approved invoices: numbers, ledger entries, PDFs and e-mails queued; one
    transaction."""
    try:
        with session_scope() as session:
            partner_id = partner_for_command(session, partner)
            chosen: list[str | int] = list(keys or [])
            if all_approved:
                chosen += InvoiceRepository(session).ids_with_status(
                    partner_id, InvoiceStatus.APPROVED
                )
            result = issue_invoices(session, partner_id, chosen, documents=documents)
    except (InvoicingError, TenantError, LedgerError) as exc:
        raise fail(exc) from exc
    if as_json:
        echo_json(
            [
                {
                    "number": i.number,
                    "client": i.client_id,
                    "total_minor": i.total_minor,
                    "currency": i.currency,
                    "due_at": i.due_at,
                }
                for i in result.invoices
            ]
        )
        return
    for invoice in result.invoices:
        typer.echo(
            f"{invoice.number}  {invoice.client_id:<20} "
            f"{format_minor(invoice.total_minor, invoice.currency):>16}  due {invoice.due_at}"
        )
    for doc in result.documents:
        where = doc.emailed_to or f"not e-mailed: {doc.not_emailed_reason}"
        typer.echo(f"  {doc.number}: {doc.pdf_path} ({where})")
    typer.echo(f"{len(result.invoices)} invoices issued")


@invoices_app.command("void")
def void_command(
    key: Key,
    reason: Annotated[str, typer.Option(help="Why (recorded and sent to remotes).")],
    partner: PartnerOpt = None,
    *,
    rebill: Annotated[bool, typer.Option(help="Draft the period again at once.")] = False,
) -> None:
    """Void an issued, unpaid invoice: its ledger entry is reversed."""
    try:
        with session_scope() as session:
            invoice, draft = void_invoice(
                session, partner_for_command(session, partner), key, reason, rebill=rebill
            )
    except (InvoicingError, TenantError, LedgerError) as exc:
        raise fail(exc) from exc
    typer.echo(f"{invoice.number} voided" + (f"; new draft #{draft}" if draft else ""))


@invoices_app.command("uncollectible")
def uncollectible_command(key: Key, partner: PartnerOpt = None) -> None:
    """Write off what is still due (Dr Bad debt / Cr Accounts receivable)."""
    try:
        with session_scope() as session:
            invoice = mark_uncollectible(session, partner_for_command(session, partner), key)
    except (InvoicingError, TenantError, LedgerError) as exc:
        raise fail(exc) from exc
    typer.echo(f"{invoice.number} marked uncollectible")


@invoices_app.command("credit")
def credit_command(
    key: Key,
    reason: Annotated[str, typer.Option(help="Printed on the credit note.")],
    partner: PartnerOpt = None,
    line: Annotated[
        list[str] | None,
        typer.Option(help="POSITION or POSITION:AMOUNT_MINOR; repeat. Omitted: the whole invoice."),
    ] = None,
    *,
    documents: Annotated[bool, typer.Option(help="Write the PDF and queue the e-mail.")] = True,
    as_json: AsJson = False,
) -> None:
    """Issue a credit note against an issued invoice."""
    requests = None
    if line:
        try:
            requests = [
                CreditRequest(int(p), int(a) if a else None)
                for p, _, a in (item.partition(":") for item in line)
            ]
        except ValueError as exc:
            raise typer.BadParameter(
                "use POSITION or POSITION:AMOUNT_MINOR", param_hint="--line"
            ) from exc
    try:
        with session_scope() as session:
            partner_id = partner_for_command(session, partner)
            issued = create_credit_note(
                session, partner_id, key, reason, lines=requests, by="cli", documents=documents
            )
            invoice = get_invoice(session, partner_id, issued.note.invoice_id)
    except (InvoicingError, TenantError, LedgerError) as exc:
        raise fail(exc) from exc
    if as_json:
        echo_json(
            credit_note_read(issued.note, issued.lines, invoice.number).model_dump(mode="json")
        )
        return
    note = issued.note
    typer.echo(
        f"{note.number} credits {format_minor(note.total_minor, note.currency)} on "
        f"{invoice.number} (now {invoice.status})"
    )


@invoices_app.command("pdf")
def pdf_command(
    key: Key,
    partner: PartnerOpt = None,
    out: Annotated[Path | None, typer.Option(help="Directory (default: documents dir).")] = None,
) -> None:
    """Render an issued invoice's PDF again."""
    try:
        with session_scope() as session:
            partner_id = partner_for_command(session, partner)
            invoice = get_invoice(session, partner_id, key)
            if invoice.number is None:
                raise InvoicingError("drafts have no PDF: issue the invoice first")
            lines = InvoiceRepository(session).lines([invoice.invoice_id])[invoice.invoice_id]
            doc = invoice_document(
                session,
                get_partner(session, partner_id),
                get_client(session, partner_id, invoice.client_id),
                invoice,
                lines,
            )
    except (InvoicingError, TenantError) as exc:
        raise fail(exc) from exc
    typer.echo(str(write_pdf(doc, out)))


@invoices_app.command("explain")
def explain_command(key: Key, partner: PartnerOpt = None, *, as_json: AsJson = False) -> None:
    """The dispute pack: every event behind each line, and that they add up to it."""
    try:
        with session_scope() as session:
            invoice = get_invoice(session, partner_for_command(session, partner), key)
            if as_json:
                echo_json(
                    explanation_read(explain_invoice(session, invoice), costs=True).model_dump(
                        mode="json"
                    )
                )
                return
            text, ok = render_explanation(session, invoice)
    except (InvoicingError, TenantError) as exc:
        raise fail(exc) from exc
    for row in text:
        typer.echo(row)
    if not ok:
        raise typer.Exit(1)


@invoices_app.command("auto-approve")
def auto_approve_command(
    client: Annotated[str, typer.Argument(help="Client id.")],
    partner: PartnerOpt = None,
    mode: Annotated[str, typer.Option(help="on, off, or inherit (the partner's setting).")] = "on",
) -> None:
    """Approve this client's drafts automatically (or never), whatever the partner's setting."""
    choices = {"on": True, "off": False, "inherit": None}
    if mode not in choices:
        raise typer.BadParameter("on, off or inherit", param_hint="--mode")
    try:
        with session_scope() as session:
            set_auto_approve(
                session, partner_for_command(session, partner), client, value=choices[mode]
            )
    except (InvoicingError, TenantError) as exc:
        raise fail(exc) from exc
    typer.echo(f"{client}: auto-approve {mode}")
