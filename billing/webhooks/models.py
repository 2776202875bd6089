"""Partner webhooks: endpoints, the events they hear of, and one delivery per (event, endpoint).

* `webhook_endpoint`: a partner's URL, the event types it subscribes to, and its signing
  secret (`secret_enc`, encrypted like every `*_enc` column, so key rotation re-encrypts it).
  During a secret rotation the previous secret stays (`previous_secret_enc`) until
  `previous_secret_expires_at`, and deliveries are signed with both (Standard Webhooks allows
  several space-separated signatures for exactly this).
* `webhook_event`: the event as sent, body bytes included: a retry or a replay by hand sends
  the same `message_id` (the `webhook-id` header receivers dedupe on) and the same bytes.
  `(partner_id, event_key)` is unique, so emitting the same change twice makes one event.
* `webhook_delivery`: a work-queue item (docs/work-queue.md) per (event, endpoint), unique,
  so enqueueing is idempotent. Statuses: `pending` (never tried), `failed` (waiting for its
  next attempt), `succeeded`, `dead`. The last answer (HTTP status, first KB of the body) is
  kept, for the dashboard and the CLI.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from config.db_types import BigId, StrEnumType, UTCDateTime, utcnow

__all__ = ["DeliveryStatus", "WebhookDelivery", "WebhookEndpoint", "WebhookEvent"]


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    FAILED = "failed"
    SUCCEEDED = "succeeded"
    DEAD = "dead"


class WebhookEndpoint(SQLModel, table=True):
    __tablename__ = "webhook_endpoint"
    __table_args__ = (Index("ix_webhook_endpoint_partner", "partner_id"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    partner_id: str = Field(
        sa_column=Column(String(64), ForeignKey("billing_partner.id"), nullable=False)
    )
    url: str = Field(sa_column=Column(String(2000), nullable=False))
    description: str = Field(default="", sa_column=Column(String(500), nullable=False))
    event_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    enabled: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    secret_enc: str = Field(sa_column=Column(Text, nullable=False))
    previous_secret_enc: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    previous_secret_expires_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class WebhookEvent(SQLModel, table=True):
    __tablename__ = "webhook_event"
    __table_args__ = (UniqueConstraint("partner_id", "event_key", name="uq_webhook_event_key"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    partner_id: str = Field(
        sa_column=Column(String(64), ForeignKey("billing_partner.id"), nullable=False)
    )
    event_key: str = Field(sa_column=Column(String(300), nullable=False))
    message_id: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    type: str = Field(sa_column=Column(String(64), nullable=False))
    version: int = Field(sa_column=Column(Integer, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id", name="uq_webhook_delivery_event_endpoint"),
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_endpoint", "endpoint_id", "id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    partner_id: str = Field(
        sa_column=Column(String(64), ForeignKey("billing_partner.id"), nullable=False)
    )
    event_id: int = Field(sa_column=Column(BigId, ForeignKey("webhook_event.id"), nullable=False))
    endpoint_id: int = Field(
        sa_column=Column(BigId, ForeignKey("webhook_endpoint.id"), nullable=False)
    )
    status: DeliveryStatus = Field(
        default=DeliveryStatus.PENDING,
        sa_column=Column(StrEnumType(DeliveryStatus, 16), nullable=False),
    )
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    next_attempt_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    last_status_code: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    last_response: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    last_attempt_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    delivered_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    replays: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
