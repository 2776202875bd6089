"""Tenants: partners, their clients and usage types, and the API keys that act for them.

Clients and usage types are keyed by `(partner_id, slug)` so that a slug is unique per partner
and every foreign key from usage events carries the tenant: a row of partner A can never point
at a client of partner B, whatever the code above gets wrong.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlmodel import Field, SQLModel

from config.db_types import DecimalText, StrEnumType, UTCDateTime, utcnow, uuid7

__all__ = [
    "Aggregation",
    "ApiKey",
    "Client",
    "ClientStatus",
    "Partner",
    "PartnerLogo",
    "Scope",
    "UsageType",
]


class ClientStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    ARCHIVED = "archived"


class Aggregation(enum.StrEnum):
    """How a period's events of one usage type become one billable quantity."""

    SUM = "sum"
    COUNT = "count"
    MAX = "max"
    UNIQUE_COUNT = "unique_count"


class Scope(enum.StrEnum):
    INGEST = "ingest"
    READ = "read"
    ADMIN = "admin"


class Partner(SQLModel, table=True):
    __tablename__ = "billing_partner"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    currency: str = Field(max_length=3)
    timezone: str = Field(max_length=64)
    invoice_prefix: str = Field(max_length=20)
    branding: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Client(SQLModel, table=True):
    __tablename__ = "billing_client"
    __table_args__ = (UniqueConstraint("partner_id", "external_ref"),)

    partner_id: str = Field(foreign_key="billing_partner.id", primary_key=True, max_length=64)
    id: str = Field(primary_key=True, max_length=64)
    external_ref: str | None = Field(default=None, max_length=200)
    name: str = Field(max_length=200)
    billing_email: str | None = Field(default=None, max_length=320)
    address: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    currency: str = Field(max_length=3)
    timezone: str = Field(max_length=64)
    billing_anchor_day: int = Field(default=1)
    status: ClientStatus = Field(
        default=ClientStatus.ACTIVE,
        sa_column=Column(
            StrEnumType(ClientStatus, 16), nullable=False, default=ClientStatus.ACTIVE
        ),
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class UsageType(SQLModel, table=True):
    __tablename__ = "billing_usage_type"

    partner_id: str = Field(foreign_key="billing_partner.id", primary_key=True, max_length=64)
    code: str = Field(primary_key=True, max_length=64)
    display_name: str = Field(max_length=200)
    unit: str = Field(max_length=40)
    precision: int = Field(default=0)
    aggregation: Aggregation = Field(
        default=Aggregation.SUM,
        sa_column=Column(StrEnumType(Aggregation, 16), nullable=False, default=Aggregation.SUM),
    )
    aggregation_property: str | None = Field(default=None, max_length=100)
    # Per unit, in the partner's currency; the rating issue generalises this to price models.
    wholesale_rate: Decimal = Field(
        default=Decimal(0), sa_column=Column(DecimalText, nullable=False)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class ApiKey(SQLModel, table=True):
    """Only the key's SHA-256 is stored; `partner_id` NULL marks a platform key."""

    __tablename__ = "billing_api_key"
    __table_args__ = (Index("ix_billing_api_key_partner", "partner_id"),)

    id: uuid.UUID = Field(default_factory=uuid7, sa_column=Column(Uuid, primary_key=True))
    partner_id: str | None = Field(
        default=None,
        sa_column=Column(String(64), ForeignKey("billing_partner.id"), nullable=True),
    )
    name: str = Field(default="", max_length=200)
    prefix: str = Field(sa_column=Column(String(32), nullable=False, unique=True))
    key_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    scopes: str = Field(max_length=100)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))

    @property
    def scope_set(self) -> frozenset[Scope]:
        return frozenset(Scope(s) for s in self.scopes.split())


class PartnerLogo(SQLModel, table=True):
    """The partner's logo, uploaded and checked (`billing.tenants.logos`): the only image its
    invoices, e-mails and dashboard show. Kept in the database so every API process and worker
    reads the same bytes, and nothing is ever read from a path someone typed."""

    __tablename__ = "billing_partner_logo"

    partner_id: str = Field(
        sa_column=Column(String(64), ForeignKey("billing_partner.id"), primary_key=True)
    )
    media_type: str = Field(sa_column=Column(String(32), nullable=False))
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    sha256: str = Field(sa_column=Column(String(64), nullable=False))
    width: int = Field(sa_column=Column(Integer, nullable=False))
    height: int = Field(sa_column=Column(Integer, nullable=False))
    uploaded_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
