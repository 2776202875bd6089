"""Every query of the portal: links by id and by client, and revocation in bulk."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from billing.documents.models import OutgoingEmail
from billing.portal.models import PortalLink

__all__ = ["PortalRepository"]


class PortalRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, link: PortalLink) -> PortalLink:
        self.session.add(link)
        self.session.flush()
        return link

    def link(self, link_id: int) -> PortalLink | None:
        return self.session.get(PortalLink, link_id)

    def links_of_client(self, partner_id: str, client_id: str) -> list[PortalLink]:
        query = (
            select(PortalLink)
            .where(col(PortalLink.partner_id) == partner_id, col(PortalLink.client_id) == client_id)
            .order_by(col(PortalLink.id))
        )
        return list(self.session.exec(query))

    def revoke_client(self, partner_id: str, client_id: str, at: datetime) -> int:
        """Revoke every link of the client not revoked yet; returns how many."""
        result = self.session.execute(
            update(PortalLink)
            .where(
                col(PortalLink.partner_id) == partner_id,
                col(PortalLink.client_id) == client_id,
                col(PortalLink.revoked_at).is_(None),
            )
            .values(revoked_at=at)
            .execution_options(synchronize_session="fetch")
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def emails_since(self, partner_id: str, kind: str, related_id: str, since: datetime) -> bool:
        """Whether an e-mail of `kind` about `related_id` was queued at or after `since`."""
        query = (
            select(OutgoingEmail.id)
            .where(
                col(OutgoingEmail.partner_id) == partner_id,
                col(OutgoingEmail.kind) == kind,
                col(OutgoingEmail.related_id) == related_id,
                col(OutgoingEmail.created_at) >= since,
            )
            .limit(1)
        )
        return self.session.exec(query).first() is not None
