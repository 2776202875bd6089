"""Stripe orchestration: customers and saved cards, charging auto-charge invoices with the
partner's dunning schedule, and applying Stripe's webhook events to our books.

The worker and the scheduler call `charge_due_invoices(engine)` (on `invoice.issued` and
periodically); the API hands webhook deliveries to `receive_delivery`. Stripe I/O goes through
`connectors.stripe`; payments, refunds, disputes and payouts are recorded through
`billing.payments`.
"""

from billing.invoicing.documents import use_cards_on_file
from sync.stripe.accounts import (
    DEFAULT_DUNNING_DAYS,
    StripeSetupError,
    connect_account,
    dunning_days,
)
from sync.stripe.charging import ChargeReport, charge_due_invoices, enqueue_charges
from sync.stripe.customers import ensure_customer, link_customer, setup_link
from sync.stripe.models import (
    ChargeStatus,
    EventStatus,
    StripeAccount,
    StripeCharge,
    StripeCustomer,
    StripeEvent,
)
from sync.stripe.repository import account_for_partner, clients_with_card
from sync.stripe.webhooks import DeliveryResult, receive_delivery

__all__ = [
    "DEFAULT_DUNNING_DAYS",
    "ChargeReport",
    "ChargeStatus",
    "DeliveryResult",
    "EventStatus",
    "StripeAccount",
    "StripeCharge",
    "StripeCustomer",
    "StripeEvent",
    "StripeSetupError",
    "account_for_partner",
    "charge_due_invoices",
    "connect_account",
    "dunning_days",
    "enqueue_charges",
    "ensure_customer",
    "link_customer",
    "receive_delivery",
    "setup_link",
]

# Invoice documents say "charged to your card on file" only for these clients; billing may not
# import this package, so the lookup is handed down (`billing.invoicing.documents`).
use_cards_on_file(clients_with_card)
