"""Stripe failures as the five `ConnectorError` outcomes, plus what a card decline says.

stripe-python raises one exception class per error type; the body is always
`{"error": {"type", "code", "decline_code", "message", "param", "payment_intent"?}}`.
The mapping, written once:

| Stripe | outcome |
|---|---|
| connection failed before the request left (connect error/timeout) | retryable, certain |
| timeout / reset after sending, 5xx | retryable, *uncertain* (repeat with the same key) |
| 409 (concurrent use of a key, lock timeout) | retryable |
| 429 or `rate_limit` | rate limited (Retry-After when sent, else 1 s) |
| 401, 403 (key revoked, restricted key) | auth expired: the partner must reconnect |
| 402 card error | `CardDeclinedError` (a rejected outcome) with code / decline code / intent |
| 400 idempotency_error | rejected: the same key was sent with other parameters (a bug) |
| 404 | not found |
| other 400 | rejected, with the parameter named |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import stripe

from connectors.base import (
    AuthExpiredError,
    ConnectorError,
    FieldError,
    NotFoundError,
    RateLimitedError,
    RejectedError,
    RetryableError,
)

__all__ = ["CardDecline", "CardDeclinedError", "map_stripe_error"]

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True, slots=True)
class CardDecline:
    """Why a charge did not go through. `requires_action` is True when the bank wants the
    card holder to authenticate (3-D Secure): retrying off-session will not help, the client
    must come back on-session."""

    code: str | None
    decline_code: str | None
    message: str
    payment_intent_id: str | None = None
    payment_intent_status: str | None = None
    charge_id: str | None = None

    @property
    def requires_action(self) -> bool:
        return (
            self.code == "authentication_required"
            or self.decline_code == "authentication_required"
            or self.payment_intent_status == "requires_action"
        )

    @property
    def reason(self) -> str:
        """The most specific code: `insufficient_funds` rather than `card_declined`."""
        return self.decline_code or self.code or "card_declined"


class CardDeclinedError(RejectedError):
    """A 402 from Stripe: the request was fine, the card was not."""

    def __init__(self, decline: CardDecline, what: str = "charge") -> None:
        super().__init__(
            f"stripe {what}: card declined ({decline.reason}): {decline.message}",
            errors=(FieldError(decline.message, field="payment_method", code=decline.reason),),
            status=402,
        )
        self.decline = decline


def _error_body(exc: stripe.StripeError) -> Mapping[str, Any]:
    body = exc.json_body if isinstance(exc.json_body, dict) else {}
    inner = body.get("error")
    return inner if isinstance(inner, dict) else {}


def _decline(body: Mapping[str, Any], fallback: str) -> CardDecline:
    intent = body.get("payment_intent")
    intent_id = intent_status = None
    if isinstance(intent, dict):
        intent_id = intent.get("id")
        intent_status = intent.get("status")
    charge = body.get("charge")
    return CardDecline(
        code=body.get("code"),
        decline_code=body.get("decline_code"),
        message=str(body.get("message") or fallback),
        payment_intent_id=intent_id if isinstance(intent_id, str) else None,
        payment_intent_status=intent_status if isinstance(intent_status, str) else None,
        charge_id=charge if isinstance(charge, str) else None,
    )


def _retry_after(exc: stripe.StripeError) -> float:
    raw = (exc.headers or {}).get("Retry-After") or (exc.headers or {}).get("retry-after")
    try:
        return max(float(raw), 0.0) if raw is not None else 1.0
    except ValueError:
        return 1.0


def map_stripe_error(exc: stripe.StripeError, what: str) -> ConnectorError:
    """The outcome of a failed Stripe call; `what` names the call for messages."""
    status = exc.http_status
    body = _error_body(exc)
    message = str(body.get("message") or getattr(exc, "user_message", None) or exc)
    text = f"stripe {what}: {message}"
    if isinstance(exc, stripe.APIConnectionError):
        sent = not isinstance(exc.__cause__, _NOT_SENT)
        return RetryableError(f"stripe {what}: network error ({exc.__cause__!r})", uncertain=sent)
    if isinstance(exc, stripe.RateLimitError) or status == 429:
        return RateLimitedError(text, retry_after=_retry_after(exc), status=status or 429)
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError) or status in (401, 403):
        return AuthExpiredError(f"{text} (check the Stripe secret key)", status=status)
    if isinstance(exc, stripe.CardError) or status == 402:
        return CardDeclinedError(_decline(body, message), what)
    if status == 404:
        return NotFoundError(text)
    if status == 409 or status is None or status >= 500:
        return RetryableError(text, status=status, uncertain=status is None or status >= 500)
    if isinstance(exc, stripe.IdempotencyError) or body.get("type") == "idempotency_error":
        return RejectedError(
            f"{text} (an idempotency key was reused with different parameters)",
            errors=(FieldError(message, field="Idempotency-Key", code="idempotency_error"),),
            status=status or 400,
        )
    param = body.get("param")
    return RejectedError(
        text,
        errors=(
            FieldError(
                message,
                field=param if isinstance(param, str) else None,
                code=body.get("code") if isinstance(body.get("code"), str) else None,
            ),
        ),
        status=status,
    )
