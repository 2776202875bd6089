"""What we send a remote system, in neutral terms, already resolved against the connection's
mapping (account codes, tax codes, item codes and the "quantity 1 at the line amount" rule).
`mappings/` builds these from our billing objects; each connector turns them into its wire
format. Neither side needs the other: this module is the vocabulary they share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from remote_specs.records import RemoteRef

__all__ = ["CreditNoteSpec", "CustomerSpec", "InvoiceSpec", "ItemSpec", "LineSpec", "PaymentSpec"]


@dataclass(frozen=True, slots=True)
class CustomerSpec:
    """`reference` is our client id, stored where the remote has a field for it
    (Xero ContactNumber; QuickBooks has none writable for lookup, so PrivateNote/Notes plus
    DisplayName) and used to find the customer before creating it."""

    reference: str
    display_name: str
    email: str | None = None
    currency: str | None = None
    address: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ItemSpec:
    """A product/service per usage type (and one for base fees and adjustments). `code` is
    unique per connection; `income_account` is the remote account id (QuickBooks) or code
    (Xero) from the connection's mapping."""

    code: str
    name: str
    description: str = ""
    income_account: str | None = None
    tax_code: str | None = None


@dataclass(frozen=True, slots=True)
class LineSpec:
    """One invoice line, already made safe for a remote that recomputes amounts: either
    `quantity * unit_price == amount_minor / 10**exponent` exactly, or quantity is 1 and
    unit_price is the line amount (the detail then lives in `description`).
    `amount_minor` is authoritative; connectors send quantity and unit price and may check."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    amount_minor: int
    item_code: str | None = None
    account: str | None = None
    tax_code: str | None = None
    tracking: Mapping[str, str] = field(default_factory=dict)  # class / tracking category


@dataclass(frozen=True, slots=True)
class InvoiceSpec:
    """`number` is our invoice number and the key every connector looks up before creating.
    `total_minor` equals the sum of line amounts plus `tax_minor`; connectors must make the
    remote arrive at the same total to the cent (explicit tax amounts where the remote allows)."""

    reference: str  # our invoice id
    number: str
    customer_reference: str
    customer: RemoteRef
    currency: str
    issue_date: date
    due_date: date | None
    lines: tuple[LineSpec, ...]
    subtotal_minor: int
    tax_minor: int
    total_minor: int
    memo: str = ""
    draft: bool = False  # Xero: DRAFT instead of AUTHORISED, by partner choice
    tax_code: str | None = None


@dataclass(frozen=True, slots=True)
class CreditNoteSpec:
    reference: str  # our credit note id
    number: str
    invoice: RemoteRef  # the remote invoice it credits (allocated to it where supported)
    invoice_number: str
    customer: RemoteRef
    currency: str
    issue_date: date
    lines: tuple[LineSpec, ...]
    tax_minor: int
    total_minor: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class PaymentSpec:
    """A payment we recorded (Stripe, or by hand) to put against the remote invoice.
    `account` is the deposit account from the mapping (QuickBooks DepositToAccountRef id,
    Xero account code, FreshBooks none)."""

    reference: str  # our payment id
    invoice: RemoteRef
    invoice_number: str
    customer: RemoteRef
    amount_minor: int
    currency: str
    paid_on: date
    method: str = "card"  # card | bank_transfer | other
    account: str | None = None
    memo: str = ""
