"""`/v1/invoices` and `/v1/cycles`: review, issue and correct invoices; the dispute pack.

`read` keys list and read invoices and their usage; changing anything needs an `admin` key.
A key only ever sees its own partner's invoices: another partner's invoice is a 404, exactly as
if it did not exist. Wholesale cost and margin (`internal`, and per-event cost in the dispute
pack) are shown to admin keys only: a `read` key may sit in a client portal. Each request is
one unit of work.
"""

# No `from __future__ import annotations`: FastAPI must see the route annotations as objects.
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field
from sqlmodel import Session

from billing.idempotency.guard import idempotent
from billing.invoicing.closing import close_cycles, refresh_draft
from billing.invoicing.credits import create_credit_note
from billing.invoicing.errors import (
    InvalidCreditError,
    InvalidTransitionError,
    InvoicingError,
)
from billing.invoicing.explain import explain_invoice
from billing.invoicing.http_errors import invoice_key_errors
from billing.invoicing.issuing import issue_invoice
from billing.invoicing.models import Invoice, InvoiceStatus
from billing.invoicing.repository import InvoiceFilter, InvoiceRepository
from billing.invoicing.schemas import (
    CreditNoteIn,
    CreditNotePage,
    CreditNoteRead,
    ExplanationRead,
    InvoicePage,
    InvoiceRead,
    VoidIn,
    credit_note_read,
    explanation_read,
    invoice_read,
)
from billing.invoicing.service import approve_invoice, get_invoice, list_invoices, void_invoice
from billing.tenants.auth import AUTH_RESPONSES, AdminKey, ReadKey, partner_of
from billing.tenants.models import Scope
from billing.tenants.schemas import ErrorResponse, Principal
from config.bounds import database_id, month_days
from config.request_session import DbSession
from config.text import CheckedInput

__all__ = ["router"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "No such invoice for this key's partner."},
    409: {"model": ErrorResponse, "description": "The invoice's state does not allow it."},
}


class CloseIn(CheckedInput):
    period: str | None = Field(
        default=None, pattern=r"^\d{4}-\d{2}$", description="Periods starting in this month."
    )
    client: str | None = Field(default=None, description="Only this client.")


class CloseOut(BaseModel):
    created: list[str]
    auto_approved: int
    adjustments: int
    already_closed: int
    not_due: int
    nothing_to_bill: int


@contextmanager
def _errors() -> Iterator[None]:
    try:
        with invoice_key_errors():
            yield
    except InvalidTransitionError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except (InvalidCreditError, InvoicingError, ValueError) as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc


def _cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    after = database_id(cursor)
    if after is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "cursor: not one this API returned")
    return after


def _internal(principal: Principal) -> bool:
    return Scope.ADMIN in principal.scopes


def _read(session: Session, invoice: Invoice, principal: Principal) -> InvoiceRead:
    lines = InvoiceRepository(session).lines([invoice.invoice_id])[invoice.invoice_id]
    return invoice_read(invoice, lines, internal=_internal(principal))


router = APIRouter(tags=["invoices"], responses=AUTH_RESPONSES)


@router.get("/v1/invoices", summary="Invoices, oldest first")
def list_route(
    principal: ReadKey,
    session: DbSession,
    status_: Annotated[InvoiceStatus | None, Query(alias="status")] = None,
    client: Annotated[str | None, Query(description="Client id.")] = None,
    period: Annotated[
        str | None, Query(pattern=r"^\d{4}-\d{2}$", description="Periods starting in a month.")
    ] = None,
    cursor: Annotated[str | None, Query(description="From the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> InvoicePage:
    partner_id = partner_of(principal)
    start = end = None
    if period is not None:
        try:
            start, end = month_days(period)
        except ValueError as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    after = _cursor(cursor)
    where = InvoiceFilter(status_, client, None, start, end)
    with _errors():
        rows = list_invoices(session, partner_id, where, after=after, limit=limit + 1)
        page = rows[:limit]
        items = [_read(session, invoice, principal) for invoice in page]
    next_cursor = str(page[-1].id) if len(rows) > limit and page else None
    return InvoicePage(items=items, next_cursor=next_cursor)


@router.get("/v1/invoices/{key}", summary="One invoice (by id or number)", responses=_ERRORS)
def get_route(key: str, principal: ReadKey, session: DbSession) -> InvoiceRead:
    with _errors():
        invoice = get_invoice(session, partner_of(principal), key)
        return _read(session, invoice, principal)


@router.get(
    "/v1/invoices/{key}/usage",
    summary="The dispute pack: every event behind each line, and that they add up",
    responses=_ERRORS,
)
def usage_route(key: str, principal: ReadKey, session: DbSession) -> ExplanationRead:
    with _errors():
        invoice = get_invoice(session, partner_of(principal), key)
        return explanation_read(explain_invoice(session, invoice), costs=_internal(principal))


@router.post("/v1/invoices/{key}/refresh", summary="Re-rate a draft", responses=_ERRORS)
def refresh_route(key: str, principal: AdminKey, session: DbSession) -> InvoiceRead:
    partner_id = partner_of(principal)
    with _errors():
        invoice = get_invoice(session, partner_id, key)
        invoice = refresh_draft(session, partner_id, invoice.invoice_id)
        return _read(session, invoice, principal)


@router.post("/v1/invoices/{key}/approve", summary="Approve a draft", responses=_ERRORS)
def approve_route(key: str, principal: AdminKey, session: DbSession) -> InvoiceRead:
    partner_id = partner_of(principal)
    with _errors():
        invoice = approve_invoice(session, partner_id, key, by=f"api:{principal.key_prefix}")
        return _read(session, invoice, principal)


@router.post(
    "/v1/invoices/{key}/issue",
    summary="Issue an approved invoice: number, ledger entry, PDF and e-mail queued",
    responses=_ERRORS,
)
def issue_route(key: str, principal: AdminKey, session: DbSession) -> InvoiceRead:
    partner_id = partner_of(principal)
    with _errors():
        invoice = issue_invoice(session, partner_id, key)
        return _read(session, invoice, principal)


@router.post(
    "/v1/invoices/{key}/void",
    summary="Void an issued, unpaid invoice (reversing entry)",
    responses=_ERRORS,
)
def void_route(key: str, body: VoidIn, principal: AdminKey, session: DbSession) -> InvoiceRead:
    partner_id = partner_of(principal)
    with _errors():
        invoice, _ = void_invoice(session, partner_id, key, body.reason, rebill=body.rebill)
        return _read(session, invoice, principal)


@router.post(
    "/v1/invoices/{key}/credit-notes",
    summary="Credit an issued invoice, in full or by line",
    status_code=status.HTTP_201_CREATED,
    responses=_ERRORS,
)
@idempotent
def credit_route(
    key: str, body: CreditNoteIn, principal: AdminKey, session: DbSession
) -> CreditNoteRead:
    partner_id = partner_of(principal)
    with _errors():
        issued = create_credit_note(
            session,
            partner_id,
            key,
            body.reason,
            lines=body.requests(),
            by=f"api:{principal.key_prefix}",
        )
        invoice = get_invoice(session, partner_id, issued.note.invoice_id)
        return credit_note_read(issued.note, issued.lines, invoice.number)


@router.get(
    "/v1/invoices/{key}/credit-notes", summary="An invoice's credit notes", responses=_ERRORS
)
def credit_notes_route(key: str, principal: ReadKey, session: DbSession) -> CreditNotePage:
    partner_id = partner_of(principal)
    with _errors():
        invoice = get_invoice(session, partner_id, key)
        repo = InvoiceRepository(session)
        notes = repo.credit_notes(partner_id, invoice.invoice_id)
        lines = repo.credit_note_lines([n.id for n in notes if n.id is not None])
        items = [credit_note_read(n, lines[n.id or 0], invoice.number) for n in notes]
        return CreditNotePage(items=items)


@router.post(
    "/v1/cycles/close",
    summary="Close every due billing cycle: one draft per client and period",
)
def close_route(body: CloseIn, principal: AdminKey, session: DbSession) -> CloseOut:
    partner_id = partner_of(principal)
    with _errors():
        result = close_cycles(session, partner_id, period=body.period, client_id=body.client)
    return CloseOut(
        created=[str(i) for i in result.created],
        auto_approved=result.auto_approved,
        adjustments=result.adjustments,
        already_closed=result.already_closed,
        not_due=len(result.not_due),
        nothing_to_bill=len(result.nothing_to_bill),
    )
