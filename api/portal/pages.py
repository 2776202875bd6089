"""The client portal's pages, under `/portal/<token>/...` (docs/portal.md).

Every route first verifies the token (`billing.portal.verify_link`) and then reaches invoices
only through `invoice_in_scope`, so a valid link opens its own client's invoices and nothing
else. Figures come from the functions the dashboard and the API use: the document the PDF and
e-mail print (`invoice_document`, `document_view`), the stored PDF byte for byte
(`billing.invoicing.pdfs.invoice_pdf`), the events behind each line (`explain_invoice`,
`line_event_rows`), the amount due (`Invoice.amount_due_minor`) and the payment state
(`payment_state_of`). Wholesale cost and margin are never read here.

The POSTs (pay, update card) need no CSRF token: the token in the URL is the secret a
cross-site form would have to know, and both only open a Stripe page where the client acts.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from api.portal.checkout import (
    CheckoutRefusedError,
    card_link,
    card_on_file,
    charge_under_way,
    pay_link,
    stripe_of,
)
from api.portal.web import brand_of, refused_page, render, secured
from billing.documents.events_csv import line_events_csv_text
from billing.documents.render import document_view
from billing.invoicing.browse_repository import BrowseFilter, browse_invoices, payment_state_of
from billing.invoicing.documents import invoice_document
from billing.invoicing.explain import explain_invoice, line_event_rows
from billing.invoicing.models import Invoice, InvoiceStatus
from billing.invoicing.pdfs import invoice_pdf
from billing.invoicing.repository import InvoiceRepository
from billing.portal import (
    LinkExpiredError,
    PortalError,
    PortalLink,
    invoice_in_scope,
    portal_url,
    verify_link,
)
from billing.portal.renewal import renew_link
from billing.pricing.book import local_today
from billing.tenants.service import get_client, get_partner
from config.db_types import utcnow
from config.request_session import DbSession

__all__ = ["EARLIER_SHOWN", "router"]

EARLIER_SHOWN = 24  # the client's invoices listed on a page (two years of monthly invoices)

router = APIRouter(prefix="/portal", include_in_schema=False)
# No length limit here: an over-long token gets the same "not valid" page as any other
# (`billing.portal.tokens` refuses it unread).
Token = Annotated[str, Path()]


def _state(invoice: Invoice, today: date) -> str:
    """paid / due / overdue / partly_paid, or the status (void, uncollectible)."""
    found = payment_state_of(invoice, today)
    return str(found) if found is not None else str(invoice.status)


def _open(
    session: Session, token: str, invoice_id: int | None = None, *, touch: bool = True
) -> tuple[PortalLink, Invoice]:
    link = verify_link(session, token, touch=touch)
    return link, invoice_in_scope(session, link, invoice_id)


def _base(token: str) -> str:
    return f"/portal/{token}"


def _invoice_page(
    request: Request, session: Session, token: str, link: PortalLink, invoice: Invoice
) -> Response:
    partner = get_partner(session, link.partner_id)
    client = get_client(session, link.partner_id, link.client_id)
    lines = InvoiceRepository(session).lines([invoice.invoice_id])[invoice.invoice_id]
    doc = invoice_document(session, partner, client, invoice, lines)
    explanation = {line.position: line for line in explain_invoice(session, invoice).lines}
    today = local_today(partner.timezone, utcnow())
    earlier = browse_invoices(
        session,
        link.partner_id,
        BrowseFilter(client_id=link.client_id),
        today,
        limit=EARLIER_SHOWN,
    )
    account = stripe_of(session, link.partner_id)
    card = card_on_file(session, link.partner_id, link.client_id)
    charging = charge_under_way(session, invoice.invoice_id)
    payable = (
        invoice.amount_due_minor > 0
        and invoice.status not in (InvoiceStatus.VOID, InvoiceStatus.UNCOLLECTIBLE)
        and not charging
    )
    return render(
        request,
        "invoice.html",
        brand=brand_of(session, link.partner_id),
        base=_base(token),
        invoice=invoice,
        doc=doc,
        view=document_view(doc),
        explanation=explanation,
        state=_state(invoice, today),
        earlier=[(i, _state(i, today)) for i in earlier],
        payable=payable,
        charging=charging,
        stripe=account is not None,
        card=card,
        card_section=account is not None and (invoice.auto_charge or card is not None),
        checkout=request.query_params.get("checkout"),
        error=request.query_params.get("error"),
    )


@router.get("/{token}")
def first_invoice(request: Request, token: Token, db: DbSession) -> Response:
    """The invoice the link was made for. An expired link's page offers a new link by
    e-mail (`renew`)."""
    try:
        link, invoice = _open(db, token)
    except LinkExpiredError as exc:
        return refused_page(request, exc, renew=f"{_base(token)}/renew")
    except PortalError as exc:
        return refused_page(request, exc)
    return _invoice_page(request, db, token, link, invoice)


@router.post("/{token}/renew")
def renew(request: Request, token: Token, db: DbSession) -> Response:
    """Send a fresh link to the client's billing address (`billing.portal.renewal`). The
    answer is the same whatever happened."""
    renew_link(db, token)
    return render(
        request,
        "refused.html",
        title="Check your e-mail",
        text="If this link was sent to you, a new one is on its way to the billing address "
        "on file. It can take a few minutes to arrive.",
        brand=None,
    )


@router.get("/{token}/invoices/{invoice_id}")
def invoice_page(request: Request, token: Token, invoice_id: int, db: DbSession) -> Response:
    try:
        link, invoice = _open(db, token, invoice_id)
    except PortalError as exc:
        return refused_page(request, exc)
    return _invoice_page(request, db, token, link, invoice)


@router.get("/{token}/invoices/{invoice_id}/pdf")
def pdf(request: Request, token: Token, invoice_id: int, db: DbSession) -> Response:
    """The PDF the client was sent, byte for byte (the API's `invoice_pdf`)."""
    try:
        _, invoice = _open(db, token, invoice_id)
    except PortalError as exc:
        return refused_page(request, exc)
    content = invoice_pdf(db, invoice)
    headers = {"Content-Disposition": f'attachment; filename="{invoice.number}.pdf"'}
    return secured(Response(content, media_type="application/pdf", headers=headers))


@router.get("/{token}/invoices/{invoice_id}/lines/{position}")
def line_page(
    request: Request, token: Token, invoice_id: int, position: int, db: DbSession
) -> Response:
    """The usage behind one line: each event's time and its quantity on the line, and how
    they add up to the line's quantity, priced at the line's rate."""
    try:
        link, invoice = _open(db, token, invoice_id)
    except PortalError as exc:
        return refused_page(request, exc)
    found = {line.position: line for line in explain_invoice(db, invoice).lines}.get(position)
    stored = {
        line.position: line
        for line in InvoiceRepository(db).lines([invoice.invoice_id])[invoice.invoice_id]
    }
    if found is None or position not in stored:
        return refused_page(request, _not_found())
    return render(
        request,
        "line.html",
        brand=brand_of(db, link.partner_id),
        base=_base(token),
        invoice=invoice,
        line=found,
        stored=stored[position],
    )


@router.get("/{token}/invoices/{invoice_id}/lines/{position}/usage.csv")
def line_csv(
    request: Request, token: Token, invoice_id: int, position: int, db: DbSession
) -> Response:
    """One line's events, in the format of the CSV attached to the invoice e-mail."""
    try:
        _, invoice = _open(db, token, invoice_id)
    except PortalError as exc:
        return refused_page(request, exc)
    positions = {
        line.position
        for line in InvoiceRepository(db).lines([invoice.invoice_id])[invoice.invoice_id]
    }
    if position not in positions:
        return refused_page(request, _not_found())
    text = line_events_csv_text(line_event_rows(db, invoice, position))
    name = f"{invoice.number}-line-{position}-usage.csv"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return secured(Response(text, media_type="text/csv; charset=utf-8", headers=headers))


@router.post("/{token}/invoices/{invoice_id}/pay")
def pay(request: Request, token: Token, invoice_id: int, db: DbSession) -> Response:
    """To Stripe Checkout for what is still due (`api.portal.checkout.pay_link`)."""
    try:
        link, invoice = _open(db, token, invoice_id, touch=False)  # Stripe is called next
    except PortalError as exc:
        return refused_page(request, exc)
    back = f"{_base(token)}/invoices/{invoice.invoice_id}"
    account = stripe_of(db, link.partner_id)
    if (
        account is None
        or invoice.amount_due_minor <= 0
        or invoice.status
        in (
            InvoiceStatus.VOID,
            InvoiceStatus.UNCOLLECTIBLE,
        )
        or charge_under_way(db, invoice.invoice_id)
    ):
        return secured(RedirectResponse(back, status_code=303))
    absolute = f"{portal_url(token)}/invoices/{invoice.invoice_id}"  # REBILL_PUBLIC_URL
    try:
        session_link = pay_link(db, account, invoice, return_url=absolute, link_id=link.link_id)
    except CheckoutRefusedError:
        return secured(RedirectResponse(f"{back}?error=checkout", status_code=303))
    return secured(RedirectResponse(session_link.url, status_code=303))


@router.post("/{token}/card")
def update_card(request: Request, token: Token, db: DbSession) -> Response:
    """To Stripe Checkout in setup mode, to save a new card for automatic charges."""
    try:
        link, invoice = _open(db, token, touch=False)  # Stripe is called next
    except PortalError as exc:
        return refused_page(request, exc)
    back = f"{_base(token)}/invoices/{invoice.invoice_id}"
    account = stripe_of(db, link.partner_id)
    if account is None:
        return secured(RedirectResponse(back, status_code=303))
    try:
        session_link = card_link(db, account, link.partner_id, link.client_id)
    except CheckoutRefusedError:
        return secured(RedirectResponse(f"{back}?error=card", status_code=303))
    return secured(RedirectResponse(session_link.url, status_code=303))


def _not_found() -> PortalError:
    from billing.portal import PortalInvoiceNotFoundError

    return PortalInvoiceNotFoundError("no such line")
