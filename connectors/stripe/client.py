"""A thin, typed wrapper over stripe-python's `StripeClient` for the calls Rebill makes.

Why a wrapper: every call gets an explicit timeout, zero automatic network retries (the
caller decides, with the same idempotency key, whether and when to repeat: a charge is
money), a deterministic idempotency key on every write (stripe-python would otherwise put a
random one on each POST, which defeats replay), and failures mapped to the five
`ConnectorError` outcomes (`errors.map_stripe_error`). Answers are small frozen dataclasses,
so callers never touch Stripe objects.

The HTTP client is `stripe.HTTPXClient` with sync methods allowed, so tests see every call
through respx. Imports only `config`-level code (no billing, no ledger).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import stripe

from connectors import idempotency
from connectors.base import NotFoundError, RetryableError
from connectors.paging import CursorPaginator, Page
from connectors.stripe.errors import map_stripe_error
from connectors.stripe.profile import LIMITS
from connectors.stripe.types import (
    DEFAULT_TIMEOUT,
    BalanceFee,
    CardDetails,
    ChargeDetails,
    CheckoutLink,
    IntentResult,
    RefundDetails,
    StripeCredentials,
    StripeCustomer,
)

__all__ = [
    "DEFAULT_API_BASE",
    "DEFAULT_TIMEOUT",
    "BalanceFee",
    "CardDetails",
    "ChargeDetails",
    "CheckoutLink",
    "IntentResult",
    "RefundDetails",
    "StripeCredentials",
    "StripeCustomer",
    "StripeGateway",
    "idempotency_key",
]

DEFAULT_API_BASE = "https://api.stripe.com"
_MAX_KEY = LIMITS.idempotency_key_max or 255  # Stripe's limit on Idempotency-Key
T = TypeVar("T")


def idempotency_key(connection_id: str, op: str, our_id: str | int, version: str | int) -> str:
    """`rebill:{connection}:{op}:{our id}:{version}` (`connectors.idempotency`), hashed
    down deterministically if it would exceed Stripe's 255 characters."""
    key = idempotency.idempotency_key(connection_id, op, our_id, version)
    return idempotency.fit_key(key, _MAX_KEY)


def _id_of(value: object) -> str | None:
    """An expandable field: a bare id, or an expanded object with an id."""
    if value is None or isinstance(value, str):
        return value
    found = getattr(value, "id", None)
    return found if isinstance(found, str) else None


def _metadata(value: object) -> dict[str, str]:
    """Metadata as a plain dict (a StripeObject is not a mapping: `to_dict()` makes one)."""
    if value is None:
        return {}
    to_dict = getattr(value, "to_dict", None)
    plain = to_dict() if callable(to_dict) else value
    if not isinstance(plain, dict):
        return {}
    return {str(k): str(v) for k, v in plain.items()}


class StripeGateway:
    """The Stripe calls of one connection. Not thread-safe; one per worker or request."""

    def __init__(
        self, credentials: StripeCredentials, *, http_client: stripe.HTTPClient | None = None
    ) -> None:
        if not credentials.api_key:
            raise ValueError("stripe api_key: must not be empty (connect the Stripe account)")
        self.connection_id = credentials.connection_id
        self._http = http_client or stripe.HTTPXClient(
            timeout=credentials.timeout, allow_sync_methods=True
        )
        base = (credentials.api_base or DEFAULT_API_BASE).rstrip("/")
        self._client = stripe.StripeClient(
            credentials.api_key,
            base_addresses={"api": base},
            max_network_retries=0,
            http_client=self._http,
        )

    def key(self, op: str, our_id: str | int, version: str | int) -> str:
        return idempotency_key(self.connection_id, op, our_id, version)

    @staticmethod
    def _call(what: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except stripe.StripeError as exc:
            raise map_stripe_error(exc, what) from exc

    # ---- customers and cards ----------------------------------------------------------------
    def create_customer(
        self, *, client_id: str, partner_id: str, name: str, email: str | None, key: str
    ) -> StripeCustomer:
        params: Any = {
            "name": name,
            "metadata": {"rebill_client_id": client_id, "rebill_partner_id": partner_id},
        }
        if email:
            params["email"] = email
        customer = self._call(
            "create customer",
            lambda: self._client.v1.customers.create(params, {"idempotency_key": key}),
        )
        return self._customer(customer)

    def retrieve_customer(self, customer_id: str) -> StripeCustomer:
        customer = self._call(
            "retrieve customer", lambda: self._client.v1.customers.retrieve(customer_id)
        )
        if getattr(customer, "deleted", False):
            raise NotFoundError(f"stripe customer {customer_id} was deleted")
        return self._customer(customer)

    @staticmethod
    def _customer(customer: Any) -> StripeCustomer:
        settings = getattr(customer, "invoice_settings", None)
        default = _id_of(getattr(settings, "default_payment_method", None)) if settings else None
        return StripeCustomer(
            id=str(customer.id),
            email=getattr(customer, "email", None),
            default_payment_method=default,
        )

    def set_default_payment_method(
        self, customer_id: str, payment_method_id: str, key: str
    ) -> None:
        params: Any = {"invoice_settings": {"default_payment_method": payment_method_id}}
        self._call(
            "update customer",
            lambda: self._client.v1.customers.update(customer_id, params, {"idempotency_key": key}),
        )

    def card_of(self, payment_method_id: str) -> CardDetails:
        method = self._call(
            "retrieve payment method",
            lambda: self._client.v1.payment_methods.retrieve(payment_method_id),
        )
        card = getattr(method, "card", None)
        return CardDetails(
            payment_method_id=str(method.id),
            brand=getattr(card, "brand", None) if card else None,
            last4=getattr(card, "last4", None) if card else None,
            exp_month=getattr(card, "exp_month", None) if card else None,
            exp_year=getattr(card, "exp_year", None) if card else None,
        )

    def payment_method_of_setup(self, setup_intent_id: str) -> str | None:
        intent = self._call(
            "retrieve setup intent",
            lambda: self._client.v1.setup_intents.retrieve(setup_intent_id),
        )
        return _id_of(intent.payment_method) if intent.status == "succeeded" else None

    # ---- hosted pages -----------------------------------------------------------------------
    def setup_link(
        self,
        *,
        customer_id: str,
        success_url: str,
        cancel_url: str,
        metadata: Mapping[str, str],
        key: str,
    ) -> CheckoutLink:
        """A Checkout Session in setup mode: the client saves a card for later off-session
        charges, on Stripe's page (no card data ever reaches us)."""
        params: Any = {
            "mode": "setup",
            "customer": customer_id,
            "payment_method_types": ["card"],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "metadata": dict(metadata),
            "setup_intent_data": {"metadata": dict(metadata)},
        }
        return self._session("create setup session", params, key)

    def payment_link(
        self,
        *,
        customer_id: str,
        amount_minor: int,
        currency: str,
        description: str,
        success_url: str,
        cancel_url: str,
        metadata: Mapping[str, str],
        key: str,
    ) -> CheckoutLink:
        """A Checkout Session in payment mode for exactly `amount_minor`: where a client whose
        bank asked for authentication pays on-session (and saves the card for next time)."""
        params: Any = {
            "mode": "payment",
            "customer": customer_id,
            "payment_method_types": ["card"],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": currency.lower(),
                        "unit_amount": amount_minor,
                        "product_data": {"name": description},
                    },
                }
            ],
            "metadata": dict(metadata),
            "payment_intent_data": {
                "metadata": dict(metadata),
                "setup_future_usage": "off_session",
                "description": description,
            },
        }
        return self._session("create payment session", params, key)

    def _session(self, what: str, params: Any, key: str) -> CheckoutLink:
        session = self._call(
            what,
            lambda: self._client.v1.checkout.sessions.create(params, {"idempotency_key": key}),
        )
        if not session.url:
            raise RetryableError(f"stripe {what}: Stripe returned no URL", status=502)
        return CheckoutLink(id=str(session.id), url=session.url, expires_at=session.expires_at)

    # ---- charging ---------------------------------------------------------------------------
    def charge_off_session(
        self,
        *,
        customer_id: str,
        payment_method_id: str,
        amount_minor: int,
        currency: str,
        description: str,
        metadata: Mapping[str, str],
        key: str,
    ) -> IntentResult:
        """Create and confirm an off-session PaymentIntent. A decline raises
        `CardDeclinedError` (`decline.requires_action` when the bank wants authentication)."""
        if amount_minor <= 0:
            raise ValueError(f"amount_minor: must be positive, got {amount_minor}")
        params: Any = {
            "amount": amount_minor,
            "currency": currency.lower(),
            "customer": customer_id,
            "payment_method": payment_method_id,
            "off_session": True,
            "confirm": True,
            "description": description,
            "metadata": dict(metadata),
        }
        intent = self._call(
            "charge",
            lambda: self._client.v1.payment_intents.create(params, {"idempotency_key": key}),
        )
        return self._intent(intent)

    def retrieve_payment_intent(self, payment_intent_id: str) -> IntentResult:
        intent = self._call(
            "retrieve payment intent",
            lambda: self._client.v1.payment_intents.retrieve(payment_intent_id),
        )
        return self._intent(intent)

    @staticmethod
    def _intent(intent: Any) -> IntentResult:
        return IntentResult(
            id=str(intent.id),
            status=str(intent.status),
            amount_minor=int(intent.amount),
            currency=str(intent.currency).upper(),
            charge_id=_id_of(getattr(intent, "latest_charge", None)),
            metadata=_metadata(getattr(intent, "metadata", None)),
        )

    def retrieve_charge(self, charge_id: str) -> ChargeDetails:
        """The charge with its balance transaction (Stripe's fee) expanded."""
        charge = self._call(
            "retrieve charge",
            lambda: self._client.v1.charges.retrieve(
                charge_id, {"expand": ["balance_transaction"]}
            ),
        )
        fee = None
        txn = getattr(charge, "balance_transaction", None)
        if isinstance(txn, str):
            fee = self.balance_fee(txn)
        elif txn is not None:
            fee = BalanceFee(
                id=str(txn.id),
                amount_minor=int(txn.amount),
                fee_minor=int(txn.fee),
                net_minor=int(txn.net),
            )
        return ChargeDetails(
            id=str(charge.id),
            payment_intent_id=_id_of(getattr(charge, "payment_intent", None)),
            amount_minor=int(charge.amount),
            currency=str(charge.currency).upper(),
            created=int(charge.created),
            paid=bool(charge.paid),
            amount_refunded_minor=int(charge.amount_refunded or 0),
            fee=fee,
            metadata=_metadata(getattr(charge, "metadata", None)),
        )

    def balance_fee(self, balance_transaction_id: str) -> BalanceFee:
        txn = self._call(
            "retrieve balance transaction",
            lambda: self._client.v1.balance_transactions.retrieve(balance_transaction_id),
        )
        return BalanceFee(
            id=str(txn.id),
            amount_minor=int(txn.amount),
            fee_minor=int(txn.fee),
            net_minor=int(txn.net),
        )

    # ---- refunds ----------------------------------------------------------------------------
    def refunds_of_charge(self, charge_id: str) -> list[RefundDetails]:
        """Every refund of a charge (newest first, all pages)."""

        def fetch(cursor: str | None) -> Page[RefundDetails]:
            params: Any = {"charge": charge_id, "limit": LIMITS.page_size}
            if cursor:
                params["starting_after"] = cursor
            page = self._call("list refunds", lambda: self._client.v1.refunds.list(params))
            refunds = [self._refund(item) for item in page.data]
            return Page(
                refunds,
                keys=[r.id for r in refunds],
                has_more=bool(page.has_more),
                cursor=refunds[-1].id if refunds else None,
            )

        return CursorPaginator("Stripe", f"GET /v1/refunds?charge={charge_id}").all_sync(fetch)

    def refund(self, *, payment_intent_id: str, amount_minor: int, key: str) -> RefundDetails:
        params: Any = {"payment_intent": payment_intent_id, "amount": amount_minor}
        refund = self._call(
            "refund", lambda: self._client.v1.refunds.create(params, {"idempotency_key": key})
        )
        return self._refund(refund)

    @staticmethod
    def _refund(refund: Any) -> RefundDetails:
        return RefundDetails(
            id=str(refund.id),
            amount_minor=int(refund.amount),
            currency=str(refund.currency).upper(),
            charge_id=_id_of(getattr(refund, "charge", None)),
            payment_intent_id=_id_of(getattr(refund, "payment_intent", None)),
            status=getattr(refund, "status", None),
            created=int(refund.created),
            reason=getattr(refund, "reason", None),
        )

    def close(self) -> None:
        self._http.close()  # type: ignore[no-untyped-call]
