"""Stored connections to accounting systems and the pending OAuth consent states.

A connection is one partner's link to one remote organisation (a QuickBooks realm, a Xero
tenant), named as in the partner file (`[partner.connections.<name>]`) so the mapping settings
and the credentials meet by name. Tokens are stored only encrypted (`crypto.TokenCipher`);
`token_version` grows by one on every refresh so a refresher that waited for a lock can tell
that someone else already rotated the tokens (and must not spend the old refresh token again).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from config.db_types import StrEnumType, UTCDateTime, utcnow, uuid7

__all__ = ["Connection", "ConnectionStatus", "OAuthState", "Provider", "new_id"]


def new_id() -> str:
    return uuid7().hex


class Provider(enum.StrEnum):
    QUICKBOOKS = "quickbooks"
    XERO = "xero"
    FRESHBOOKS = "freshbooks"
    STRIPE = "stripe"


class ConnectionStatus(enum.StrEnum):
    PENDING = "pending"  # consent started, no tokens yet
    ACTIVE = "active"
    NEEDS_REAUTH = "needs_reauth"  # refresh token refused: the partner must connect again
    DISCONNECTED = "disconnected"  # tokens wiped on request


class Connection(SQLModel, table=True):
    __tablename__ = "connector_connection"
    __table_args__ = (
        UniqueConstraint("partner_id", "name", name="uq_connector_connection_partner_name"),
        Index("ix_connector_connection_partner", "partner_id", "provider"),
    )

    id: str = Field(default_factory=new_id, sa_column=Column(String(32), primary_key=True))
    partner_id: str = Field(
        sa_column=Column(String(64), ForeignKey("billing_partner.id"), nullable=False)
    )
    name: str = Field(sa_column=Column(String(64), nullable=False))
    provider: Provider = Field(sa_column=Column(StrEnumType(Provider, 16), nullable=False))
    status: ConnectionStatus = Field(
        default=ConnectionStatus.PENDING,
        sa_column=Column(StrEnumType(ConnectionStatus, 16), nullable=False),
    )
    remote_tenant: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    remote_tenant_name: str | None = Field(
        default=None, sa_column=Column(String(200), nullable=True)
    )
    base_url: str | None = Field(default=None, sa_column=Column(String(500), nullable=True))
    access_token_enc: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    refresh_token_enc: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    access_expires_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    refresh_expires_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    token_version: int = Field(default=0, nullable=False)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class OAuthState(SQLModel, table=True):
    """One consent in progress: the random `state` sent to the provider and expected back on
    the callback. Deleted when used, so it works once; refused after `expires_at`."""

    __tablename__ = "connector_oauth_state"

    state: str = Field(sa_column=Column(String(64), primary_key=True))
    partner_id: str = Field(
        sa_column=Column(String(64), ForeignKey("billing_partner.id"), nullable=False)
    )
    provider: Provider = Field(sa_column=Column(StrEnumType(Provider, 16), nullable=False))
    connection_name: str = Field(sa_column=Column(String(64), nullable=False))
    tenant_name: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
