"""The billing event log: what the outside world must hear of, appended in the same
transaction as the change (the sync outbox reads it later; billing never imports sync).

Invoicing writes its own events (issued, voided, credited). `client.changed` is written by a
mapper listener registered here: whenever a client row is inserted or really changed through
the ORM (the tenants API and CLI, `config apply`), the event goes into the same flush, so the
tenants package needs no knowledge of the log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, event, insert, inspect
from sqlalchemy.orm import Mapper
from sqlmodel import Session

from billing.invoicing.models import BillingEvent, BillingEventKind, CreditNote, Invoice
from billing.invoicing.repository import InvoiceRepository
from billing.tenants.models import Client
from config.db_types import utcnow

__all__ = [
    "client_payload",
    "credit_note_payload",
    "event_row",
    "invoice_payload",
    "record_event",
]


def invoice_payload(invoice: Invoice) -> dict[str, Any]:
    """The invoice as the outbox needs it to find and update remote copies."""
    return {
        "invoice_id": str(invoice.id),
        "number": invoice.number,
        "client": invoice.client_id,
        "status": str(invoice.status),
        "currency": invoice.currency,
        "period_start": invoice.period_start.isoformat(),
        "period_end": invoice.period_end.isoformat(),
        "total_minor": invoice.total_minor,
        "tax_minor": invoice.tax_minor,
        "issued_at": invoice.issued_at.isoformat() if invoice.issued_at else None,
        "due_at": invoice.due_at.isoformat() if invoice.due_at else None,
        "auto_charge": invoice.auto_charge,
    }


def credit_note_payload(note: CreditNote, invoice: Invoice) -> dict[str, Any]:
    return {
        "credit_note_id": str(note.id),
        "number": note.number,
        "invoice_id": str(invoice.id),
        "invoice_number": invoice.number,
        "client": note.client_id,
        "currency": note.currency,
        "total_minor": note.total_minor,
        "tax_minor": note.tax_minor,
        "reason": note.reason,
    }


def event_row(
    partner_id: str,
    kind: BillingEventKind,
    subject_type: str,
    subject_id: str,
    payload: dict[str, Any],
    created_at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "partner_id": partner_id,
        "kind": kind,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "payload": payload,
        "created_at": created_at or utcnow(),
    }


def record_event(
    session: Session,
    partner_id: str,
    kind: BillingEventKind,
    subject_type: str,
    subject_id: str,
    payload: dict[str, Any],
) -> BillingEvent:
    """One event in the caller's transaction."""
    event = BillingEvent(
        partner_id=partner_id,
        kind=kind,
        subject_type=subject_type,
        subject_id=subject_id,
        payload=payload,
    )
    return InvoiceRepository(session).add(event)


def client_payload(client: Client) -> dict[str, Any]:
    return {
        "client": client.id,
        "name": client.name,
        "external_ref": client.external_ref,
        "billing_email": client.billing_email,
        "address": dict(client.address or {}),
        "currency": client.currency,
        "timezone": client.timezone,
        "status": str(client.status),
    }


_STAMPS = frozenset({"created_at", "updated_at"})


def _client_created(_mapper: Mapper[Client], connection: Connection, target: Client) -> None:
    _log_client(connection, target)


def _client_updated(_mapper: Mapper[Client], connection: Connection, target: Client) -> None:
    # A flush may visit a client that did not change, or only had its timestamp touched.
    if any(attr.history.has_changes() for attr in inspect(target).attrs if attr.key not in _STAMPS):
        _log_client(connection, target)


def _log_client(connection: Connection, target: Client) -> None:
    table: Any = BillingEvent.__table__  # type: ignore[attr-defined]
    connection.execute(
        insert(table).values(
            event_row(
                target.partner_id,
                BillingEventKind.CLIENT_CHANGED,
                "client",
                target.id,
                client_payload(target),
            )
        )
    )


event.listen(Client, "after_insert", _client_created)
event.listen(Client, "after_update", _client_updated)
