"""Stripe's wire details for the fake: test cards, the fee rule, bracketed form decoding, and
signed webhook deliveries."""

from __future__ import annotations

import json
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from connectors.stripe.signature import signature_header

__all__ = ["TEST_CARDS", "decode_form", "signed_delivery", "stripe_fee"]

TEST_CARDS: dict[str, dict[str, Any]] = {
    "pm_card_visa": {"brand": "visa", "last4": "4242", "outcome": "succeeded"},
    "pm_card_chargeDeclined": {
        "brand": "visa",
        "last4": "0002",
        "outcome": "decline",
        "code": "card_declined",
        "decline_code": "generic_decline",
        "message": "Your card was declined.",
    },
    "pm_card_chargeDeclinedInsufficientFunds": {
        "brand": "visa",
        "last4": "9995",
        "outcome": "decline",
        "code": "card_declined",
        "decline_code": "insufficient_funds",
        "message": "Your card has insufficient funds.",
    },
    "pm_card_authenticationRequired": {
        "brand": "visa",
        "last4": "3184",
        "outcome": "decline",
        "code": "authentication_required",
        "decline_code": "authentication_required",
        "message": "Your card was declined. This transaction requires authentication.",
    },
    "pm_card_requiresAction": {"brand": "visa", "last4": "3220", "outcome": "requires_action"},
}


def stripe_fee(amount_minor: int) -> int:
    """2.9% + 30¢, rounded half-up to the cent."""
    percent = (Decimal(amount_minor) * Decimal("0.029")).quantize(Decimal(1), ROUND_HALF_UP)
    return int(percent) + 30


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's bracketed form encoding back into nested dicts (lists as index-keyed dicts,
    then turned into lists)."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(root)  # type: ignore[no-any-return]


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {k: _lists(v) for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


def signed_delivery(
    event: dict[str, Any], secret: str, *, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of Stripe's webhook delivery of `event`."""
    clean = {k: v for k, v in event.items() if k != "refund_id"}
    payload = json.dumps(clean).encode()
    return payload, {
        "Stripe-Signature": signature_header(payload, secret, timestamp=timestamp),
        "Content-Type": "application/json",
    }
