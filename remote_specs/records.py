"""What a remote system holds, read back in neutral terms: where our object lives there
(`RemoteRef`) and the invoices and payments as the remote reports them. Connectors build these
from their wire formats; sync and reconciliation compare them with our books."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

__all__ = ["RemoteInvoice", "RemotePayment", "RemoteRef", "RemoteStatus"]


@dataclass(frozen=True, slots=True)
class RemoteRef:
    """Where our object lives remotely. `version` is QuickBooks' SyncToken or Xero's
    UpdatedDateUTC; connectors that need it for updates store it here."""

    remote_id: str
    version: str | None = None
    number: str | None = None  # the remote's document number, when it has one


class RemoteStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"  # authorised / sent, amount due > 0
    PAID = "paid"
    PARTIALLY_PAID = "partially_paid"
    VOID = "void"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class RemotePayment:
    """A payment as the remote holds it. `invoice_id` / `invoice_number` say which invoice it
    is applied to (read-back of payments recorded only in the accounting tool); `reference` is
    ours when we pushed it (so read-back skips our own payments)."""

    remote_id: str
    amount_minor: int
    currency: str
    paid_on: date
    reference: str | None = None
    invoice_id: str | None = None
    invoice_number: str | None = None
    voided: bool = False


@dataclass(frozen=True, slots=True)
class RemoteInvoice:
    """An invoice as the remote holds it, read back (remote → ours direction)."""

    ref: RemoteRef
    number: str
    customer_id: str
    currency: str
    issue_date: date | None
    status: RemoteStatus
    total_minor: int
    amount_due_minor: int
    amount_paid_minor: int
    payments: tuple[RemotePayment, ...] = ()
