"""Stripe, through stripe-python: customers, saved cards (Checkout in setup mode), off-session
PaymentIntents, charges with their fees, refunds, and webhook signature checks.

Only I/O and translation live here (imports `connectors.base` and stripe-python, never billing
or the ledger); `sync/stripe/` decides what to charge and records the outcome.
"""

from connectors.provider_profile import ProviderProfile
from connectors.stripe.client import (
    DEFAULT_API_BASE,
    DEFAULT_TIMEOUT,
    BalanceFee,
    CardDetails,
    ChargeDetails,
    CheckoutLink,
    IntentResult,
    RefundDetails,
    StripeCredentials,
    StripeCustomer,
    StripeGateway,
    idempotency_key,
)
from connectors.stripe.errors import CardDecline, CardDeclinedError, map_stripe_error
from connectors.stripe.profile import DEFAULT_BASE_URL, LIMITS
from connectors.stripe.signature import (
    SignatureError,
    compute_signature,
    signature_header,
    verify_signature,
)

__all__ = [
    "DEFAULT_API_BASE",
    "DEFAULT_TIMEOUT",
    "PROFILE",
    "BalanceFee",
    "CardDecline",
    "CardDeclinedError",
    "CardDetails",
    "ChargeDetails",
    "CheckoutLink",
    "IntentResult",
    "RefundDetails",
    "SignatureError",
    "StripeCredentials",
    "StripeCustomer",
    "StripeGateway",
    "compute_signature",
    "idempotency_key",
    "map_stripe_error",
    "signature_header",
    "verify_signature",
]

PROFILE = ProviderProfile(
    name="stripe",
    title="Stripe",
    connector=StripeGateway,
    limits=LIMITS,
    default_base_url=DEFAULT_BASE_URL,
)
