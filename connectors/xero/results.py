"""Turning Xero's answers into our references, and the small checks around them (kept apart
from `connector` so each module stays readable)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from connectors.base import ConnectorError, RejectedError
from connectors.xero import payloads
from remote_specs import InvoiceSpec, RemoteInvoice, RemoteRef, RemoteStatus

__all__ = [
    "check_total",
    "contact_differs",
    "contact_ref",
    "invoice_ref",
    "is_dead",
    "is_duplicate_number",
    "is_ours",
    "item_ref",
    "same_length",
    "settled",
]

logger = logging.getLogger("connectors.xero")
Element = Mapping[str, Any]


def same_length(values: Sequence[object], keys: Sequence[str]) -> None:
    if len(values) != len(keys):
        raise ValueError(f"{len(values)} elements but {len(keys)} idempotency keys")


def settled(result: RemoteRef | ConnectorError | None) -> RemoteRef | ConnectorError:
    if result is None:  # pragma: no cover - every index is filled above
        raise RuntimeError("an element got no answer")
    return result


def contact_ref(contact: Element) -> RemoteRef:
    return RemoteRef(
        remote_id=str(contact["ContactID"]),
        version=payloads.version_of(contact),
        number=contact.get("ContactNumber"),
    )


def contact_differs(existing: Element, wanted: Mapping[str, object]) -> bool:
    return any(
        str(existing.get(key) or "") != str(wanted.get(key) or "")
        for key in ("Name", "ContactNumber", "EmailAddress")
    )


def item_ref(item: Element) -> RemoteRef:
    return RemoteRef(
        remote_id=str(item["ItemID"]), version=payloads.version_of(item), number=item.get("Code")
    )


def invoice_ref(invoice: Element) -> RemoteRef:
    return RemoteRef(
        remote_id=str(invoice["InvoiceID"]),
        version=payloads.version_of(invoice),
        number=invoice.get("InvoiceNumber"),
    )


def is_dead(invoice: RemoteInvoice) -> bool:
    return invoice.status in (RemoteStatus.VOID, RemoteStatus.DELETED)


def check_total(spec: InvoiceSpec, element: Element) -> None:
    """Xero's total should be ours to the cent by construction; say so loudly if not (the
    reconciliation report will list it too)."""
    if "Total" not in element:
        return
    remote = payloads.to_cents(element.get("Total"), spec.currency)
    if remote != spec.total_minor:
        logger.warning(
            "xero invoice %s: remote total %d != ours %d (%s)",
            spec.number,
            remote,
            spec.total_minor,
            spec.currency,
        )


def is_duplicate_number(error: RejectedError) -> bool:
    """Xero's "Invoice # must be unique." on an element."""
    return any("must be unique" in e.message.lower() for e in error.errors)


def is_ours(existing: RemoteInvoice, spec: InvoiceSpec) -> bool:
    """An invoice with our number that we may take as the one we meant to create: live, for
    the same contact, with our total (anything else is somebody else's document)."""
    return (
        not is_dead(existing)
        and existing.customer_id == spec.customer.remote_id
        and existing.total_minor == spec.total_minor
        and existing.currency.upper() == spec.currency.upper()
    )
