"""Usage events: what each client used, when, and what it cost wholesale. Append-only.

The quantity is stored as a scaled integer (millionths of the unit) rather than text, so SQL
can sum it exactly on both databases (SQLite would sum text as REAL) and rating can aggregate
in the database. The row id is a UUIDv7: inserts land at the right edge of the primary-key
index and keyset pagination on it follows arrival order.

The only index by client is rating's covering index (`billing.pricing.models.RATING_INDEX`);
it serves the audit trail's per-client queries too (migration 0019). Every further index is
one more random B-tree insert per ingested event.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from config.db_types import StrEnumType, UTCDateTime, uuid7

__all__ = ["QUANTITY_SCALE", "EventSource", "ScaledQuantity", "UsageEvent"]

QUANTITY_SCALE = 6
"""Decimal places a stored quantity keeps; a usage type's precision may not exceed it."""


class EventSource(enum.StrEnum):
    API = "api"
    CSV = "csv"
    ADJUSTMENT = "adjustment"


class ScaledQuantity(TypeDecorator[Decimal]):
    """A Decimal stored exactly as an integer count of 10^-QUANTITY_SCALE units."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        scaled = Decimal(value).scaleb(QUANTITY_SCALE)
        if not scaled.is_finite() or scaled != scaled.to_integral_value():
            raise ValueError(f"quantity {value} needs more than {QUANTITY_SCALE} decimals")
        return int(scaled)

    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value).scaleb(-QUANTITY_SCALE)


class UsageEvent(SQLModel, table=True):
    __tablename__ = "usage_event"
    __table_args__ = (
        UniqueConstraint("partner_id", "event_id", name="uq_usage_event_partner_event"),
        ForeignKeyConstraint(
            ["partner_id", "client_id"], ["billing_client.partner_id", "billing_client.id"]
        ),
        ForeignKeyConstraint(
            ["partner_id", "usage_type"],
            ["billing_usage_type.partner_id", "billing_usage_type.code"],
        ),
        CheckConstraint(
            "(source = 'adjustment') = (adjusts_id IS NOT NULL)",
            name="ck_usage_event_adjustment_link",
        ),
        CheckConstraint(
            "source = 'adjustment' OR quantity >= 0", name="ck_usage_event_quantity_sign"
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid7, sa_column=Column(Uuid, primary_key=True))
    partner_id: str = Field(max_length=64)
    client_id: str = Field(max_length=64)
    usage_type: str = Field(max_length=64)
    event_id: str = Field(max_length=200)
    quantity: Decimal = Field(sa_column=Column(ScaledQuantity, nullable=False))
    occurred_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    received_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    properties: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON(none_as_null=True), nullable=True)
    )
    source: EventSource = Field(sa_column=Column(StrEnumType(EventSource, 16), nullable=False))
    wholesale_cost: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(max_length=3)
    adjusts_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(Uuid, ForeignKey("usage_event.id"), nullable=True)
    )
    # blake2b-128 of the canonical body: enough to tell a replay from a conflict.
    body_hash: str = Field(max_length=32)
