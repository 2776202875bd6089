"""FreshBooks webhook callbacks we registered: one row per (account, callback id) holding the
verifier FreshBooks sent to verify it, encrypted. The verifier is the HMAC key of every later
delivery's ``X-FreshBooks-Hmac-SHA256``, so it is a secret: stored only through
`connectors.connections.crypto` (Fernet), never logged."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, String, Text
from sqlmodel import Field, SQLModel

from config.db_types import UTCDateTime, utcnow

__all__ = ["FreshBooksCallback"]


class FreshBooksCallback(SQLModel, table=True):
    __tablename__ = "freshbooks_callback"

    account_id: str = Field(sa_column=Column(String(64), primary_key=True))
    callback_id: str = Field(sa_column=Column(String(32), primary_key=True))
    connection_id: str = Field(
        sa_column=Column(String(32), ForeignKey("connector_connection.id"), nullable=False)
    )
    event: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    verifier_enc: str = Field(sa_column=Column(Text, nullable=False))
    verified_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
