"""A Stripe customer per client, created or linked, and the links where a client saves a card.

Creating a customer uses the idempotency key `rebill:{account}:customer:{client}:1`, so a
crash between Stripe's answer and our commit makes the next run get the same customer back
(within Stripe's 24 h key window) instead of a second one. Linking an existing customer
(`--customer cus_...`) checks it exists and takes over its default card.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from billing.tenants.models import Client
from config.db_types import utcnow
from config.settings import get_settings
from connectors.stripe import CardDetails, CheckoutLink, StripeGateway
from sync.stripe.models import StripeAccount, StripeCustomer
from sync.stripe.repository import add_customer, customer_for_client

__all__ = [
    "ensure_customer",
    "link_customer",
    "record_card",
    "return_urls",
    "setup_link",
]


def ensure_customer(
    session: Session, gateway: StripeGateway, account: StripeAccount, client: Client
) -> StripeCustomer:
    """The client's Stripe customer, created at Stripe on first use. Caller commits."""
    existing = customer_for_client(session, client.partner_id, client.id)
    if existing is not None:
        return existing
    remote = gateway.create_customer(
        client_id=client.id,
        partner_id=client.partner_id,
        name=client.name,
        email=client.billing_email,
        key=gateway.key("customer", client.id, 1),
    )
    row = StripeCustomer(
        partner_id=client.partner_id,
        client_id=client.id,
        account_id=account.id,
        customer_id=remote.id,
        payment_method_id=remote.default_payment_method,
    )
    return add_customer(session, row)


def link_customer(
    session: Session,
    gateway: StripeGateway,
    account: StripeAccount,
    client: Client,
    customer_id: str,
) -> StripeCustomer:
    """Use an existing Stripe customer for the client (checked at Stripe first)."""
    remote = gateway.retrieve_customer(customer_id)
    card = gateway.card_of(remote.default_payment_method) if remote.default_payment_method else None
    row = customer_for_client(session, client.partner_id, client.id) or StripeCustomer(
        partner_id=client.partner_id, client_id=client.id, account_id=account.id, customer_id=""
    )
    row.customer_id = remote.id
    row.account_id = account.id
    row.payment_method_id = None
    row.card_brand = row.card_last4 = None
    row.card_exp_month = row.card_exp_year = None
    if card is not None:
        record_card(row, card)
    row.updated_at = utcnow()
    return add_customer(session, row)


def record_card(row: StripeCustomer, card: CardDetails) -> None:
    row.payment_method_id = card.payment_method_id
    row.card_brand = card.brand
    row.card_last4 = card.last4
    row.card_exp_month = card.exp_month
    row.card_exp_year = card.exp_year
    row.updated_at = utcnow()


def return_urls() -> tuple[str, str]:
    """Where Stripe's hosted page sends the client back (a plain thank-you page of ours)."""
    base = str(getattr(get_settings(), "public_url", "http://127.0.0.1:8000")).rstrip("/")
    return (
        f"{base}/webhooks/stripe/return?result=success",
        f"{base}/webhooks/stripe/return?result=cancel",
    )


def setup_link(
    gateway: StripeGateway,
    customer: StripeCustomer,
    *,
    purpose: str,
    now: datetime | None = None,
) -> CheckoutLink:
    """A Checkout Session in setup mode for the client to save (or replace) a card. The key
    is per purpose and hour: asking twice within the hour gives the same link."""
    success, cancel = return_urls()
    stamp = f"{(now or utcnow()):%Y%m%d%H}"
    return gateway.setup_link(
        customer_id=customer.customer_id,
        success_url=success,
        cancel_url=cancel,
        metadata={
            "rebill_partner_id": customer.partner_id,
            "rebill_client_id": customer.client_id,
        },
        key=gateway.key("setup", f"{customer.client_id}:{purpose}", stamp),
    )
