"""Issue, verify and revoke links to the client portal; what a link may open.

A link is made for one invoice of one client and opens that client's issued invoices (and the
voided ones: a client told an invoice was voided may look it up), never a draft and never
another client's. Services never commit: the caller's unit of work does (invoice issuing
creates the link in the transaction that queues the e-mail carrying it, so a rolled-back issue
leaves no link, and a re-sent e-mail carries a link that exists).

Lifetime: `REBILL_PORTAL_LINK_DAYS`, default 90 days. Invoices are often paid late (net 30
plus dunning), and a client who opens last quarter's e-mail to dispute a line should still
land on the invoice; beyond that, the partner or the next e-mail gives a fresh link. The
lifetime is a bound on a leaked e-mail, revocation the answer to a known leak.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from billing.invoicing.models import ISSUED_STATES, Invoice, InvoiceStatus
from billing.invoicing.repository import InvoiceRepository
from billing.invoicing.service import get_invoice
from billing.portal.errors import (
    LinkExpiredError,
    LinkForgedError,
    LinkRevokedError,
    NotIssuedError,
    PortalInvoiceNotFoundError,
)
from billing.portal.models import PortalLink
from billing.portal.repository import PortalRepository
from billing.portal.tokens import TokenRefusedError, read_token, sign_token
from config.db_types import utcnow
from config.settings import get_settings

__all__ = [
    "TOUCH_EVERY",
    "IssuedLink",
    "invoice_in_scope",
    "issue_link",
    "issue_link_for",
    "links_of_client",
    "portal_url",
    "revoke_client_links",
    "revoke_link",
    "verify_link",
]

#: `last_used_at` is written when it is older than this: a page view is not a write each time.
TOUCH_EVERY = timedelta(minutes=1)
VISIBLE = frozenset({*ISSUED_STATES, InvoiceStatus.VOID})


@dataclass(frozen=True, slots=True)
class IssuedLink:
    link: PortalLink
    token: str

    @property
    def url(self) -> str:
        return portal_url(self.token)


def portal_url(token: str, base: str | None = None) -> str:
    """The absolute URL a client opens (`REBILL_PUBLIC_URL` + `/portal/<token>`)."""
    root = (base or get_settings().public_url).rstrip("/")
    return f"{root}/portal/{token}"


def _stamp(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp())


def issue_link(
    session: Session,
    invoice: Invoice,
    *,
    now: datetime | None = None,
    days: int | None = None,
) -> IssuedLink:
    """A new link for `invoice`'s client, opening on `invoice`. The expiry is whole seconds
    (what the token carries) so the row and the token agree exactly."""
    moment = now or utcnow()
    lifetime = timedelta(days=days if days is not None else get_settings().portal_link_days)
    expires = datetime.fromtimestamp(_stamp(moment + lifetime), UTC)
    link = PortalRepository(session).add(
        PortalLink(
            partner_id=invoice.partner_id,
            client_id=invoice.client_id,
            invoice_id=invoice.invoice_id,
            created_at=moment,
            expires_at=expires,
        )
    )
    return IssuedLink(link, sign_token(link.link_id, _stamp(expires)))


def issue_link_for(
    session: Session,
    partner_id: str,
    key: str | int,
    *,
    now: datetime | None = None,
    days: int | None = None,
) -> IssuedLink:
    """A fresh link for the partner's invoice `key` (number or id): what an operator hands
    a client whose link expired or was revoked. Raises `InvoiceNotFoundError` (another
    partner's invoice too) and `NotIssuedError` for a draft."""
    invoice = get_invoice(session, partner_id, key)
    if invoice.status not in VISIBLE:
        raise NotIssuedError(
            f"invoice {key} is {invoice.status}: a portal link opens issued invoices only"
        )
    return issue_link(session, invoice, now=now, days=days)


def links_of_client(session: Session, partner_id: str, client_id: str) -> list[PortalLink]:
    return PortalRepository(session).links_of_client(partner_id, client_id)


def verify_link(
    session: Session, token: str, *, now: datetime | None = None, touch: bool = True
) -> PortalLink:
    """The link a token stands for, if it may be used now. Refused: a token we did not sign
    (`LinkForgedError`, before the database is read), a revoked link (`LinkRevokedError`,
    even when also expired: a withdrawn link is not offered a renewal), one past its expiry
    (`LinkExpiredError`). None of them reveals any data."""
    moment = now or utcnow()
    try:
        parts = read_token(token)
    except TokenRefusedError as exc:
        raise LinkForgedError(str(exc)) from exc
    link = PortalRepository(session).link(parts.link_id)
    if link is None or _stamp(link.expires_at) != parts.expires:
        # Signed by us, but no such row (a database restored from before it) or not its
        # expiry: treat as not ours.
        raise LinkForgedError("not a portal link")
    if link.revoked_at is not None:
        raise LinkRevokedError("this link was revoked", link.link_id)
    if parts.expires <= _stamp(moment):
        raise LinkExpiredError("this link has expired", parts.link_id)
    if touch and (link.last_used_at is None or moment - link.last_used_at >= TOUCH_EVERY):
        link.last_used_at = moment
        session.add(link)
    return link


def invoice_in_scope(session: Session, link: PortalLink, invoice_id: int | None = None) -> Invoice:
    """The invoice the link opens (its own when `invoice_id` is None): one of the link's
    client's invoices that has been issued (or voided), else `PortalInvoiceNotFoundError`,
    the same for another client's invoice and for one that does not exist."""
    wanted = link.invoice_id if invoice_id is None else invoice_id
    found = InvoiceRepository(session).invoice(link.partner_id, wanted)
    if found is None or found.client_id != link.client_id or found.status not in VISIBLE:
        raise PortalInvoiceNotFoundError(f"no invoice {wanted} here")
    return found


def revoke_link(session: Session, link_id: int, *, now: datetime | None = None) -> PortalLink:
    """Revoke one link (revoking it again keeps the first time). LookupError if unknown."""
    link = PortalRepository(session).link(link_id)
    if link is None:
        raise LookupError(f"no portal link {link_id}")
    if link.revoked_at is None:
        link.revoked_at = now or utcnow()
        session.add(link)
    return link


def revoke_client_links(
    session: Session, partner_id: str, client_id: str, *, now: datetime | None = None
) -> int:
    """Revoke every live link of one client; returns how many were revoked."""
    return PortalRepository(session).revoke_client(partner_id, client_id, now or utcnow())
