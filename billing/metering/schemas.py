"""What ingestion and the audit trail hand back, and the documented shape of an event.

Quantities leave as strings ("12.5"), never JSON numbers, so no client parses them into a
binary float on the way out.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from billing.metering.models import UsageEvent
from billing.metering.validation import Rejection
from config.problems import Problem

__all__ = [
    "BatchErrorResponse",
    "IngestResponse",
    "IngestResult",
    "RejectedEvent",
    "SummaryLine",
    "SummaryResponse",
    "UsageEventIn",
    "UsageEventOut",
    "UsageEventPage",
    "quantity_text",
]


def quantity_text(value: Decimal) -> str:
    """`Decimal("12.500000")` -> `"12.5"`; `Decimal("1E+2")` -> `"100"`."""
    return format(value.normalize(), "f") if value else "0"


@dataclass(slots=True)
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.rejections)


class UsageEventIn(BaseModel):
    """One element of the `POST /v1/usage` array (documentation: the body is parsed by hand)."""

    event_id: str = Field(max_length=200, description="Your id; unique per partner.")
    client: str = Field(description="Client id (slug).")
    usage_type: str = Field(description="Usage type code, e.g. voice_minutes.")
    quantity: Decimal | str = Field(
        description="A JSON number or decimal string; at most the usage type's decimals. "
        "Negative only in adjustments."
    )
    occurred_at: datetime = Field(description="ISO 8601 with a time zone offset or Z.")
    properties: dict[str, Any] | None = Field(default=None, description="At most 16 KiB.")
    adjusts: str | None = Field(
        default=None,
        description="For a correction: the event_id it corrects (same client and usage type).",
    )


class BatchErrorResponse(Problem):
    """A body that is not a JSON array of events (400): problem details like every error of
    the API, plus where the JSON broke."""

    line: int | None = Field(default=None, description="Where the JSON broke (from 1).")
    column: int | None = None


class RejectedEvent(BaseModel):
    index: int = Field(description="Position in the submitted array (from 0).")
    event_id: str | None
    field: str
    reason: str


class IngestResponse(BaseModel):
    accepted: int
    duplicates: int
    rejected: int
    rejections: list[RejectedEvent]

    @classmethod
    def of(cls, result: IngestResult) -> IngestResponse:
        return cls(
            accepted=result.accepted,
            duplicates=result.duplicates,
            rejected=result.rejected,
            rejections=[
                RejectedEvent(index=r.index, event_id=r.event_id, field=r.field, reason=r.reason)
                for r in result.rejections
            ],
        )


class UsageEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    event_id: str
    client: str
    usage_type: str
    quantity: str
    occurred_at: datetime
    received_at: datetime
    properties: dict[str, Any] | None
    source: str
    wholesale_cost: int | None = Field(
        description="Minor units of `currency`; null for non-admin keys."
    )
    currency: str
    adjusts_id: uuid.UUID | None

    @classmethod
    def of(cls, event: UsageEvent) -> UsageEventOut:
        return cls(
            id=event.id,
            event_id=event.event_id,
            client=event.client_id,
            usage_type=event.usage_type,
            quantity=quantity_text(event.quantity),
            occurred_at=event.occurred_at,
            received_at=event.received_at,
            properties=event.properties,
            source=event.source,
            wholesale_cost=event.wholesale_cost,
            currency=event.currency,
            adjusts_id=event.adjusts_id,
        )


class UsageEventPage(BaseModel):
    items: list[UsageEventOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class SummaryLine(BaseModel):
    client: str
    usage_type: str
    day: date = Field(description="Calendar day in the client's time zone.")
    quantity: str
    events: int
    wholesale_cost: int | None = Field(
        description="Minor units of `currency`; null for non-admin keys."
    )
    currency: str


class SummaryResponse(BaseModel):
    start: date
    end: date = Field(description="Inclusive.")
    lines: list[SummaryLine]
