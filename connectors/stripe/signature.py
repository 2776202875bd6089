"""`Stripe-Signature` verification by stripe-python (`stripe.WebhookSignature.verify_header`).

Stripe signs each delivery as `t=<unix seconds>,v1=<hex HMAC-SHA256 of "{t}.{raw body}">`
with the endpoint's secret (`whsec_...`). During a secret roll the header carries one `v1`
per active secret, so any matching `v1` is enough; other schemes are ignored. The library
checks the signature (constant-time); around it we keep what callers rely on: the header's
faults named one by one, and the timestamp tolerance applied on our clock (`now`, so tests
need no sleeping) in both directions (the library refuses only old timestamps), so a captured
delivery cannot be replayed later. Stripe sends UTF-8 JSON: any other body is refused.

`compute_signature` / `signature_header` sign deliveries the way Stripe does, for the fake and
for tests; they are written from Stripe's description, independently of the verification.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import stripe

__all__ = ["SignatureError", "compute_signature", "signature_header", "verify_signature"]

DEFAULT_TOLERANCE = 300


class SignatureError(ValueError):
    """The delivery is not proven to come from Stripe: the reason says which check failed."""


def compute_signature(payload: bytes, timestamp: int, secret: str) -> str:
    """Hex HMAC-SHA256 of `{timestamp}.{payload}` with the endpoint secret."""
    signed = str(timestamp).encode("ascii") + b"." + payload
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def signature_header(payload: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """The header Stripe would send for `payload` (tests, local replays)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return f"t={stamp},v1={compute_signature(payload, stamp, secret)}"


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for element in header.split(","):
        key, sep, value = element.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError as exc:
                raise SignatureError("Stripe-Signature: t is not a unix timestamp") from exc
        elif key == "v1" and value:
            signatures.append(value.strip())
    if timestamp is None:
        raise SignatureError("Stripe-Signature: no timestamp (t=...)")
    if not signatures:
        raise SignatureError("Stripe-Signature: no v1 signature")
    return timestamp, signatures


def verify_signature(
    payload: bytes,
    header: str | None,
    secret: str,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> int:
    """Return the signed timestamp if `header` proves `payload` was signed with `secret`
    within `tolerance` seconds of `now`; raise `SignatureError` otherwise."""
    if not secret:
        raise SignatureError("webhook secret: not configured")
    if not header:
        raise SignatureError("Stripe-Signature: header missing")
    timestamp, _ = _parse(header)
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise SignatureError(
            "Stripe-Signature: the payload is not UTF-8 (Stripe sends JSON)"
        ) from None
    try:
        stripe.WebhookSignature.verify_header(text, header, secret, tolerance=None)
    except stripe.SignatureVerificationError:
        raise SignatureError("Stripe-Signature: no v1 signature matches the payload") from None
    current = time.time() if now is None else now
    if tolerance > 0 and abs(current - timestamp) > tolerance:
        raise SignatureError(
            f"Stripe-Signature: timestamp is {int(current - timestamp)} s from now "
            f"(tolerance {tolerance} s)"
        )
    return timestamp
