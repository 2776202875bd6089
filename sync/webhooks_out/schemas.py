"""Request and response bodies of `/v1/webhook-endpoints` and `/v1/webhook-deliveries`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from billing.webhooks.events import EventType
from billing.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

__all__ = [
    "DeliveryOut",
    "DeliveryPage",
    "EndpointCreate",
    "EndpointCreated",
    "EndpointOut",
    "EndpointPage",
    "EndpointUpdate",
    "RotateIn",
    "RotatedSecret",
    "delivery_out",
    "endpoint_out",
]

_TYPES = ", ".join(t.value for t in EventType)


class EndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        max_length=2000,
        description="Where events are POSTed: https (plain http and private addresses only "
        "when the operator allows them).",
    )
    event_types: list[str] = Field(min_length=1, max_length=20, description=f"Of: {_TYPES}.")
    description: str = Field(default="", max_length=500)


class EndpointUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, max_length=2000)
    event_types: list[str] | None = Field(default=None, min_length=1, max_length=20)
    enabled: bool | None = None
    description: str | None = Field(default=None, max_length=500)


class RotateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window_hours: int = Field(
        default=24,
        ge=0,
        le=24 * 7,
        description="How long the previous secret still signs beside the new one.",
    )


class EndpointOut(BaseModel):
    id: int
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    rotating_until: datetime | None = Field(
        description="While set, deliveries carry a signature by the previous secret too."
    )
    created_at: datetime
    updated_at: datetime


class EndpointCreated(EndpointOut):
    secret: str = Field(description="`whsec_...`: shown once; store it with your receiver.")


class RotatedSecret(BaseModel):
    endpoint_id: int
    secret: str = Field(description="The new `whsec_...` secret: shown once.")
    previous_secret_expires_at: datetime


class EndpointPage(BaseModel):
    items: list[EndpointOut]
    next_cursor: str | None = None


class DeliveryOut(BaseModel):
    id: int
    endpoint_id: int
    event_type: str
    webhook_id: str = Field(description="The `webhook-id` header: the same on every attempt.")
    status: str = Field(description="pending, failed (retrying), succeeded or dead.")
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_response: str | None = Field(description="The first KiB of the last answer's body.")
    last_error: str | None
    delivered_at: datetime | None
    replays: int
    created_at: datetime
    payload: dict[str, Any]


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


def endpoint_out(row: WebhookEndpoint, now: datetime) -> EndpointOut:
    assert row.id is not None
    until = row.previous_secret_expires_at
    return EndpointOut(
        id=row.id,
        url=row.url,
        description=row.description,
        event_types=list(row.event_types),
        enabled=row.enabled,
        rotating_until=until if until is not None and until > now else None,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def delivery_out(row: WebhookDelivery, event: WebhookEvent) -> DeliveryOut:
    import json

    assert row.id is not None
    return DeliveryOut(
        id=row.id,
        endpoint_id=row.endpoint_id,
        event_type=event.type,
        webhook_id=event.message_id,
        status=str(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_attempt_at=row.last_attempt_at,
        last_status_code=row.last_status_code,
        last_response=row.last_response,
        last_error=row.last_error,
        delivered_at=row.delivered_at,
        replays=row.replays,
        created_at=row.created_at,
        payload=json.loads(event.body),
    )
