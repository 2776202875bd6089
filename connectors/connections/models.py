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
from typing import Any, ClassVar

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema
from sqlalchemy import Column, Dialect, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from config.db_types import StrEnumType, UTCDateTime, utcnow, uuid7

__all__ = ["Connection", "ConnectionStatus", "OAuthState", "Provider", "new_id"]


def new_id() -> str:
    return uuid7().hex


class Provider(str):
    """A remote system's name as its profile publishes it (`connectors.profiles`): data, not an
    enum, so a new remote adds nothing here; the connections service accepts the names of the
    registered profiles. The column was already a plain VARCHAR(16), so no migration.
    `.value` is the name itself, for code written when this was an enum."""

    __slots__ = ()

    QUICKBOOKS: ClassVar[Provider]
    XERO: ClassVar[Provider]
    FRESHBOOKS: ClassVar[Provider]
    STRIPE: ClassVar[Provider]

    @property
    def value(self) -> str:
        return str.__str__(self)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(cls, core_schema.str_schema())


Provider.QUICKBOOKS = Provider("quickbooks")
Provider.XERO = Provider("xero")
Provider.FRESHBOOKS = Provider("freshbooks")
Provider.STRIPE = Provider("stripe")


class ProviderType(TypeDecorator[Provider]):
    """A provider name in a VARCHAR, loaded back as a `Provider`."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else str.__str__(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Provider | None:
        return None if value is None else Provider(value)


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
    provider: Provider = Field(sa_column=Column(ProviderType(16), nullable=False))
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
    provider: Provider = Field(sa_column=Column(ProviderType(16), nullable=False))
    connection_name: str = Field(sa_column=Column(String(64), nullable=False))
    tenant_name: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
