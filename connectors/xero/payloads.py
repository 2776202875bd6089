"""Neutral specs ↔ Xero Accounting JSON (`/api.xro/2.0`): pure functions, no network.

Exactness, the reason this module exists:
- Numbers travel as JSON numbers written from `Decimal` (`dumps`) and are read back as
  `Decimal` (`loads`): never a float between our cents and Xero's.
- Xero recomputes each line as ``LineAmount = Quantity x UnitAmount`` and keeps two decimals of
  a unit amount unless the request says ``unitdp=4``. `invoice_payload` reports whether any
  unit amount needs four, and sends a line as quantity 1 at its amount whenever the product of
  what Xero will keep would not be the line amount exactly (a spec should never need that, but
  the remote total must equal ours whatever the caller passed).
- Tax: every line carries an explicit ``TaxAmount``. Our tax is one figure rounded once on the
  invoice; `distribute_tax` splits it over the lines in proportion to their amounts by the
  largest-remainder method (floor every share, then give the leftover cents one each to the
  lines with the largest fractions, earlier lines first on ties), so the line taxes sum to our
  tax exactly and each is within a cent of its proportional share. Xero then arrives at
  ``Total = Σ LineAmount + Σ TaxAmount`` = our total, to the cent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction
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
    "CONTACT_NUMBER_MAX",
    "allocation_payload",
    "contact_payload",
    "credit_note_payload",
    "distribute_tax",
    "dumps",
    "format_date",
    "invoice_payload",
    "item_payload",
    "line_items",
    "loads",
    "money",
    "needs_unitdp",
    "parse_date",
    "remote_invoice",
    "to_cents",
    "version_of",
]

CONTACT_NUMBER_MAX = 50
ITEM_NAME_MAX = 50
REFERENCE_MAX = 255
_DESCRIPTION_MAX = 4000
_TIMES = "\u00d7"  # the multiplication sign, as invoices print it
_XERO_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_ADDRESS_KEYS = {
    "AddressLine1": ("line1", "address_line1", "street", "address1"),
    "AddressLine2": ("line2", "address_line2", "address2"),
    "City": ("city", "town"),
    "Region": ("region", "state", "province", "county"),
    "PostalCode": ("postal_code", "postcode", "zip", "zip_code"),
    "Country": ("country", "country_code"),
}


# --- JSON ------------------------------------------------------------------------------------


def dumps(value: object) -> bytes:
    """JSON with `Decimal`s written as exact numbers (the standard encoder would need floats)."""
    return _encode(value).encode()


def _encode(value: object) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot send {value} to Xero")
        return format(value, "f")
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    if isinstance(value, float):
        raise TypeError("floats never go to Xero: use Decimal")
    return json.dumps(value)


def loads(content: bytes | str) -> Any:
    """Xero JSON with every non-integer number as `Decimal`."""
    return json.loads(content, parse_float=Decimal)


# --- scalars ---------------------------------------------------------------------------------


def format_date(value: date) -> str:
    return value.isoformat()


def parse_date(value: object) -> date | None:
    """Xero's ``/Date(1539993600000+0000)/`` (milliseconds since the epoch, UTC, with the
    organisation's offset appended) or an ISO ``2018-10-20T00:00:00`` string."""
    if not isinstance(value, str) or not value:
        return None
    match = _XERO_DATE.match(value)
    if match:
        moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(match.group(1)))
        if match.group(2):
            sign = -1 if match.group(2)[0] == "-" else 1
            hours, minutes = int(match.group(2)[1:3]), int(match.group(2)[3:])
            moment += sign * timedelta(hours=hours, minutes=minutes)
        return moment.date()
    try:
        return datetime.fromisoformat(value[:19]).date()
    except ValueError:
        return None


def money(amount_minor: int, currency: str) -> Decimal:
    return from_minor(amount_minor, currency)


def to_cents(value: object, currency: str) -> int:
    """A Xero amount (Decimal, int or numeric string) in minor units; absent counts as 0."""
    if value is None:
        return 0
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"Xero sent an amount that is not a number: {value!r}") from exc
    return to_minor(amount, currency)


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


# --- contacts and items --------------------------------------------------------------------


def contact_payload(spec: CustomerSpec, contact_id: str | None = None) -> dict[str, object]:
    """A Contact: Name is unique in an organisation; ContactNumber carries our client id."""
    payload: dict[str, object] = {
        "Name": spec.display_name[:255],
        "ContactNumber": spec.reference[:CONTACT_NUMBER_MAX],
    }
    if contact_id is not None:
        payload = {"ContactID": contact_id, **payload}
    if spec.email:
        payload["EmailAddress"] = spec.email
    # No DefaultCurrency (refused where the organisation lacks that currency; invoices carry
    # their CurrencyCode) and no IsCustomer (Xero derives it from the contact's invoices).
    address: dict[str, str] = {}
    for field, keys in _ADDRESS_KEYS.items():
        found = next((spec.address[key] for key in keys if spec.address.get(key)), None)
        if found is not None:
            address[field] = found
    if address:
        payload["Addresses"] = [{"AddressType": "POBOX", **address}]  # POBOX: billing address
    return payload


def item_payload(spec: ItemSpec) -> dict[str, object]:
    sales: dict[str, object] = {}
    if spec.income_account:
        sales["AccountCode"] = spec.income_account
    if spec.tax_code:
        sales["TaxType"] = spec.tax_code
    payload: dict[str, object] = {
        "Code": spec.code,
        "Name": (spec.name or spec.code)[:ITEM_NAME_MAX],
        "Description": spec.description or spec.name or spec.code,
        "IsSold": True,
        "IsPurchased": False,
    }
    if sales:
        payload["SalesDetails"] = sales
    return payload


# --- invoices and credit notes ----------------------------------------------------------------


def distribute_tax(tax_minor: int, weights: Sequence[int]) -> list[int]:
    """Split `tax_minor` over lines in proportion to `weights` (their amounts, possibly
    negative) so that the parts sum to `tax_minor` exactly (largest remainder)."""
    if not weights:
        if tax_minor:
            raise ValueError("tax without lines to carry it")
        return []
    total = sum(weights)
    if tax_minor == 0:
        return [0] * len(weights)
    if total == 0:  # nothing to be proportional to: the largest line carries it
        parts = [0] * len(weights)
        parts[max(range(len(weights)), key=lambda i: (abs(weights[i]), -i))] = tax_minor
        return parts
    exact = [Fraction(tax_minor * w, total) for w in weights]
    parts = [share.numerator // share.denominator for share in exact]
    leftover = tax_minor - sum(parts)
    by_fraction = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for index in by_fraction[:leftover]:
        parts[index] += 1
    return parts


def needs_unitdp(lines: Sequence[LineSpec]) -> bool:
    """Whether a unit amount has more than Xero's default two decimals."""
    return any(_decimals(line.unit_price) > 2 for line in lines)


def line_items(
    lines: Sequence[LineSpec], currency: str, tax_minor: int, *, unitdp: int, tax_code: str | None
) -> list[dict[str, object]]:
    """LineItems whose Xero-computed amounts and explicit taxes add up to ours exactly.
    Raises ValueError for an amount Xero cannot hold (it keeps 2 decimals: a 3-decimal
    currency's amount that is not a whole number of hundredths)."""
    taxes = distribute_tax(tax_minor, [line.amount_minor for line in lines])
    items: list[dict[str, object]] = []
    for line, tax in zip(lines, taxes, strict=True):
        amount = money(line.amount_minor, currency)
        for value in (amount, money(tax, currency)):
            if _decimals(value) > 2:
                raise ValueError(
                    f"Xero keeps 2 decimals of an amount; {value} {currency.upper()} cannot be "
                    "sent exactly"
                )
        quantity, unit = line.quantity, line.unit_price
        description = line.description.strip()
        exact = (
            quantity != 0  # Xero may take a quantity of 0 as 1: never send one
            and _decimals(quantity) <= 4
            and _decimals(unit) <= unitdp
            and quantity * unit == amount
        )
        if not exact:
            detail = f"{quantity.normalize():f} {_TIMES} {unit.normalize():f}"
            description = f"{description} ({detail})" if description else detail
            quantity, unit = Decimal(1), amount
        item: dict[str, object] = {
            "Description": (description or line.item_code or "Charge")[:_DESCRIPTION_MAX],
            "Quantity": quantity,
            "UnitAmount": unit,
            "TaxAmount": money(tax, currency),
        }
        if line.item_code:
            item["ItemCode"] = line.item_code
        if line.account:
            item["AccountCode"] = line.account
        line_tax = line.tax_code or tax_code
        if line_tax:
            item["TaxType"] = line_tax
        if line.tracking:
            item["Tracking"] = [
                {"Name": name, "Option": option} for name, option in line.tracking.items()
            ]
        items.append(item)
    return items


def invoice_payload(spec: InvoiceSpec) -> tuple[dict[str, object], bool]:
    """An ACCREC invoice, and whether it must be sent with ``unitdp=4``."""
    unitdp = needs_unitdp(spec.lines)
    payload: dict[str, object] = {
        "Type": "ACCREC",
        "Contact": {"ContactID": spec.customer.remote_id},
        "InvoiceNumber": spec.number,
        "Reference": (spec.memo or f"Rebill invoice {spec.reference}")[:REFERENCE_MAX],
        "Date": format_date(spec.issue_date),
        "DueDate": format_date(spec.due_date or spec.issue_date),
        "CurrencyCode": spec.currency.upper(),
        "LineAmountTypes": "Exclusive",
        "Status": "DRAFT" if spec.draft else "AUTHORISED",
        "LineItems": line_items(
            spec.lines,
            spec.currency,
            spec.tax_minor,
            unitdp=4 if unitdp else 2,
            tax_code=spec.tax_code,
        ),
    }
    return payload, unitdp


def credit_note_payload(spec: CreditNoteSpec) -> tuple[dict[str, object], bool]:
    unitdp = needs_unitdp(spec.lines)
    reason = spec.reason or f"credits invoice {spec.invoice_number}"
    payload: dict[str, object] = {
        "Type": "ACCRECCREDIT",
        "Contact": {"ContactID": spec.customer.remote_id},
        "CreditNoteNumber": spec.number,
        "Reference": f"{spec.invoice_number}: {reason}"[:REFERENCE_MAX],
        "Date": format_date(spec.issue_date),
        "CurrencyCode": spec.currency.upper(),
        "LineAmountTypes": "Exclusive",
        "Status": "AUTHORISED",
        "LineItems": line_items(
            spec.lines, spec.currency, spec.tax_minor, unitdp=4 if unitdp else 2, tax_code=None
        ),
    }
    return payload, unitdp


def allocation_payload(
    invoice_id: str, amount_minor: int, currency: str, on: date
) -> dict[str, object]:
    return {
        "Allocations": [
            {
                "Invoice": {"InvoiceID": invoice_id},
                "Amount": money(amount_minor, currency),
                "Date": format_date(on),
            }
        ]
    }


# --- read back -------------------------------------------------------------------------------

_STATUSES = {
    "DRAFT": RemoteStatus.DRAFT,
    "SUBMITTED": RemoteStatus.DRAFT,
    "AUTHORISED": RemoteStatus.OPEN,
    "PAID": RemoteStatus.PAID,
    "VOIDED": RemoteStatus.VOID,
    "DELETED": RemoteStatus.DELETED,
}


def remote_invoice(data: Mapping[str, Any]) -> RemoteInvoice:
    """An Invoice element as our `RemoteInvoice` (UpdatedDateUTC as the version)."""
    currency = str(data.get("CurrencyCode") or "USD")
    status = _STATUSES.get(str(data.get("Status", "")).upper(), RemoteStatus.OPEN)
    paid = to_cents(data.get("AmountPaid"), currency)
    if status is RemoteStatus.OPEN and paid > 0:
        status = RemoteStatus.PARTIALLY_PAID
    payments = tuple(
        RemotePayment(
            remote_id=str(payment.get("PaymentID", "")),
            amount_minor=to_cents(payment.get("Amount"), currency),
            currency=currency,
            paid_on=parse_date(payment.get("Date")) or date(1970, 1, 1),
            reference=payment.get("Reference") or None,
        )
        for payment in data.get("Payments") or ()
    )
    contact = data.get("Contact") or {}
    return RemoteInvoice(
        ref=RemoteRef(
            remote_id=str(data["InvoiceID"]),
            version=version_of(data),
            number=data.get("InvoiceNumber"),
        ),
        number=str(data.get("InvoiceNumber") or ""),
        customer_id=str(contact.get("ContactID", "")),
        currency=currency,
        issue_date=parse_date(data.get("Date")),
        status=status,
        total_minor=to_cents(data.get("Total"), currency),
        amount_due_minor=to_cents(data.get("AmountDue"), currency),
        amount_paid_minor=paid,
        payments=payments,
    )


def version_of(data: Mapping[str, Any]) -> str | None:
    value = data.get("UpdatedDateUTC")
    return str(value) if value else None
