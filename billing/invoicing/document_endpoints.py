"""`GET /v1/invoices/{key}/pdf` and `GET /v1/invoices/{key}/credit-notes/{note}/pdf`: the
documents as the client received them (`billing.invoicing.pdfs` says why they are not rendered
again).

The same rules as reading the invoice: a `read` key, its own partner's invoices only (another
partner's invoice is a 404, exactly as if it did not exist). A credit note is reached through
its invoice, as the API lists it. Its own module, beside `endpoints`, so the JSON routes and
the document routes change independently.
"""

# No `from __future__ import annotations`: FastAPI must see the route annotations as objects.
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, HTTPException, Response, status

from billing.invoicing.errors import InvalidTransitionError, InvoiceKeyError, InvoiceNotFoundError
from billing.invoicing.pdfs import (
    CreditNoteNotFoundError,
    credit_note_pdf,
    find_credit_note,
    invoice_pdf,
)
from billing.invoicing.service import get_invoice
from billing.tenants.auth import AUTH_RESPONSES, ReadKey, partner_of
from billing.tenants.endpoints import translate_errors
from billing.tenants.schemas import ErrorResponse
from config.request_session import DbSession

__all__ = ["PDF_MEDIA_TYPE", "router"]

PDF_MEDIA_TYPE = "application/pdf"

_PDF: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The PDF's bytes.",
        "content": {PDF_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    },
    400: {"model": ErrorResponse, "description": "A key that can be no invoice id or number."},
    404: {"model": ErrorResponse, "description": "No such invoice (or credit note) here."},
    409: {"model": ErrorResponse, "description": "A draft: it has no PDF until it is issued."},
}


@contextmanager
def _errors() -> Iterator[None]:
    try:
        with translate_errors():
            yield
    except (InvoiceNotFoundError, CreditNoteNotFoundError) as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except InvoiceKeyError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"key: {exc}") from exc
    except InvalidTransitionError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc


def _pdf(content: bytes, number: str) -> Response:
    headers = {
        "Content-Disposition": f'inline; filename="{number}.pdf"',
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-cache",  # an invoice's status may be stamped on it
    }
    return Response(content, media_type=PDF_MEDIA_TYPE, headers=headers)


router = APIRouter(tags=["invoices"], responses=AUTH_RESPONSES)


@router.get(
    "/v1/invoices/{key}/pdf",
    summary="An issued invoice's PDF (by id or number)",
    response_class=Response,
    responses=_PDF,
)
def invoice_pdf_route(key: str, principal: ReadKey, session: DbSession) -> Response:
    """The PDF written when the invoice was issued, byte for byte (rendered and kept once if
    it was issued without one)."""
    with _errors():
        invoice = get_invoice(session, partner_of(principal), key)
        content = invoice_pdf(session, invoice)
    assert invoice.number is not None
    return _pdf(content, invoice.number)


@router.get(
    "/v1/invoices/{key}/credit-notes/{note}/pdf",
    summary="A credit note's PDF (the note by number or id)",
    response_class=Response,
    responses=_PDF,
)
def credit_note_pdf_route(key: str, note: str, principal: ReadKey, session: DbSession) -> Response:
    """The PDF written when the credit note was issued, byte for byte."""
    with _errors():
        invoice = get_invoice(session, partner_of(principal), key)
        found = find_credit_note(session, invoice, note)
        content = credit_note_pdf(session, invoice, found)
    return _pdf(content, found.number)
