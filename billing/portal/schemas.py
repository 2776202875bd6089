"""What the API says about portal links. The URL (and so the token) is shown once, when the
link is made, as an API key is: listing links never shows a working URL."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from billing.portal.models import PortalLink

__all__ = ["PortalLinkPage", "PortalLinkRead", "RevokedCount", "link_read"]


class PortalLinkRead(BaseModel):
    id: int
    client_id: str
    invoice_id: int
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    url: str | None = Field(
        default=None, description="Only in the answer that made the link; never again."
    )


class PortalLinkPage(BaseModel):
    items: list[PortalLinkRead]
    next_cursor: str | None = None


class RevokedCount(BaseModel):
    revoked: int


def link_read(link: PortalLink, url: str | None = None) -> PortalLinkRead:
    return PortalLinkRead(
        id=link.link_id,
        client_id=link.client_id,
        invoice_id=link.invoice_id,
        created_at=link.created_at,
        expires_at=link.expires_at,
        revoked_at=link.revoked_at,
        last_used_at=link.last_used_at,
        url=url,
    )
