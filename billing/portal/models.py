"""`portal_link`: one row per link to the client portal that was ever handed out.

The token in the URL is signed (`billing.portal.tokens`), so a link cannot be forged or its
expiry moved; the row is what makes a link revocable and scoped. A link belongs to one client
of one partner and was made for one invoice (the page it opens first); every other invoice it
opens must be that client's. `last_used_at` tells the operator whether a link was ever opened
(it is written at most once a minute per link, not on every page view).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, ForeignKeyConstraint, Index, String
from sqlmodel import Field, SQLModel

from config.db_types import BigId, UTCDateTime, utcnow

__all__ = ["PortalLink"]


class PortalLink(SQLModel, table=True):
    __tablename__ = "portal_link"
    __table_args__ = (
        ForeignKeyConstraint(
            ["partner_id", "client_id"], ["billing_client.partner_id", "billing_client.id"]
        ),
        Index("ix_portal_link_client", "partner_id", "client_id"),
        Index("ix_portal_link_invoice", "invoice_id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    partner_id: str = Field(
        sa_column=Column(String(64), ForeignKey("billing_partner.id"), nullable=False)
    )
    client_id: str = Field(sa_column=Column(String(64), nullable=False))
    invoice_id: int = Field(sa_column=Column(BigId, ForeignKey("invoice.id"), nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    last_used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))

    @property
    def link_id(self) -> int:
        if self.id is None:
            raise ValueError("portal link has not been stored")
        return self.id
