"""The event types partners can subscribe to, their payloads, and a JSON Schema per type.

Every body is the Standard Webhooks envelope (https://www.standardwebhooks.com/, spec
"Payload structure": `type`, `timestamp`, `data`) plus `version`, the version of the `data`
schema of that type (`PAYLOAD_VERSION`). A change that removes or renames a field makes a new
version; fields may be added within a version, so receivers must ignore unknown fields.
Amounts are integer minor units (`*_minor`) with their ISO 4217 `currency`; ids are strings
that the API, the CLI and the dashboard accept (invoice ids, numbers, client ids).
docs/webhooks.md documents each type; `SCHEMAS` is the contract the tests hold payloads to.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

__all__ = [
    "PAYLOAD_VERSION",
    "SCHEMAS",
    "EventType",
    "credit_note_data",
    "envelope_schema",
    "invoice_data",
    "payment_data",
    "payment_failed_data",
]

PAYLOAD_VERSION = 1


class EventType(enum.StrEnum):
    INVOICE_DRAFTED = "invoice.drafted"
    INVOICE_ISSUED = "invoice.issued"
    INVOICE_PAID = "invoice.paid"
    INVOICE_VOIDED = "invoice.voided"
    CREDIT_NOTE_ISSUED = "credit_note.issued"
    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_FAILED = "payment.failed"
    CLIENT_MARGIN_ALERT = "client.margin_alert"
    RECONCILIATION_COMPLETED = "reconciliation.completed"
    SYNC_FAILED = "sync.failed"


def _iso(value: datetime | date | None) -> str | None:
    return None if value is None else value.isoformat()


def invoice_data(invoice: Any) -> dict[str, Any]:
    """An invoice (`billing.invoicing.models.Invoice`) as every `invoice.*` event carries it.
    `number` is None while the invoice is a draft."""
    return {
        "invoice_id": str(invoice.id),
        "number": invoice.number,
        "client_id": invoice.client_id,
        "status": str(invoice.status),
        "currency": invoice.currency,
        "period_start": _iso(invoice.period_start),
        "period_end": _iso(invoice.period_end),
        "subtotal_minor": invoice.subtotal_minor,
        "discount_minor": invoice.discount_minor,
        "tax_minor": invoice.tax_minor,
        "total_minor": invoice.total_minor,
        "amount_paid_minor": invoice.amount_paid_minor,
        "credited_minor": invoice.credited_minor,
        "amount_due_minor": invoice.total_minor
        - invoice.amount_paid_minor
        - invoice.credited_minor,
        "issued_at": _iso(invoice.issued_at),
        "due_at": _iso(invoice.due_at),
    }


def credit_note_data(note: Any, invoice: Any) -> dict[str, Any]:
    return {
        "credit_note_id": str(note.id),
        "number": note.number,
        "invoice_id": str(invoice.id),
        "invoice_number": invoice.number,
        "client_id": note.client_id,
        "currency": note.currency,
        "total_minor": note.total_minor,
        "tax_minor": note.tax_minor,
        "reason": note.reason,
    }


def payment_data(payment: Any, invoice: Any) -> dict[str, Any]:
    return {
        "payment_id": str(payment.id),
        "invoice_id": str(invoice.id),
        "invoice_number": invoice.number,
        "client_id": payment.client_id,
        "currency": payment.currency,
        "amount_minor": payment.amount_minor,
        "fee_minor": payment.fee_minor,
        "method": str(payment.method),
        "source": str(payment.source),
        "external_id": payment.external_id,
        "reference": payment.reference,
        "received_at": _iso(payment.received_at),
        "invoice_amount_due_minor": invoice.total_minor
        - invoice.amount_paid_minor
        - invoice.credited_minor,
    }


def payment_failed_data(
    *,
    invoice: Any,
    amount_minor: int,
    currency: str,
    attempt: int,
    reason: str | None,
    external_id: str | None,
    next_attempt_at: datetime | None,
) -> dict[str, Any]:
    """A card payment that failed: which invoice, how much, which attempt, why (the
    processor's decline code or message), and when it is tried again (None: no more)."""
    return {
        "invoice_id": str(invoice.id),
        "invoice_number": invoice.number,
        "client_id": invoice.client_id,
        "currency": currency,
        "amount_minor": amount_minor,
        "attempt": attempt,
        "reason": reason or "declined",
        "external_id": external_id,
        "next_attempt_at": _iso(next_attempt_at),
    }


_STR = {"type": "string"}
_OPT_STR = {"type": ["string", "null"]}
_MINOR = {"type": "integer", "description": "Integer minor units of `currency`."}
_CURRENCY = {"type": "string", "pattern": "^[A-Z]{3}$"}
_DATE = {"type": "string", "format": "date"}
_OPT_DATE = {"type": ["string", "null"]}
_STAMP = {"type": "string", "format": "date-time"}
_OPT_STAMP = {"type": ["string", "null"]}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": sorted(properties),
        "additionalProperties": True,
    }


_INVOICE: dict[str, Any] = {
    "invoice_id": _STR,
    "number": _OPT_STR,
    "client_id": _STR,
    "status": _STR,
    "currency": _CURRENCY,
    "period_start": _DATE,
    "period_end": _DATE,
    "subtotal_minor": _MINOR,
    "discount_minor": _MINOR,
    "tax_minor": _MINOR,
    "total_minor": _MINOR,
    "amount_paid_minor": _MINOR,
    "credited_minor": _MINOR,
    "amount_due_minor": _MINOR,
    "issued_at": _OPT_STAMP,
    "due_at": _OPT_DATE,
}
_ISSUED_INVOICE = {**_INVOICE, "number": _STR, "issued_at": _STAMP}

SCHEMAS: dict[EventType, dict[str, Any]] = {
    EventType.INVOICE_DRAFTED: _object(_INVOICE),
    EventType.INVOICE_ISSUED: _object(_ISSUED_INVOICE),
    EventType.INVOICE_PAID: _object({**_ISSUED_INVOICE, "paid_at": _STAMP}),
    EventType.INVOICE_VOIDED: _object({**_INVOICE, "reason": _STR, "voided_at": _STAMP}),
    EventType.CREDIT_NOTE_ISSUED: _object(
        {
            "credit_note_id": _STR,
            "number": _STR,
            "invoice_id": _STR,
            "invoice_number": _OPT_STR,
            "client_id": _STR,
            "currency": _CURRENCY,
            "total_minor": _MINOR,
            "tax_minor": _MINOR,
            "reason": _OPT_STR,
        }
    ),
    EventType.PAYMENT_SUCCEEDED: _object(
        {
            "payment_id": _STR,
            "invoice_id": _STR,
            "invoice_number": _OPT_STR,
            "client_id": _STR,
            "currency": _CURRENCY,
            "amount_minor": _MINOR,
            "fee_minor": _MINOR,
            "method": _STR,
            "source": _STR,
            "external_id": _STR,
            "reference": _OPT_STR,
            "received_at": _STAMP,
            "invoice_amount_due_minor": _MINOR,
        }
    ),
    EventType.PAYMENT_FAILED: _object(
        {
            "invoice_id": _STR,
            "invoice_number": _OPT_STR,
            "client_id": _STR,
            "currency": _CURRENCY,
            "amount_minor": _MINOR,
            "attempt": {"type": "integer"},
            "reason": _STR,
            "external_id": _OPT_STR,
            "next_attempt_at": _OPT_STAMP,
        }
    ),
    EventType.CLIENT_MARGIN_ALERT: _object(
        {
            "client_id": _STR,
            "client_name": _STR,
            "period_start": _DATE,
            "period_end": _DATE,
            "currency": _CURRENCY,
            "revenue_minor": _MINOR,
            "cost_minor": _MINOR,
            "margin_percent": {
                "type": ["string", "null"],
                "description": 'Decimal string, two places (e.g. "12.50").',
            },
            "previous_margin_percent": {"type": ["string", "null"]},
            "reasons": {"type": "array", "items": {"enum": ["below", "drop"]}},
        }
    ),
    EventType.RECONCILIATION_COMPLETED: _object(
        {
            "reconciliation_id": _STR,
            "period": _STR,
            "differences": {"type": "integer"},
            "started_at": _STAMP,
            "finished_at": _OPT_STAMP,
        }
    ),
    EventType.SYNC_FAILED: _object(
        {
            "outbox_row_id": _STR,
            "connection_id": _STR,
            "provider": _STR,
            "action": _STR,
            "subject": _STR,
            "attempts": {"type": "integer"},
            "error": _STR,
        }
    ),
}
"""The `data` schema of each type, at `PAYLOAD_VERSION`."""


def envelope_schema(event_type: EventType) -> dict[str, Any]:
    """The whole body's JSON Schema (draft 2020-12) for one event type."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": event_type.value,
        "type": "object",
        "properties": {
            "type": {"const": event_type.value},
            "timestamp": _STAMP,
            "version": {"const": PAYLOAD_VERSION},
            "data": SCHEMAS[event_type],
        },
        "required": ["type", "timestamp", "version", "data"],
    }
