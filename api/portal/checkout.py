"""Paying from the portal, and replacing the saved card: Stripe Checkout, on the partner's own
Stripe account.

Payment mode, for exactly the amount still due (`Invoice.amount_due_minor`: total less paid
less credited), never the total. The session carries the metadata the existing webhook path
needs to find the invoice (`rebill_partner_id`, `rebill_invoice_id` on the PaymentIntent:
`sync.stripe.webhook_effects._payment`), so the payment is recorded there, once, whichever of
`checkout.session.completed` and `payment_intent.succeeded` arrives first and however often
(`record_stripe_payment` is idempotent per charge). Nothing is recorded on the way back from
Stripe's page: the browser's return proves nothing.

The idempotency key is `rebill:{account}:portal-pay:{invoice id}:{link id}:{amount due}`: a
double click (or two tabs) within Stripe's 24-hour key window gets the same Checkout Session,
and a partial payment in between (a different amount due) a new one. Stripe documents that a
key re-sent with the same parameters returns the first result, and refuses it with different
ones (https://docs.stripe.com/api/idempotent_requests). The link is part of the key because
the success URL (back to this link's page) is part of the parameters: a client who pays from a
fresh link the same day must get a session, not an idempotency error.

The card update is the existing setup-mode session (`sync.stripe.customers.setup_link`, key per
client and hour); the card is saved by the `checkout.session.completed` webhook, as for the
card-update links in dunning e-mails.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from billing.invoicing.models import Invoice
from billing.tenants.service import get_client
from connectors.base import ConnectorError
from connectors.stripe import CheckoutLink
from sync.stripe.accounts import GatewayFactory, gateway_for
from sync.stripe.customers import ensure_customer, setup_link
from sync.stripe.models import ChargeStatus, StripeAccount
from sync.stripe.repository import account_for_partner, charge_of_invoice, customer_for_client

__all__ = [
    "CardOnFile",
    "CheckoutRefusedError",
    "card_link",
    "card_on_file",
    "charge_under_way",
    "pay_link",
    "stripe_of",
]


class CheckoutRefusedError(RuntimeError):
    """Stripe could not make the session now (the page says so; nothing was paid)."""


@dataclass(frozen=True, slots=True)
class CardOnFile:
    brand: str | None
    last4: str | None


def stripe_of(session: Session, partner_id: str) -> StripeAccount | None:
    """The partner's connected Stripe account, or None (the page shows payment instructions)."""
    return account_for_partner(session, partner_id)


def card_on_file(session: Session, partner_id: str, client_id: str) -> CardOnFile | None:
    row = customer_for_client(session, partner_id, client_id)
    if row is None or row.payment_method_id is None:
        return None
    return CardOnFile(row.card_brand, row.card_last4)


#: An automatic charge in these states may take the money any moment (a worker holds it, or
#: Stripe is still deciding): a Checkout opened now could take it a second time.
_UNDER_WAY = frozenset({ChargeStatus.PROCESSING, ChargeStatus.AWAITING_STRIPE})


def charge_under_way(session: Session, invoice_id: int) -> bool:
    """Whether the card on file is being charged for this invoice right now. The portal then
    offers no Checkout: the overpayment refusal would catch a second payment, but only after
    the client had paid twice."""
    charge = charge_of_invoice(session, invoice_id)
    return charge is not None and charge.status in _UNDER_WAY


def pay_link(
    session: Session,
    account: StripeAccount,
    invoice: Invoice,
    *,
    return_url: str,
    link_id: int,
    gateway_factory: GatewayFactory | None = None,
) -> CheckoutLink:
    """A payment-mode Checkout Session for what is still due on `invoice`. The caller has
    checked that something is due. Creating the client's Stripe customer (first payment) is a
    write of this unit of work."""
    client = get_client(session, invoice.partner_id, invoice.client_id)
    gateway = gateway_for(account, gateway_factory)
    try:
        customer = ensure_customer(session, gateway, account, client)
        due = invoice.amount_due_minor
        assert invoice.number is not None
        metadata = {
            "rebill_partner_id": invoice.partner_id,
            "rebill_client_id": invoice.client_id,
            "rebill_invoice_id": str(invoice.invoice_id),
            "rebill_invoice_number": invoice.number,
            "rebill_source": "portal",
        }
        return gateway.payment_link(
            customer_id=customer.customer_id,
            amount_minor=due,
            currency=invoice.currency,
            description=f"Invoice {invoice.number}",
            success_url=f"{return_url}?checkout=success",
            cancel_url=f"{return_url}?checkout=cancel",
            metadata=metadata,
            key=gateway.key("portal-pay", f"{invoice.invoice_id}:{link_id}", due),
        )
    except ConnectorError as exc:
        raise CheckoutRefusedError(exc.message) from exc
    finally:
        gateway.close()


def card_link(
    session: Session,
    account: StripeAccount,
    partner_id: str,
    client_id: str,
    *,
    gateway_factory: GatewayFactory | None = None,
) -> CheckoutLink:
    """A setup-mode Checkout Session where the client saves a new card for automatic charges
    (`sync.stripe.customers.setup_link`)."""
    client = get_client(session, partner_id, client_id)
    gateway = gateway_for(account, gateway_factory)
    try:
        customer = ensure_customer(session, gateway, account, client)
        return setup_link(gateway, customer, purpose="portal")
    except ConnectorError as exc:
        raise CheckoutRefusedError(exc.message) from exc
    finally:
        gateway.close()
