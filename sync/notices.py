"""Telling a partner that a connection needs them: an e-mail through the mail outbox.

Connectors may not import billing, so the token store only calls a `ReauthNotifier`
(`(connection_id, reason) -> None`) when a refresh token is refused; this module, which may
import everything, turns that into a message to the partner's finance recipients (else the
partner's sender address) in the same transaction as nothing else: it commits its own row, so
the notice survives whatever the caller does next. Without any address it logs a warning; the
status also shows in `connections list` and the dashboard.
"""

from __future__ import annotations

import logging
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid

from sqlalchemy import Engine
from sqlmodel import Session

from billing.documents.models import OutgoingEmail
from billing.documents.outbox import queue_email
from billing.tenants.models import Partner
from billing.tenants.repository import TenantRepository
from config.db import session_scope
from connectors.connections.repository import get_connection
from connectors.connections.token_source import ReauthNotifier

__all__ = ["REAUTH_KIND", "queue_reauth_notice", "reauth_notifier"]

log = logging.getLogger(__name__)

REAUTH_KIND = "connection_reauth"
_FALLBACK_SENDER = "no-reply@rebill.invalid"


def _recipients(partner: Partner) -> list[str]:
    finance = partner.settings.get("finance_emails") or []
    addresses = [str(a) for a in finance if isinstance(a, str) and "@" in a]
    sender = partner.branding.get("sender_email")
    if not addresses and isinstance(sender, str) and "@" in sender:
        addresses = [sender]
    return addresses


def queue_reauth_notice(session: Session, connection_id: str, reason: str) -> OutgoingEmail | None:
    """Queue the notice in `session` (the caller commits); None when nobody can be told."""
    connection = get_connection(session, connection_id)
    if connection is None:
        return None
    partner = TenantRepository(session).partner(connection.partner_id)
    if partner is None:
        return None
    recipients = _recipients(partner)
    if not recipients:
        log.warning(
            "connection %s of partner %s needs re-authorisation and the partner has no "
            "finance_emails or sender_email to tell: %s",
            connection.name,
            partner.id,
            reason,
        )
        return None
    provider = {"quickbooks": "QuickBooks Online", "xero": "Xero"}.get(
        connection.provider.value, connection.provider.value
    )
    sender = partner.branding.get("sender_email")
    sender = sender if isinstance(sender, str) and "@" in sender else _FALLBACK_SENDER
    message = EmailMessage(policy=SMTP)
    message["From"] = Address("Rebill", addr_spec=sender)
    message["To"] = ", ".join(recipients)
    message["Subject"] = f"Action needed: reconnect {provider} ({connection.name})"
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[1])
    tenant = f" ({connection.remote_tenant_name})" if connection.remote_tenant_name else ""
    message.set_content(
        f"Hello {partner.name},\n\n"
        f"Rebill can no longer reach your {provider} connection {connection.name!r}{tenant}: "
        f"{provider} refused to renew its access.\n\nReason: {reason}\n\n"
        "Nothing is lost: invoices and changes waiting to be sent are kept and will be sent "
        "once the connection is restored. To restore it, connect again:\n\n"
        f"    python main.py connections connect {connection.provider.value} "
        f"--partner {partner.id} --name {connection.name}\n\n"
        "and open the printed link while signed in to the right organisation.\n"
    )
    return queue_email(
        session,
        message,
        partner_id=partner.id,
        kind=REAUTH_KIND,
        related_id=f"{connection.id}:{connection.token_version}",
    )


def reauth_notifier(engine: Engine) -> ReauthNotifier:
    """The notifier the worker passes to `connectors.registry.open_connector`."""

    def notify(connection_id: str, reason: str) -> None:
        log.warning("connection %s needs re-authorisation: %s", connection_id, reason)
        with session_scope(engine) as session:
            queue_reauth_notice(session, connection_id, reason)

    return notify
