"""One charge attempt at Stripe, outside any database transaction: what happened, as data.

`attempt_charge` never raises for a Stripe failure; it returns an `Attempt` whose `kind` the
recording step turns into state, ledger entries and e-mails:

| kind | when | next |
|---|---|---|
| `succeeded` | the PaymentIntent succeeded (with its charge and fee) | payment recorded |
| `awaiting` | Stripe is still processing, or the fee could not be read yet | the webhook decides |
| `action` | the bank wants the client to authenticate | client e-mailed a payment link |
| `declined` | declined, insufficient funds, no card, or Stripe refused the request | dunning |
| `repeat` | timeout, reset, 5xx, 429: the outcome is unknown | same key again, soon |
| `auth` | the partner's Stripe key was refused | try again in an hour |
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from connectors.base import (
    AuthExpiredError,
    ConnectorError,
    RateLimitedError,
    RetryableError,
)
from connectors.stripe import (
    CardDeclinedError,
    ChargeDetails,
    CheckoutLink,
    IntentResult,
    StripeGateway,
)
from sync.stripe.customers import return_urls

__all__ = ["Attempt", "ChargeRequest", "attempt_charge"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ChargeRequest:
    row_id: int
    partner_id: str
    client_id: str
    invoice_id: int
    invoice_number: str
    attempt: int  # 1-based; part of the idempotency key
    amount_minor: int
    currency: str
    customer_id: str | None
    payment_method_id: str | None


@dataclass(frozen=True, slots=True)
class Attempt:
    kind: str
    intent_id: str | None = None
    charge: ChargeDetails | None = None
    reason: str | None = None
    message: str | None = None
    link: CheckoutLink | None = None
    retry_after: float | None = None


def _metadata(request: ChargeRequest) -> dict[str, str]:
    return {
        "rebill_partner_id": request.partner_id,
        "rebill_client_id": request.client_id,
        "rebill_invoice_id": str(request.invoice_id),
        "rebill_invoice_number": request.invoice_number,
        "rebill_attempt": str(request.attempt),
    }


def _card_link(gateway: StripeGateway, request: ChargeRequest) -> CheckoutLink | None:
    """A setup-mode Checkout link to replace the card (None if Stripe cannot make one now)."""
    if request.customer_id is None:
        return None
    success, cancel = return_urls()
    try:
        return gateway.setup_link(
            customer_id=request.customer_id,
            success_url=success,
            cancel_url=cancel,
            metadata={
                "rebill_partner_id": request.partner_id,
                "rebill_client_id": request.client_id,
                "rebill_invoice_id": str(request.invoice_id),
            },
            key=gateway.key("card-update", request.invoice_id, request.attempt),
        )
    except ConnectorError as exc:
        log.warning("invoice %s: no card-update link: %s", request.invoice_number, exc.message)
        return None


def _pay_link(gateway: StripeGateway, request: ChargeRequest) -> CheckoutLink | None:
    """A payment-mode Checkout link for exactly the amount, where the client authenticates."""
    if request.customer_id is None:
        return None
    success, cancel = return_urls()
    try:
        return gateway.payment_link(
            customer_id=request.customer_id,
            amount_minor=request.amount_minor,
            currency=request.currency,
            description=f"Invoice {request.invoice_number}",
            success_url=success,
            cancel_url=cancel,
            metadata=_metadata(request),
            key=gateway.key("pay-link", request.invoice_id, request.attempt),
        )
    except ConnectorError as exc:
        log.warning("invoice %s: no payment link: %s", request.invoice_number, exc.message)
        return None


def _after_intent(gateway: StripeGateway, request: ChargeRequest, intent: IntentResult) -> Attempt:
    if intent.status == "succeeded":
        if intent.charge_id is None:
            return Attempt("awaiting", intent_id=intent.id)
        try:
            charge = gateway.retrieve_charge(intent.charge_id)
        except ConnectorError as exc:
            log.warning("invoice %s: fee not read yet (%s)", request.invoice_number, exc.message)
            return Attempt("awaiting", intent_id=intent.id)
        return Attempt("succeeded", intent_id=intent.id, charge=charge)
    if intent.status == "requires_action":
        return Attempt(
            "action",
            intent_id=intent.id,
            reason="authentication_required",
            link=_pay_link(gateway, request),
        )
    if intent.status in ("processing", "requires_capture"):
        return Attempt("awaiting", intent_id=intent.id)
    return Attempt(
        "declined", intent_id=intent.id, reason="card_declined", link=_card_link(gateway, request)
    )


def attempt_charge(gateway: StripeGateway, request: ChargeRequest) -> Attempt:
    """Charge the saved card off-session for `request.amount_minor` (our amount due, to the
    cent), with the key `rebill:{account}:charge:{invoice id}:{attempt}`."""
    if request.customer_id is None or request.payment_method_id is None:
        return Attempt(
            "declined",
            reason="no_payment_method",
            message="no card saved for this client",
            link=_card_link(gateway, request),
        )
    try:
        intent = gateway.charge_off_session(
            customer_id=request.customer_id,
            payment_method_id=request.payment_method_id,
            amount_minor=request.amount_minor,
            currency=request.currency,
            description=f"Invoice {request.invoice_number}",
            metadata=_metadata(request),
            key=gateway.key("charge", request.invoice_id, request.attempt),
        )
    except CardDeclinedError as exc:
        decline = exc.decline
        if decline.requires_action:
            return Attempt(
                "action",
                intent_id=decline.payment_intent_id,
                reason=decline.reason,
                message=decline.message,
                link=_pay_link(gateway, request),
            )
        return Attempt(
            "declined",
            intent_id=decline.payment_intent_id,
            reason=decline.reason,
            message=decline.message,
            link=_card_link(gateway, request),
        )
    except RateLimitedError as exc:
        return Attempt("repeat", message=exc.message, retry_after=exc.retry_after)
    except RetryableError as exc:
        return Attempt("repeat", message=exc.message)
    except AuthExpiredError as exc:
        return Attempt("auth", message=exc.message)
    except ConnectorError as exc:  # rejected or not found: the request itself was refused
        code = None
        errors = getattr(exc, "errors", ())
        if errors:
            code = errors[0].code
        return Attempt(
            "declined",
            reason=code or exc.outcome.value,
            message=exc.message,
            link=_card_link(gateway, request),
        )
    return _after_intent(gateway, request, intent)
