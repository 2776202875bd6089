"""E-mails about charges, through the existing mail outbox (`queue_email`): queued in the
caller's transaction, so a notice goes out if and only if the state change it reports commits.

From the partner's branded sender (`branding.sender_email`, required to e-mail anyone), to the
client's billing address, and to the partner's finance addresses (else its sender address).
Plain text: these are short operational notices, the invoice itself was e-mailed at issue.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid

from sqlmodel import Session

from billing.documents import queue_email
from billing.invoicing.models import Invoice
from billing.tenants.models import Client, Partner
from billing.tenants.repository import TenantRepository
from config.money import format_minor

__all__ = [
    "Notice",
    "alert_partner",
    "client_notice",
    "partner_notice",
    "partner_recipients",
    "queue_notice",
]

log = logging.getLogger(__name__)
_ADDRESS = re.compile(r"^[^@\s<>\",]+@[^@\s<>\",]+\.[^@\s<>\",]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True, slots=True)
class Notice:
    subject: str
    body: str


def _clean(value: str) -> str:
    return _CONTROL.sub(" ", value).strip()


def _valid(address: object) -> str | None:
    if isinstance(address, str) and _ADDRESS.match(address.strip()):
        return address.strip()
    return None


def partner_recipients(partner: Partner) -> list[str]:
    settings = partner.settings or {}
    found = [a for a in (_valid(x) for x in settings.get("finance_emails") or []) if a]
    if not found:
        sender = _valid((partner.branding or {}).get("sender_email"))
        found = [sender] if sender else []
    return found


def queue_notice(
    session: Session,
    partner: Partner,
    recipients: Sequence[str | None],
    notice: Notice,
    *,
    kind: str,
    related_id: str | None,
) -> int:
    """Queue one message per valid recipient; returns how many were queued. A partner
    without a sender address cannot e-mail: logged, not raised (the charge state still moves,
    and `stripe charges` shows it)."""
    branding = partner.branding or {}
    sender = _valid(branding.get("sender_email"))
    if sender is None:
        log.warning("partner %s has no branding.sender_email: %s not e-mailed", partner.id, kind)
        return 0
    name = _clean(str(branding.get("sender_name") or partner.name))
    queued = 0
    for recipient in recipients:
        address = _valid(recipient)
        if address is None:
            log.warning(
                "partner %s: %s not e-mailed to %r (no valid address)", partner.id, kind, recipient
            )
            continue
        message = EmailMessage(policy=SMTP)
        message["From"] = Address(name, addr_spec=sender)
        message["To"] = Address(addr_spec=address)
        message["Subject"] = _clean(notice.subject)
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[1])
        message.set_content(notice.body)
        queue_email(session, message, partner_id=partner.id, kind=kind, related_id=related_id)
        queued += 1
    return queued


def _amount(invoice: Invoice, amount_minor: int) -> str:
    return format_minor(amount_minor, invoice.currency)


def client_notice(
    kind: str,
    *,
    partner: Partner,
    client: Client,
    invoice: Invoice,
    amount_minor: int,
    reason: str | None = None,
    next_attempt: date | None = None,
    link: str | None = None,
) -> Notice:
    """`kind`: `declined` (a retry is scheduled), `action` (authenticate), `failed` (last)."""
    number = invoice.number or str(invoice.id)
    money = _amount(invoice, amount_minor)
    hello = f"Hello {client.name},\n\n"
    sign = f"\n\nThank you,\n{partner.name}\n"
    if kind == "action":
        return Notice(
            f"Please confirm the payment of invoice {number}",
            hello + f"Your bank asks you to confirm the payment of {money} for invoice "
            f"{number}. Please confirm it here:\n\n{link or '(ask us for a payment link)'}\n\n"
            "Your card will not be charged again until you do." + sign,
        )
    update = (
        f"\n\nTo use another card, update it here:\n\n{link}"
        if link
        else "\n\nPlease contact us to update your payment details."
    )
    if kind == "declined":
        when = f" We will try again on {next_attempt:%Y-%m-%d}." if next_attempt else ""
        return Notice(
            f"Payment of invoice {number} failed",
            hello + f"We could not charge {money} for invoice {number} to your card "
            f"({_reason_text(reason)}).{when}{update}" + sign,
        )
    return Notice(
        f"Invoice {number} is unpaid",
        hello + f"We could not charge {money} for invoice {number} after several attempts "
        f"({_reason_text(reason)}). We will not try again automatically; please pay the "
        f"invoice or update your card.{update}" + sign,
    )


def partner_notice(
    kind: str,
    *,
    client: Client,
    invoice: Invoice,
    amount_minor: int,
    attempt: int,
    reason: str | None = None,
    next_attempt: date | None = None,
) -> Notice:
    """What the partner hears: `declined`, `action` or `failed` (no more retries)."""
    number = invoice.number or str(invoice.id)
    money = _amount(invoice, amount_minor)
    head = f"Client: {client.name} ({client.id})\nInvoice: {number}\nAmount: {money}\n"
    detail = f"Attempt: {attempt}\nReason: {_reason_text(reason)}\n"
    if kind == "action":
        return Notice(
            f"{client.name}: invoice {number} needs the client to authenticate",
            head + detail + "\nThe client's bank asked for authentication (3-D Secure). The "
            "client was e-mailed a link to confirm the payment; no automatic retries follow.\n",
        )
    if kind == "declined":
        when = f"{next_attempt:%Y-%m-%d}" if next_attempt else "not scheduled"
        return Notice(
            f"{client.name}: card charge for invoice {number} failed",
            head + detail + f"Next attempt: {when}\n\nThe client was e-mailed a link to "
            "update the card.\n",
        )
    return Notice(
        f"{client.name}: invoice {number} could not be charged",
        head + detail + "\nThis was the last automatic attempt; the charge is marked failed. "
        "Follow up with the client, or record a payment made another way.\n",
    )


_REASONS = {
    "insufficient_funds": "insufficient funds",
    "card_declined": "the card was declined",
    "generic_decline": "the card was declined",
    "expired_card": "the card has expired",
    "authentication_required": "your bank asked for authentication",
    "no_payment_method": "no card is saved",
}


def _reason_text(reason: str | None) -> str:
    return _REASONS.get(reason or "", reason or "the card was declined")


def alert_partner(session: Session, partner_id: str, subject: str, body: str, related: str) -> int:
    """Something about money needs a person (charged at Stripe but refused by our books)."""
    partner = TenantRepository(session).partner(partner_id)
    if partner is None:
        return 0
    return queue_notice(
        session,
        partner,
        partner_recipients(partner),
        Notice(subject, body),
        kind="stripe_alert_partner",
        related_id=related,
    )
