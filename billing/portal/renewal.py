""" "E-mail me a new link": what the expired-link page offers.

Only an expired link (genuinely signed, not revoked, its row there) can be renewed, and the new
link goes only to the client's billing address on file, in a short e-mail from the partner's
sender: whoever holds the old link learns nothing and receives nothing. At most one renewal per
old link an hour (`RENEW_EVERY`), so the button cannot be used to flood a client's mailbox. The
page says the same thing whatever happened (renewed, throttled, forged, revoked, no address),
so it is no oracle for which links exist.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address

from sqlmodel import Session

from billing.documents.message import MissingAddressError, checked_address, new_message
from billing.documents.outbox import queue_email
from billing.documents.parties import PartnerBranding
from billing.invoicing.repository import InvoiceRepository
from billing.portal.repository import PortalRepository
from billing.portal.service import VISIBLE, issue_link
from billing.portal.tokens import TokenRefusedError, read_token
from billing.tenants.service import get_client, get_partner
from config.db_types import utcnow

__all__ = ["RENEWAL_KIND", "RENEW_EVERY", "renew_link"]

RENEW_EVERY = timedelta(hours=1)
RENEWAL_KIND = "portal_link"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def renew_link(session: Session, token: str, *, now: datetime | None = None) -> bool:
    """Queue an e-mail with a fresh link when `token` is an expired link that may be renewed;
    True when one was queued now."""
    moment = now or utcnow()
    try:
        parts = read_token(token)
    except TokenRefusedError:
        return False
    if parts.expires > int(moment.astimezone(UTC).timestamp()):
        return False  # still valid: nothing to renew
    repo = PortalRepository(session)
    old = repo.link(parts.link_id)
    if old is None or old.revoked_at is not None:
        return False
    if int(old.expires_at.timestamp()) != parts.expires:
        return False
    related = f"renew:{old.link_id}"
    if repo.emails_since(old.partner_id, RENEWAL_KIND, related, moment - RENEW_EVERY):
        return False
    invoice = InvoiceRepository(session).invoice(old.partner_id, old.invoice_id)
    if invoice is None or invoice.status not in VISIBLE or invoice.number is None:
        return False
    partner = get_partner(session, old.partner_id)
    client = get_client(session, old.partner_id, old.client_id)
    branding = PartnerBranding.from_partner(partner)
    try:
        sender = checked_address(branding.sender_email, "the partner", "a portal link")
        to = checked_address(client.billing_email, "the client", "a portal link")
    except MissingAddressError:
        return False
    issued = issue_link(session, invoice, now=moment)
    message = new_message(
        sender=sender,
        sender_name=branding.display_sender,
        to=[Address(_CONTROL.sub(" ", client.name).strip(), addr_spec=to)],
        subject=f"Your link to invoice {invoice.number} from {branding.name}",
    )
    message.set_content(
        f"Hello {client.name},\n\nYou asked for a new link to invoice {invoice.number}:\n"
        f"{issued.url}\n\nIf you did not ask for it, you can ignore this message.\n\n"
        f"--\n{branding.display_sender}\n"
    )
    queue_email(session, message, partner_id=old.partner_id, kind=RENEWAL_KIND, related_id=related)
    return True
