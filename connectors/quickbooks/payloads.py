"""The neutral specs as QuickBooks Online JSON, and QuickBooks objects read back.

Numbers go on the wire as exact decimals (`dumps` writes a `Decimal` as its own digits, never
through a float) and are read back as `Decimal` (`loads`). Amounts leave as major units of the
invoice's currency and come back to minor units through `config.money.to_minor`.

How the remote total is made equal to ours: each line's Amount is our line amount and its Qty
and UnitPrice multiply to it exactly (the mapping builders guarantee it; QuickBooks refuses a
line otherwise); the tax is sent as `TxnTaxDetail.TotalTax` = our tax amount, which QuickBooks
keeps as an override of its own computation, so TotalAmt = lines + our tax. The connector reads
TotalAmt back and logs a mismatch (companies whose tax engine ignores the override).

Customers: QuickBooks has no writable external-id field we can query, so the customer's
`Notes` carries ``Rebill client <reference>`` and lookups go by DisplayName, then check Notes.
When another customer already uses the name, ours is created as ``Name [reference]``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from config.money import from_minor, to_minor
from remote_specs import (
    CreditNoteSpec,
    CustomerSpec,
    InvoiceSpec,
    ItemSpec,
    LineSpec,
    RemoteInvoice,
    RemotePayment,
    RemoteRef,
    RemoteStatus,
)

__all__ = [
    "CUSTOMER_NOTE_PREFIX",
    "DOC_NUMBER_MAX",
    "credit_application_payload",
    "credit_memo_payload",
    "customer_marker",
    "customer_names",
    "customer_payload",
    "dumps",
    "invoice_payload",
    "item_payload",
    "loads",
    "quote",
    "remote_invoice",
    "remote_payments",
    "remote_ref",
]

CUSTOMER_NOTE_PREFIX = "Rebill client "
DISPLAY_NAME_MAX = 500
DOC_NUMBER_MAX = 21
PRIVATE_NOTE_MAX = 4000
CUSTOMER_MEMO_MAX = 1000
DESCRIPTION_MAX = 4000
_BAD_NAME = re.compile(r"[:\t\n\r]")
_DECIMAL = re.compile(r'"\\u0000dec:(-?[0-9.E+-]+)"')

_ADDRESS_KEYS = {
    "line1": "Line1",
    "line2": "Line2",
    "line3": "Line3",
    "city": "City",
    "region": "CountrySubDivisionCode",
    "state": "CountrySubDivisionCode",
    "postal_code": "PostalCode",
    "postcode": "PostalCode",
    "zip": "PostalCode",
    "country": "Country",
}


def dumps(body: Any) -> bytes:
    """JSON with every `Decimal` written as its exact digits (QuickBooks reads numbers)."""

    def default(value: object) -> str:
        if isinstance(value, Decimal):
            if not value.is_finite():
                raise ValueError(f"not a finite number: {value}")
            return f"\u0000dec:{value}"
        if isinstance(value, date):
            return value.isoformat()
        raise TypeError(f"cannot send {type(value).__name__} to QuickBooks")

    text = json.dumps(body, default=default, ensure_ascii=True, separators=(",", ":"))
    return _DECIMAL.sub(lambda m: m.group(1), text).encode()


def loads(content: bytes) -> Any:
    return json.loads(content, parse_float=Decimal)


def quote(value: str) -> str:
    """A value inside a QuickBooks query: single-quoted, backslash and quote escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _ref(value: str) -> dict[str, str]:
    return {"value": value}


def remote_ref(obj: Mapping[str, Any]) -> RemoteRef:
    number = obj.get("DocNumber")
    return RemoteRef(
        remote_id=str(obj["Id"]),
        version=str(obj.get("SyncToken", "")) or None,
        number=str(number) if number is not None else None,
    )


# ---- customers and items ------------------------------------------------------------------
def customer_marker(reference: str) -> str:
    return f"{CUSTOMER_NOTE_PREFIX}{reference}"


def customer_names(spec: CustomerSpec) -> tuple[str, str]:
    """The DisplayName to use, and the fallback when another customer has taken it."""
    base = _BAD_NAME.sub(" ", spec.display_name).strip() or spec.reference
    suffix = f" [{_BAD_NAME.sub(' ', spec.reference)}]"
    return base[:DISPLAY_NAME_MAX], base[: DISPLAY_NAME_MAX - len(suffix)] + suffix


def customer_payload(spec: CustomerSpec, display_name: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "DisplayName": display_name,
        "Notes": customer_marker(spec.reference),
    }
    if spec.email:
        body["PrimaryEmailAddr"] = {"Address": spec.email}
    if spec.currency:
        body["CurrencyRef"] = _ref(spec.currency.upper())
    address = {
        _ADDRESS_KEYS[key.lower()]: str(value)
        for key, value in spec.address.items()
        if key.lower() in _ADDRESS_KEYS and value
    }
    if address:
        body["BillAddr"] = address
    return body


def item_payload(spec: ItemSpec) -> dict[str, Any]:
    """A Service item named by our item code (unique per company in QuickBooks)."""
    body: dict[str, Any] = {"Name": spec.code, "Type": "Service"}
    if spec.description or spec.name:
        body["Description"] = (spec.description or spec.name)[:DESCRIPTION_MAX]
    if spec.income_account:
        body["IncomeAccountRef"] = _ref(spec.income_account)
    return body


# ---- invoices and credit memos ------------------------------------------------------------
def _lines(
    lines: Sequence[LineSpec], currency: str, item_ids: Mapping[str, str]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for line in lines:
        detail: dict[str, Any] = {"Qty": line.quantity, "UnitPrice": line.unit_price}
        if line.item_code is not None:
            # an unknown code goes as itself: QuickBooks answers 2500 naming ItemRef
            detail["ItemRef"] = _ref(item_ids.get(line.item_code, line.item_code))
        if line.tax_code:
            detail["TaxCodeRef"] = _ref(line.tax_code)
        if line.tracking.get("class"):
            detail["ClassRef"] = _ref(line.tracking["class"])
        out.append(
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": from_minor(line.amount_minor, currency),
                "Description": line.description[:DESCRIPTION_MAX],
                "SalesItemLineDetail": detail,
            }
        )
    return out


def _tax(tax_minor: int, tax_code: str | None, currency: str) -> dict[str, Any]:
    detail: dict[str, Any] = {"TotalTax": from_minor(tax_minor, currency)}
    if tax_code:
        detail["TxnTaxCodeRef"] = _ref(tax_code)
    return detail


def invoice_payload(
    spec: InvoiceSpec, item_ids: Mapping[str, str], *, home_currency: str | None
) -> dict[str, Any]:
    """CurrencyRef only when the currency differs from the company's (multicurrency)."""
    body: dict[str, Any] = {
        "DocNumber": spec.number,
        "TxnDate": spec.issue_date,
        "CustomerRef": _ref(spec.customer.remote_id),
        "Line": _lines(spec.lines, spec.currency, item_ids),
        "TxnTaxDetail": _tax(spec.tax_minor, spec.tax_code, spec.currency),
        "PrivateNote": f"Rebill invoice {spec.reference}"[:PRIVATE_NOTE_MAX],
        "ApplyTaxAfterDiscount": False,
    }
    if spec.due_date is not None:
        body["DueDate"] = spec.due_date
    if home_currency is None or spec.currency.upper() != home_currency.upper():
        body["CurrencyRef"] = _ref(spec.currency.upper())
    if spec.memo:
        body["CustomerMemo"] = {"value": spec.memo[:CUSTOMER_MEMO_MAX]}
    return body


def credit_memo_payload(
    spec: CreditNoteSpec, item_ids: Mapping[str, str], *, home_currency: str | None
) -> dict[str, Any]:
    note = f"Rebill credit note {spec.reference} for invoice {spec.invoice_number}"
    if spec.reason:
        note += f": {spec.reason}"
    body: dict[str, Any] = {
        "DocNumber": spec.number,
        "TxnDate": spec.issue_date,
        "CustomerRef": _ref(spec.customer.remote_id),
        "Line": _lines(spec.lines, spec.currency, item_ids),
        "TxnTaxDetail": _tax(spec.tax_minor, None, spec.currency),
        "PrivateNote": note[:PRIVATE_NOTE_MAX],
    }
    if home_currency is None or spec.currency.upper() != home_currency.upper():
        body["CurrencyRef"] = _ref(spec.currency.upper())
    return body


def credit_application_payload(
    memo: Mapping[str, Any],
    invoice: Mapping[str, Any],
    amount: Decimal,
    spec: CreditNoteSpec,
    *,
    home_currency: str | None,
) -> dict[str, Any]:
    """A zero-amount Payment applying `amount` of the credit memo to the invoice (how
    QuickBooks links a credit to the invoice it corrects)."""
    body: dict[str, Any] = {
        "CustomerRef": _ref(str(memo["CustomerRef"]["value"])),
        "TotalAmt": Decimal(0),
        "TxnDate": spec.issue_date,
        "PrivateNote": f"Rebill: credit note {spec.number} applied to invoice {spec.invoice_number}",
        "Line": [
            {"Amount": amount, "LinkedTxn": [{"TxnId": str(invoice["Id"]), "TxnType": "Invoice"}]},
            {"Amount": amount, "LinkedTxn": [{"TxnId": str(memo["Id"]), "TxnType": "CreditMemo"}]},
        ],
    }
    if home_currency is None or spec.currency.upper() != home_currency.upper():
        body["CurrencyRef"] = _ref(spec.currency.upper())
    return body


# ---- read back ----------------------------------------------------------------------------
def _minor(value: Any, currency: str) -> int:
    return to_minor(Decimal(str(value if value is not None else 0)), currency)


def is_voided(obj: Mapping[str, Any]) -> bool:
    """QuickBooks keeps a voided invoice with zero amounts and "Voided" in its PrivateNote."""
    note = str(obj.get("PrivateNote") or "")
    return note.startswith("Voided") and Decimal(str(obj.get("TotalAmt", 0))) == 0


def remote_invoice(
    obj: Mapping[str, Any],
    *,
    home_currency: str | None,
    payments: Sequence[RemotePayment] = (),
) -> RemoteInvoice:
    currency = str((obj.get("CurrencyRef") or {}).get("value") or home_currency or "USD")
    total = _minor(obj.get("TotalAmt"), currency)
    due = _minor(obj.get("Balance"), currency)
    if is_voided(obj):
        status = RemoteStatus.VOID
    elif due == 0:
        status = RemoteStatus.PAID
    elif due < total:
        status = RemoteStatus.PARTIALLY_PAID
    else:
        status = RemoteStatus.OPEN
    txn_date = obj.get("TxnDate")
    return RemoteInvoice(
        ref=remote_ref(obj),
        number=str(obj.get("DocNumber") or ""),
        customer_id=str((obj.get("CustomerRef") or {}).get("value") or ""),
        currency=currency,
        issue_date=date.fromisoformat(str(txn_date)) if txn_date else None,
        status=status,
        total_minor=total,
        amount_due_minor=due,
        amount_paid_minor=0 if status is RemoteStatus.VOID else total - due,
        payments=tuple(payments),
    )


def payment_ids(invoice: Mapping[str, Any]) -> list[str]:
    return [
        str(t["TxnId"])
        for t in invoice.get("LinkedTxn") or []
        if t.get("TxnType") == "Payment" and t.get("TxnId") is not None
    ]


def remote_payments(
    invoice_id: str, payments: Sequence[Mapping[str, Any]], currency: str
) -> list[RemotePayment]:
    """The part of each Payment applied to this invoice."""
    out: list[RemotePayment] = []
    for payment in payments:
        applied = sum(
            (
                Decimal(str(line.get("Amount", 0)))
                for line in payment.get("Line") or []
                if any(
                    str(t.get("TxnId")) == invoice_id and t.get("TxnType") == "Invoice"
                    for t in line.get("LinkedTxn") or []
                )
            ),
            Decimal(0),
        )
        out.append(
            RemotePayment(
                remote_id=str(payment["Id"]),
                amount_minor=to_minor(applied, currency),
                currency=str((payment.get("CurrencyRef") or {}).get("value") or currency),
                paid_on=date.fromisoformat(str(payment["TxnDate"])),
                reference=str(payment["PaymentRefNum"]) if payment.get("PaymentRefNum") else None,
            )
        )
    return out
