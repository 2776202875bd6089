"""The plain answers of `StripeGateway` (callers never touch stripe-python objects)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

__all__ = [
    "DEFAULT_TIMEOUT",
    "BalanceFee",
    "CardDetails",
    "ChargeDetails",
    "CheckoutLink",
    "IntentResult",
    "RefundDetails",
    "StripeCredentials",
    "StripeCustomer",
]

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


@dataclass(frozen=True, slots=True)
class StripeCredentials:
    """One partner's Stripe account as a connection: `connection_id` goes into every
    idempotency key, so two partners can never collide."""

    connection_id: str
    api_key: str
    api_base: str | None = None
    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)


@dataclass(frozen=True, slots=True)
class StripeCustomer:
    id: str
    email: str | None
    default_payment_method: str | None


@dataclass(frozen=True, slots=True)
class CheckoutLink:
    id: str
    url: str
    expires_at: int | None


@dataclass(frozen=True, slots=True)
class CardDetails:
    payment_method_id: str
    brand: str | None
    last4: str | None
    exp_month: int | None
    exp_year: int | None


@dataclass(frozen=True, slots=True)
class IntentResult:
    """A PaymentIntent after a call: `status` is Stripe's (`succeeded`, `processing`,
    `requires_action`, `requires_payment_method`, ...)."""

    id: str
    status: str
    amount_minor: int
    currency: str
    charge_id: str | None
    metadata: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class BalanceFee:
    id: str
    amount_minor: int
    fee_minor: int
    net_minor: int


@dataclass(frozen=True, slots=True)
class ChargeDetails:
    id: str
    payment_intent_id: str | None
    amount_minor: int
    currency: str
    created: int
    paid: bool
    amount_refunded_minor: int
    fee: BalanceFee | None
    metadata: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class RefundDetails:
    id: str
    amount_minor: int
    currency: str
    charge_id: str | None
    payment_intent_id: str | None
    status: str | None
    created: int
    reason: str | None
