"""Neutral specs ↔ FreshBooks Accounting JSON: pure functions, no network.

FreshBooks wraps every body: requests are ``{"invoice": {...}}`` and answers
``{"response": {"result": {"invoice": {...}}}}`` (a credit note is ``{"credit_note": {...}}``);
money is ``{"amount": "12.34", "code": "USD"}`` with the amount as a decimal string, and a
line's ``qty`` is a JSON number (FreshBooks documents it so); both are written exactly from
`Decimal` and read back as `Decimal`: never a float between our cents and FreshBooks'.

Exactness, the reason this module exists:
- FreshBooks recomputes each line as ``amount = qty x unit_cost`` and keeps few decimals of
  each (we assume two of a unit cost, or the currency's own when it has three, and two of a
  quantity: FreshBooks documents no more, so we stay on the safe side). A line whose product would not be its amount exactly goes as
  quantity 1 at the amount, the detail in its description.
- Tax: a FreshBooks line tax (``taxName1``/``taxAmount1``) is a *percentage* FreshBooks applies
  and rounds itself, which cannot reproduce our one-rounding-per-invoice tax to the cent. Our
  tax therefore goes as its own line (quantity 1 at our tax amount, named by the mapping,
  e.g. "Sales tax 8%"), so FreshBooks' total is ours to the cent, always.
- Our references live where FreshBooks keeps free text we can read back: a client's ``note``
  and a payment's ``note`` carry ``[rebill:<our id>]``; an invoice is found by its
  ``invoice_number``, which is ours.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from config.money import currency_exponent, from_minor, to_minor
from connectors.base import FieldError, RejectedError
from remote_specs import (
    CreditNoteSpec,
    CustomerSpec,
    InvoiceSpec,
    ItemSpec,
    LineSpec,
    PaymentSpec,
    RemoteInvoice,
    RemotePayment,
    RemoteRef,
    RemoteStatus,
)

__all__ = [
    "DELETED",
    "MAX_QUANTITY_DECIMALS",
    "MAX_UNIT_COST_DECIMALS",
    "PAYMENT_TYPES",
    "Number",
    "client_payload",
    "credit_note_payload",
    "dumps",
    "invoice_lines",
    "invoice_payload",
    "item_payload",
    "loads",
    "marker",
    "money",
    "parse_date",
    "payment_payload",
    "reference_in",
    "remote_id",
    "remote_invoice",
    "remote_payment",
    "to_cents",
]

MAX_UNIT_COST_DECIMALS = 2
MAX_QUANTITY_DECIMALS = 2
NAME_MAX = 255
DEFAULT_TAX_LINE = "Tax"
PAYMENT_TYPES = {"card": "Credit Card", "bank_transfer": "Bank Transfer", "other": "Other"}
_TIMES = "\u00d7"
_MARKER = re.compile(r"\[rebill:([^\]]+)\]")
_ADDRESS_KEYS = {
    "p_street": ("line1", "address_line1", "street", "address1"),
    "p_street2": ("line2", "address_line2", "address2"),
    "p_city": ("city", "town"),
    "p_province": ("region", "state", "province", "county"),
    "p_code": ("postal_code", "postcode", "zip", "zip_code"),
    "p_country": ("country", "country_code"),
}


# --- JSON and scalars --------------------------------------------------------------------------


class Number(Decimal):
    """A decimal FreshBooks reads as a JSON number (a line's ``qty``), not as a string."""


_NUMBER = re.compile(r'"\\u0000num:(-?[0-9]+(?:\.[0-9]+)?)"')


def dumps(value: object) -> bytes:
    """JSON with `Decimal`s written as exact decimal strings (FreshBooks' money amounts) and
    `Number`s as exact JSON numbers (quantities)."""

    def default(item: object) -> str:
        if isinstance(item, Decimal):
            if not item.is_finite():
                raise ValueError(f"cannot send {item} to FreshBooks")
            if isinstance(item, Number):
                return f"\u0000num:{format(item, 'f')}"
            return format(item, "f")
        raise TypeError(f"cannot encode {type(item).__name__} for FreshBooks")

    def check(item: object) -> None:
        if isinstance(item, float):
            raise TypeError("floats never go to FreshBooks: use Decimal")
        if isinstance(item, Mapping):
            for nested in item.values():
                check(nested)
        elif isinstance(item, list | tuple):
            for nested in item:
                check(nested)

    check(value)
    return _NUMBER.sub(lambda m: m.group(1), json.dumps(value, default=default)).encode()


def loads(content: bytes | str) -> Any:
    return json.loads(content, parse_float=Decimal)


def parse_date(value: object) -> date | None:
    """``2026-10-31`` or ``2026-10-31 14:00:00`` (FreshBooks' dates and timestamps)."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def money(amount_minor: int, currency: str) -> dict[str, object]:
    return {"amount": format(from_minor(amount_minor, currency), "f"), "code": currency.upper()}


def to_cents(value: object, currency: str) -> int:
    """A FreshBooks amount (``{"amount": "1.23", ...}``, a string or a number) in minor units."""
    if isinstance(value, Mapping):
        value = value.get("amount")
    if value is None or value == "":
        return 0
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"FreshBooks sent an amount that is not a number: {value!r}") from exc
    return to_minor(amount, currency)


def remote_id(value: str, field: str) -> int:
    """A FreshBooks id (they are numbers); anything else is a reference from elsewhere."""
    if not value.isdigit():
        raise RejectedError(
            f"{field}: {value!r} is not a FreshBooks id (a reference stored for another remote?)",
            errors=(FieldError(message="not a FreshBooks id", field=field),),
            status=None,
        )
    return int(value)


def marker(reference: str) -> str:
    return f"[rebill:{reference}]"


def reference_in(text: object) -> str | None:
    """Our reference in a note written by `marker`, if any."""
    if not isinstance(text, str):
        return None
    found = _MARKER.search(text)
    return found.group(1) if found else None


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


# --- clients and items -------------------------------------------------------------------------


def client_payload(spec: CustomerSpec) -> dict[str, object]:
    """A client: ``organization`` is the display name, ``note`` carries our reference."""
    payload: dict[str, object] = {
        "organization": spec.display_name[:NAME_MAX],
        "note": f"Rebill client {marker(spec.reference)}",
    }
    if spec.email:
        payload["email"] = spec.email
    if spec.currency:
        payload["currency_code"] = spec.currency.upper()
    for field, keys in _ADDRESS_KEYS.items():
        found = next((spec.address[key] for key in keys if spec.address.get(key)), None)
        if found is not None:
            payload[field] = found
    return payload


def item_payload(spec: ItemSpec) -> dict[str, object]:
    """An item named by our item code (FreshBooks lines name their item by ``name``)."""
    return {
        "name": spec.code[:NAME_MAX],
        "description": spec.description or spec.name or spec.code,
        "qty": Number(1),
    }


# --- invoices and credit notes ------------------------------------------------------------------


def _line(line: LineSpec, currency: str) -> dict[str, object]:
    amount = from_minor(line.amount_minor, currency)
    quantity, unit = line.quantity, line.unit_price
    description = line.description.strip()
    unit_places = max(MAX_UNIT_COST_DECIMALS, currency_exponent(currency))
    exact = (
        _decimals(quantity) <= MAX_QUANTITY_DECIMALS
        and _decimals(unit) <= unit_places
        and quantity * unit == amount
    )
    if not exact:
        detail = f"{quantity.normalize():f} {_TIMES} {unit.normalize():f}"
        description = f"{description} ({detail})" if description else detail
        quantity, unit = Decimal(1), amount
    return {
        "type": 0,
        "name": (line.item_code or description or "Charge")[:NAME_MAX],
        "description": description,
        "qty": Number(quantity.normalize()),
        "unit_cost": {"amount": format(unit, "f"), "code": currency.upper()},
    }


def invoice_lines(
    lines: Sequence[LineSpec], currency: str, tax_minor: int, tax_name: str | None
) -> list[dict[str, object]]:
    """Lines whose FreshBooks-computed amounts add up to our total: ours, then the tax line."""
    built = [_line(line, currency) for line in lines]
    if tax_minor:
        name = (tax_name or DEFAULT_TAX_LINE)[:NAME_MAX]
        built.append(
            {
                "type": 0,
                "name": name,
                "description": name,
                "qty": Number(1),
                "unit_cost": {
                    "amount": format(from_minor(tax_minor, currency), "f"),
                    "code": currency.upper(),
                },
            }
        )
    return built


def invoice_payload(spec: InvoiceSpec) -> dict[str, object]:
    """A draft invoice; `connector` marks it sent afterwards unless the partner wants drafts."""
    due = spec.due_date or spec.issue_date
    return {
        "customerid": remote_id(spec.customer.remote_id, "customer"),
        "invoice_number": spec.number,
        "create_date": spec.issue_date.isoformat(),
        "due_offset_days": max(0, (due - spec.issue_date).days),
        "currency_code": spec.currency.upper(),
        "notes": spec.memo or f"Rebill invoice {spec.number}",
        "lines": invoice_lines(spec.lines, spec.currency, spec.tax_minor, spec.tax_code),
    }


def credit_note_payload(spec: CreditNoteSpec) -> dict[str, object]:
    reason = spec.reason or "correction"
    return {
        "clientid": remote_id(spec.customer.remote_id, "customer"),
        "credit_number": spec.number,
        "create_date": spec.issue_date.isoformat(),
        "currency_code": spec.currency.upper(),
        "notes": f"Credits invoice {spec.invoice_number}: {reason}",
        "lines": invoice_lines(spec.lines, spec.currency, spec.tax_minor, None),
    }


def payment_payload(spec: PaymentSpec) -> dict[str, object]:
    memo = f"{spec.memo} " if spec.memo else ""
    return {
        "invoiceid": remote_id(spec.invoice.remote_id, "invoice"),
        "amount": {"amount": format(from_minor(spec.amount_minor, spec.currency), "f")},
        "date": spec.paid_on.isoformat(),
        "type": PAYMENT_TYPES.get(spec.method, "Other"),
        "note": f"{memo}Rebill payment {marker(spec.reference)}",
    }


# --- read back ----------------------------------------------------------------------------------

_STATUSES = {
    "draft": RemoteStatus.DRAFT,
    "created": RemoteStatus.DRAFT,
    "sent": RemoteStatus.OPEN,
    "viewed": RemoteStatus.OPEN,
    "overdue": RemoteStatus.OPEN,
    "disputed": RemoteStatus.OPEN,
    "resent": RemoteStatus.OPEN,
    "retry": RemoteStatus.OPEN,
    "failed": RemoteStatus.OPEN,
    "outstanding": RemoteStatus.OPEN,
    "partial": RemoteStatus.PARTIALLY_PAID,
    "paid": RemoteStatus.PAID,
    "auto-paid": RemoteStatus.PAID,
}
DELETED = 1  # vis_state: 0 active, 1 deleted, 2 archived


def _currency(data: Mapping[str, Any]) -> str:
    code = data.get("currency_code")
    if not code and isinstance(data.get("amount"), Mapping):
        code = data["amount"].get("code")
    return str(code or "USD").upper()


def remote_invoice(data: Mapping[str, Any]) -> RemoteInvoice:
    """An invoice as our `RemoteInvoice`. FreshBooks has no void: a deleted invoice
    (``vis_state`` 1) is how we void one, so it reads back as VOID with nothing due."""
    currency = _currency(data)
    paid = to_cents(data.get("paid"), currency)
    total = to_cents(data.get("amount"), currency)
    status = _STATUSES.get(str(data.get("v3_status") or "").lower(), RemoteStatus.OPEN)
    if status is RemoteStatus.OPEN and paid > 0:
        status = RemoteStatus.PARTIALLY_PAID
    due = to_cents(data.get("outstanding"), currency)
    if int(data.get("vis_state") or 0) == DELETED:
        status, due = RemoteStatus.VOID, 0
    number = str(data.get("invoice_number") or "")
    remote_id = str(data.get("invoiceid") or data.get("id"))
    return RemoteInvoice(
        ref=RemoteRef(remote_id=remote_id, version=_version(data), number=number or None),
        number=number,
        customer_id=str(data.get("customerid") or ""),
        currency=currency,
        issue_date=parse_date(data.get("create_date")),
        status=status,
        total_minor=total,
        amount_due_minor=due,
        amount_paid_minor=paid,
    )


def remote_payment(data: Mapping[str, Any], currency: str | None = None) -> RemotePayment:
    amount = data.get("amount")
    code = currency or (amount.get("code") if isinstance(amount, Mapping) else None) or "USD"
    invoice_id = data.get("invoiceid")
    return RemotePayment(
        remote_id=str(data.get("paymentid") or data.get("id")),
        amount_minor=to_cents(amount, str(code)),
        currency=str(code).upper(),
        paid_on=parse_date(data.get("date")) or date(1970, 1, 1),
        reference=reference_in(data.get("note")),
        invoice_id=str(invoice_id) if invoice_id else None,
        voided=int(data.get("vis_state") or 0) == DELETED,
    )


def _version(data: Mapping[str, Any]) -> str | None:
    value = data.get("updated")
    return str(value) if value else None
