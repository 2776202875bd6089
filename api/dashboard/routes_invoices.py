"""Invoice review: this cycle's drafts with their margin and change from last period, approve
(and so issue) one or many, the PDF, every issued invoice (filtered by status, period, client,
payment and sync state, searched by number, 50 a page) with payment and sync status, and the
events behind each line (the dispute pack), exportable as CSV.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import FileResponse, RedirectResponse, Response, StreamingResponse
from sqlmodel import Session, col, select

from api.dashboard.invoice_filters import FILTER_NAMES, SHOWN_STATUSES, read_filters
from api.dashboard.sync_state import invoice_sync_status
from api.dashboard.web import SignedIn, check_csrf, not_found, partner_in_view, render
from billing.documents.pdf import document_path, render_invoice_pdf
from billing.invoicing.browse_repository import PaymentState, SyncState, browse_invoices
from billing.invoicing.documents import invoice_document, write_pdf
from billing.invoicing.errors import InvoicingError
from billing.invoicing.explain import LineExplanation, explain_invoice
from billing.invoicing.issuing import issue_invoices
from billing.invoicing.margin import invoice_margin
from billing.invoicing.models import ISSUED_STATES, Invoice, InvoiceStatus
from billing.invoicing.repository import InvoiceFilter, InvoiceRepository
from billing.invoicing.service import approve_invoice, list_invoices
from billing.metering.schemas import quantity_text
from billing.pricing.book import local_today
from billing.tenants.service import get_client
from config.csv_cells import safe_writer
from config.db_types import utcnow
from config.key_arrays import keyed_queries, on_postgres
from config.request_session import DbSession
from sync.stripe.models import StripeCharge

__all__ = ["router"]

PAGE = 50  # issued invoices a page shows; the rest are a link away (`before`)
OPEN = (InvoiceStatus.DRAFT, InvoiceStatus.APPROVED)


def _invoice(db: Session, partner_id: str, invoice_id: int) -> Invoice:
    found = InvoiceRepository(db).invoice(partner_id, invoice_id)
    if found is None:
        raise not_found()
    return found


@dataclass(frozen=True, slots=True)
class Change:
    """A draft against its client's previous invoice (same currency only)."""

    previous: Invoice
    delta: int | None
    percent: Decimal | None


def _change(draft: Invoice, previous: Invoice) -> Change:
    if previous.currency != draft.currency:
        return Change(previous, None, None)
    delta = draft.total_minor - previous.total_minor
    if previous.total_minor == 0:
        return Change(previous, delta, None)
    percent = (Decimal(delta) * 100 / Decimal(previous.total_minor)).quantize(Decimal("0.1"))
    return Change(previous, delta, percent)


def _previous_totals(db: Session, partner_id: str, drafts: list[Invoice]) -> dict[int, Change]:
    """Each draft against its client's invoice for the period before (issued, not voided)."""
    if not drafts:
        return {}
    since = min(d.period_start for d in drafts) - timedelta(days=62)
    earlier = [
        i
        for i in list_invoices(db, partner_id, InvoiceFilter(period_from=since))
        if i.status in ISSUED_STATES
    ]
    found: dict[int, Change] = {}
    for draft in drafts:
        candidates = [
            i
            for i in earlier
            if i.client_id == draft.client_id and i.period_start < draft.period_start
        ]
        if candidates:
            previous = max(candidates, key=lambda i: i.period_start)
            found[draft.invoice_id] = _change(draft, previous)
    return found


def _charges(db: Session, partner_id: str, invoice_ids: list[int]) -> dict[int, StripeCharge]:
    """The card charge of each invoice charged automatically through Stripe (the newest)."""
    found: dict[int, StripeCharge] = {}
    query = (
        select(StripeCharge)
        .where(col(StripeCharge.partner_id) == partner_id)
        .order_by(col(StripeCharge.id))
    )
    column = col(StripeCharge.invoice_id)
    for chunk in keyed_queries(query, column, invoice_ids, postgres=on_postgres(db)):
        for charge in db.exec(chunk):
            found[charge.invoice_id] = charge
    return found


def _line(db: Session, invoice: Invoice, position: int) -> LineExplanation:
    for line in explain_invoice(db, invoice).lines:
        if line.position == position:
            return line
    raise not_found()


def _line_csv(invoice: Invoice, line: LineExplanation) -> Iterator[str]:
    buffer = io.StringIO()
    writer = safe_writer(buffer)
    writer.writerow(
        [
            "invoice",
            "line",
            "event_id",
            "occurred_at",
            "received_at",
            "quantity",
            "share_on_line",
            "wholesale_cost_minor",
            "adjustment",
        ]
    )
    for count, event in enumerate(line.events, start=1):
        writer.writerow(
            [
                invoice.number or f"draft-{invoice.invoice_id}",
                line.position,
                event.event_id,
                event.occurred_at.isoformat(),
                event.received_at.isoformat(),
                quantity_text(event.quantity),
                "" if event.share is None else quantity_text(event.share),
                event.cost_minor,
                "yes" if event.adjustment else "no",
            ]
        )
        if count % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


router = APIRouter(prefix="/dashboard/p/{partner_id}/invoices", include_in_schema=False)


@router.get("")
def review(
    request: Request,
    partner_id: str,
    who: SignedIn,
    db: DbSession,
    issued: str | None = None,
    error: str | None = None,
    before: int | None = None,
) -> Response:
    partner = partner_in_view(db, who, partner_id)
    repo = InvoiceRepository(db)
    drafts = [i for state in OPEN for i in repo.invoices(partner.id, InvoiceFilter(status=state))]
    drafts.sort(key=lambda i: (i.period_start, i.client_id))
    form = read_filters({name: request.query_params.get(name) for name in FILTER_NAMES})
    today = local_today(partner.timezone, utcnow())
    found = browse_invoices(db, partner.id, form.where, today, before=before, limit=PAGE + 1)
    done, more = found[:PAGE], len(found) > PAGE
    return render(
        request,
        "invoices.html",
        who,
        partner,
        db=db,
        drafts=drafts,
        previous=_previous_totals(db, partner.id, drafts),
        margins={i.invoice_id: invoice_margin(i) for i in drafts},
        done=done,
        form=form,
        statuses=SHOWN_STATUSES,
        payment_states=[state.value for state in PaymentState],
        sync_states=[state.value for state in SyncState],
        next_page=form.link(before=done[-1].invoice_id) if more and done else None,
        paged=before is not None,
        sync=invoice_sync_status(db, partner.id, [i.invoice_id for i in done]),
        charges=_charges(db, partner.id, [i.invoice_id for i in done]),
        issued_message=issued,
        error=error,
    )


@router.post("/approve", dependencies=[Depends(check_csrf)])
async def approve(request: Request, partner_id: str, who: SignedIn, db: DbSession) -> Response:
    """Approve the chosen drafts and issue them (number, ledger entry, PDF, e-mail queued),
    all or nothing."""
    form = await request.form()
    try:
        ids = sorted({int(str(value)) for value in form.getlist("invoice")})
    except ValueError as exc:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "invoice: every value must be an invoice id"
        ) from exc
    base = f"/dashboard/p/{partner_id}/invoices"
    if not ids:
        return RedirectResponse(f"{base}?error=Choose+at+least+one+draft.", status_code=303)
    try:
        partner = partner_in_view(db, who, partner_id)
        for invoice_id in ids:
            _invoice(db, partner.id, invoice_id)  # 404 for anyone else's invoice
            approve_invoice(db, partner.id, invoice_id, by=f"dashboard:{who.email}")
        result = issue_invoices(db, partner.id, ids)
        numbers = ",".join(i.number or "" for i in result.invoices)
    except InvoicingError as exc:
        db.rollback()  # all or nothing: the page says why, and nothing is kept
        return RedirectResponse(f"{base}?error={_q(str(exc))}", status_code=303)
    return RedirectResponse(f"{base}?issued={_q(numbers)}", status_code=303)


@router.get("/{invoice_id}")
def invoice_page(
    request: Request, partner_id: str, invoice_id: int, who: SignedIn, db: DbSession
) -> Response:
    partner = partner_in_view(db, who, partner_id)
    invoice = _invoice(db, partner.id, invoice_id)
    lines = InvoiceRepository(db).lines([invoice.invoice_id])[invoice.invoice_id]
    return render(
        request,
        "invoice.html",
        who,
        partner,
        db=db,
        invoice=invoice,
        lines=lines,
        explanation=explain_invoice(db, invoice),
        sync=invoice_sync_status(db, partner.id, [invoice.invoice_id]),
    )


@router.get("/{invoice_id}/pdf")
def invoice_pdf(partner_id: str, invoice_id: int, who: SignedIn, db: DbSession) -> Response:
    """The issued invoice's PDF as it was sent; a draft's (or an approved one's) is a preview
    rendered now, marked as a draft, kept nowhere (it changes until it is issued)."""
    partner = partner_in_view(db, who, partner_id)
    invoice = _invoice(db, partner.id, invoice_id)
    lines = InvoiceRepository(db).lines([invoice.invoice_id])[invoice.invoice_id]
    client = get_client(db, partner.id, invoice.client_id)
    doc = invoice_document(db, partner, client, invoice, lines)
    if invoice.number is None:
        return Response(
            render_invoice_pdf(doc),
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{doc.number}.pdf"'},
        )
    path = document_path(doc)
    if not path.exists():
        path = write_pdf(doc)
    return FileResponse(path, media_type="application/pdf", filename=path.name)


@router.get("/{invoice_id}/lines/{position}")
def line_events(
    request: Request,
    partner_id: str,
    invoice_id: int,
    position: int,
    who: SignedIn,
    db: DbSession,
) -> Response:
    partner = partner_in_view(db, who, partner_id)
    invoice = _invoice(db, partner.id, invoice_id)
    line = _line(db, invoice, position)
    return render(request, "line.html", who, partner, db=db, invoice=invoice, line=line)


@router.get("/{invoice_id}/lines/{position}/events.csv")
def line_events_csv(
    partner_id: str, invoice_id: int, position: int, who: SignedIn, db: DbSession
) -> Response:
    partner = partner_in_view(db, who, partner_id)
    invoice = _invoice(db, partner.id, invoice_id)
    line = _line(db, invoice, position)
    name = f"{invoice.number or f'draft-{invoice.invoice_id}'}-line-{position}-events.csv"
    return StreamingResponse(
        _line_csv(invoice, line),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _q(text: str) -> str:
    from urllib.parse import quote_plus

    return quote_plus(text[:300])
