"""Xero payments: ours put against an invoice (``PUT /Payments``), and every payment read back
(``GET /Payments``, paged) for read-back of money the partner entered in Xero.

Exactly once: the PUT carries an ``Idempotency-Key`` (Xero replays the first answer for the
same key), and before it we look for a live payment on that invoice whose Reference is our
payment id (found after a lost answer even under another key). Xero needs an account that
takes payments (a bank account, or one with payments enabled): the mapping's
``payment_account_code``; without one the push is refused before any call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from connectors.base import FieldError, RejectedError
from connectors.xero import payloads
from connectors.xero.queries import quote, request_key
from remote_specs import PaymentSpec, RemotePayment, RemoteRef

if TYPE_CHECKING:
    from connectors.xero.connector import XeroConnector

__all__ = ["list_payments", "payment_body", "record_payment", "remote_payment"]


def payment_body(spec: PaymentSpec) -> dict[str, object]:
    if not spec.account:
        reason = (
            "Xero needs the account the payment is paid into: set the mapping's "
            "payment_account_code (a bank account code)"
        )
        raise RejectedError(reason, errors=[FieldError(reason, field="Account.Code")], status=None)
    if spec.amount_minor <= 0:
        raise ValueError(f"amount_minor: a payment must be positive, got {spec.amount_minor}")
    return {
        "Invoice": {"InvoiceID": spec.invoice.remote_id},
        "Account": {"Code": spec.account},
        "Date": payloads.format_date(spec.paid_on),
        "Amount": payloads.money(spec.amount_minor, spec.currency),
        "Reference": spec.reference[: payloads.REFERENCE_MAX],
    }


def remote_payment(element: Mapping[str, Any]) -> RemotePayment:
    invoice = element.get("Invoice") or {}
    currency = str(invoice.get("CurrencyCode") or "USD")
    return RemotePayment(
        remote_id=str(element["PaymentID"]),
        amount_minor=payloads.to_cents(element.get("Amount"), currency),
        currency=currency,
        paid_on=payloads.parse_date(element.get("Date")) or date(1970, 1, 1),
        reference=str(element.get("Reference") or "") or None,
        invoice_id=str(invoice.get("InvoiceID") or "") or None,
        invoice_number=str(invoice.get("InvoiceNumber") or "") or None,
        voided=str(element.get("Status") or "").upper() == "DELETED",
    )


def _ref(element: Mapping[str, Any]) -> RemoteRef:
    return RemoteRef(remote_id=str(element["PaymentID"]), version=payloads.version_of(element))


async def find_our_payment(connector: XeroConnector, spec: PaymentSpec) -> RemoteRef | None:
    data = await connector.read("Payments", {"where": f"Reference=={quote(spec.reference)}"})
    for element in data.get("Payments") or ():
        invoice = element.get("Invoice") or {}
        live = str(element.get("Status") or "").upper() != "DELETED"
        if live and str(invoice.get("InvoiceID")) == spec.invoice.remote_id:
            return _ref(element)
    return None


async def record_payment(connector: XeroConnector, spec: PaymentSpec, key: str) -> RemoteRef:
    body = payment_body(spec)  # refuses a missing account before any call
    existing = await find_our_payment(connector, spec)
    if existing is not None:
        return existing
    data = await connector.send(
        "PUT", "Payments", {"Payments": [body]}, request_key([key], op="payment")
    )
    [element] = data["Payments"]
    return _ref(element)


Pages = Callable[[str, Mapping[str, object]], Awaitable[list[Mapping[str, Any]]]]


async def list_payments(pages: Pages, start: date, end: date) -> list[RemotePayment]:
    """Sales-invoice payments dated in [start, end]; `pages` reads every page of a list."""
    where = (
        f"Date>=DateTime({start.year},{start.month:02d},{start.day:02d})"
        f" AND Date<=DateTime({end.year},{end.month:02d},{end.day:02d})"
    )
    elements = await pages("Payments", {"where": where})
    return [
        remote_payment(e)
        for e in elements
        if str((e.get("Invoice") or {}).get("Type") or "ACCREC") == "ACCREC"
    ]
