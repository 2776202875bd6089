"""`/v1/invoices/{key}/payments` and `/v1/payments`: record a payment received outside Stripe,
and list what was paid.

Recording needs an `admin` key, listing a `read` key. A key only sees its own partner's
payments; another partner's invoice is a 404. Each request is one unit of work.
"""

# No `from __future__ import annotations`: FastAPI must see the route annotations as objects.
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response, status

from billing.idempotency.guard import idempotent
from billing.invoicing.errors import InvoicingError
from billing.invoicing.http_errors import invoice_key_errors
from billing.invoicing.repository import InvoiceRepository
from billing.payments.errors import PaymentsError, PaymentStateError
from billing.payments.manual import list_payments, record_manual_payment
from billing.payments.schemas import PaymentIn, PaymentPage, PaymentRead, payment_read
from billing.tenants.auth import AUTH_RESPONSES, AdminKey, ReadKey, partner_of
from billing.tenants.schemas import ErrorResponse
from config.bounds import database_id
from config.request_session import DbSession

__all__ = ["router"]

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Bad input, overpayment or a replay conflict."},
    404: {"model": ErrorResponse, "description": "No such invoice for this key's partner."},
    409: {"model": ErrorResponse, "description": "The invoice takes no payments (draft, void)."},
}


@contextmanager
def _errors(key_parameter: str = "key") -> Iterator[None]:
    try:
        with invoice_key_errors(key_parameter):
            yield
    except PaymentStateError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except (PaymentsError, InvoicingError, ValueError) as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc


router = APIRouter(tags=["payments"], responses=AUTH_RESPONSES)


@router.post(
    "/v1/invoices/{key}/payments",
    summary="Record a payment received outside Stripe (201; 200 when already recorded)",
    status_code=status.HTTP_201_CREATED,
    responses=_ERRORS,
)
@idempotent
def record_route(
    key: str, body: PaymentIn, response: Response, principal: AdminKey, session: DbSession
) -> PaymentRead:
    partner_id = partner_of(principal)
    with _errors():
        payment, created = record_manual_payment(
            session,
            partner_id,
            key,
            amount=body.amount,
            reference=body.reference,
            method=body.method,
            on=body.received_on,
        )
        invoice = InvoiceRepository(session).invoice(partner_id, payment.invoice_id)
        number = invoice.number if invoice else None
    if not created:
        response.status_code = status.HTTP_200_OK
    return payment_read(payment, number)


@router.get("/v1/payments", summary="Payments, oldest first", responses=_ERRORS)
def list_route(
    principal: ReadKey,
    session: DbSession,
    invoice: Annotated[str | None, Query(description="Invoice number or id.")] = None,
    client: Annotated[str | None, Query(description="Client id.")] = None,
    cursor: Annotated[str | None, Query(description="From the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> PaymentPage:
    partner_id = partner_of(principal)
    after = database_id(cursor) if cursor is not None else None
    if cursor is not None and after is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "cursor: not one this API returned")
    with _errors("invoice"):
        rows = list_payments(
            session,
            partner_id,
            invoice_key=invoice,
            client_id=client,
            after=after,
            limit=limit + 1,
        )
        page = rows[:limit]
        repo = InvoiceRepository(session)
        numbers = {
            i.id: i.number for i in repo.invoices_by_id(partner_id, [p.invoice_id for p in page])
        }
    items = [payment_read(p, numbers.get(p.invoice_id)) for p in page]
    next_cursor = str(page[-1].id) if len(rows) > limit and page else None
    return PaymentPage(items=items, next_cursor=next_cursor)
