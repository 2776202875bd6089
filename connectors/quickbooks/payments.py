"""QuickBooks Payments: ours pushed against an invoice, and theirs read back.

Exactly once: the write carries a `requestid` from our idempotency key (QuickBooks replays the
first answer), and before creating we look for a Payment of the same customer on the same date
whose PrivateNote carries our payment id (a create whose answer was lost is found, not
repeated). QuickBooks cannot filter on PrivateNote, so the lookup narrows by CustomerRef and
TxnDate and compares the note here.

Read-back returns one `RemotePayment` per invoice a Payment is applied to (a Payment may settle
several invoices), with the invoice's DocNumber. Zero-amount Payments that only apply a credit
memo (how credit notes are linked) are not money received and are left out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from config.money import from_minor, to_minor
from connectors.quickbooks.api import QuickBooksApi
from connectors.quickbooks.payloads import quote, remote_ref
from remote_specs import PaymentSpec, RemotePayment, RemoteRef

__all__ = [
    "PAYMENT_NOTE_PREFIX",
    "find_our_payment",
    "list_payments",
    "our_payment_reference",
    "payment_payload",
    "record_payment",
    "remote_payments_of",
]

PAYMENT_NOTE_PREFIX = "Rebill payment "
_NOTE = re.compile(r"^Rebill payment (\S+)")


def payment_payload(spec: PaymentSpec, *, home_currency: str | None) -> dict[str, Any]:
    """One Payment paying `spec.amount_minor` of one invoice; DepositToAccountRef only when the
    mapping names an account (QuickBooks otherwise deposits to Undeposited Funds)."""
    amount = from_minor(spec.amount_minor, spec.currency)
    note = f"{PAYMENT_NOTE_PREFIX}{spec.reference} for invoice {spec.invoice_number}"
    if spec.memo:
        note += f": {spec.memo}"
    body: dict[str, Any] = {
        "CustomerRef": {"value": spec.customer.remote_id},
        "TotalAmt": amount,
        "TxnDate": spec.paid_on.isoformat(),
        "PrivateNote": note[:4000],
        "Line": [
            {
                "Amount": amount,
                "LinkedTxn": [{"TxnId": spec.invoice.remote_id, "TxnType": "Invoice"}],
            }
        ],
    }
    if spec.account:
        body["DepositToAccountRef"] = {"value": spec.account}
    if home_currency is None or spec.currency.upper() != home_currency.upper():
        body["CurrencyRef"] = {"value": spec.currency.upper()}
    return body


def our_payment_reference(payment: Mapping[str, Any]) -> str | None:
    """Our payment id when we pushed this Payment, from its PrivateNote."""
    match = _NOTE.match(str(payment.get("PrivateNote") or ""))
    return match.group(1) if match else None


async def find_our_payment(api: QuickBooksApi, spec: PaymentSpec) -> dict[str, Any] | None:
    where = (
        f"CustomerRef = {quote(spec.customer.remote_id)} "
        f"AND TxnDate = {quote(spec.paid_on.isoformat())}"
    )
    for row in await api.query("Payment", where):
        if our_payment_reference(row) == spec.reference:
            return row
    return None


async def record_payment(
    api: QuickBooksApi, spec: PaymentSpec, key: str, *, home_currency: str | None
) -> RemoteRef:
    if spec.amount_minor <= 0:
        raise ValueError(f"amount_minor: a payment must be positive, got {spec.amount_minor}")
    existing = await find_our_payment(api, spec)
    if existing is not None:
        return remote_ref(existing)
    created = await api.write("Payment", payment_payload(spec, home_currency=home_currency), key)
    return remote_ref(created)


def remote_payments_of(
    payment: Mapping[str, Any], currency: str, numbers: Mapping[str, str]
) -> list[RemotePayment]:
    """One entry per invoice this Payment pays (credit-memo-only applications excluded)."""
    if (
        any(
            t.get("TxnType") == "CreditMemo"
            for line in payment.get("Line") or []
            for t in line.get("LinkedTxn") or []
        )
        and Decimal(str(payment.get("TotalAmt", 0))) == 0
    ):
        return []
    paid_currency = str((payment.get("CurrencyRef") or {}).get("value") or currency)
    per_invoice: dict[str, Decimal] = {}
    for line in payment.get("Line") or []:
        for linked in line.get("LinkedTxn") or []:
            if linked.get("TxnType") == "Invoice":
                invoice_id = str(linked.get("TxnId"))
                amount = Decimal(str(line.get("Amount", 0)))
                per_invoice[invoice_id] = per_invoice.get(invoice_id, Decimal(0)) + amount
    reference = our_payment_reference(payment)
    voided = str(payment.get("PrivateNote") or "").startswith("Voided")
    return [
        RemotePayment(
            remote_id=str(payment["Id"]) if len(per_invoice) == 1 else f"{payment['Id']}:{inv}",
            amount_minor=to_minor(amount, paid_currency),
            currency=paid_currency,
            paid_on=date.fromisoformat(str(payment["TxnDate"])),
            reference=reference,
            invoice_id=inv,
            invoice_number=numbers.get(inv),
            voided=voided,
        )
        for inv, amount in per_invoice.items()
    ]


async def list_payments(
    api: QuickBooksApi, start: date, end: date, *, home_currency: str | None
) -> list[RemotePayment]:
    where = f"TxnDate >= '{start.isoformat()}' AND TxnDate <= '{end.isoformat()}'"
    rows = await api.query("Payment", where)
    invoice_ids = [
        str(t["TxnId"])
        for row in rows
        for line in row.get("Line") or []
        for t in line.get("LinkedTxn") or []
        if t.get("TxnType") == "Invoice" and t.get("TxnId") is not None
    ]
    invoices: Sequence[Mapping[str, Any]] = (
        await api.query_in("Invoice", "Id", invoice_ids) if invoice_ids else []
    )
    numbers = {str(i["Id"]): str(i.get("DocNumber") or "") for i in invoices}
    currency = home_currency or "USD"
    return [p for row in rows for p in remote_payments_of(row, currency, numbers)]
