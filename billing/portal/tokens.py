"""The token in a portal URL: `<link id>.<expiry>.<signature>`.

`expiry` is the link's end as Unix seconds; `signature` is HMAC-SHA256 over
`"<link id>.<expiry>"`, base64url without padding, under a key derived from the secret key with
its own purpose label (`rebill-portal-link-v1`), so the key that encrypts credentials and signs
dashboard sessions is never used directly, and a dashboard session signature can never pass for
a portal token or the other way round. The signature is compared in constant time
(`hmac.compare_digest`).

Why the id and the expiry are both in the token and signed: a forged or edited token is refused
before the database is asked anything (no probing of link ids), and the expiry cannot be moved.
Why a database row as well: revocation and scope (which client's invoices it opens) need state.

After `secrets rotate` the key changes, every outstanding link stops verifying and the client
gets the "link no longer valid" page; the next invoice e-mail, or `portal link --invoice`,
hands out a fresh one. The previous key is not accepted: a rotation is often made because the
key leaked, and a leaked key must not keep opening invoices.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from config.secret_key import secret_key

__all__ = ["PURPOSE", "TokenParts", "TokenRefusedError", "read_token", "sign_token"]

PURPOSE = b"rebill-portal-link-v1"
_MAX_TOKEN = 200  # far longer than any real token; anything longer is refused unread


class TokenRefusedError(ValueError):
    """Not a token this server signed (malformed, or the signature does not match)."""


@dataclass(frozen=True, slots=True)
class TokenParts:
    link_id: int
    expires: int  # Unix seconds


def _key(secret: str | None = None) -> bytes:
    return hmac.new((secret or secret_key()).encode(), PURPOSE, hashlib.sha256).digest()


def _signature(body: str, secret: str | None = None) -> str:
    raw = hmac.new(_key(secret), body.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def sign_token(link_id: int, expires: int, *, secret: str | None = None) -> str:
    body = f"{link_id}.{expires}"
    return f"{body}.{_signature(body, secret)}"


def _number(text: str) -> int:
    # Only plain ASCII digits, no sign, no leading zero: one spelling per number, so no two
    # tokens differ only in how a number is written.
    if not text or not text.isascii() or not text.isdigit() or (len(text) > 1 and text[0] == "0"):
        raise TokenRefusedError("not a portal link")
    return int(text)


def read_token(token: str, *, secret: str | None = None) -> TokenParts:
    """The link id and expiry a token carries, if this server signed it; else
    `TokenRefusedError`. Expiry and revocation are the caller's (they need the clock and the
    row)."""
    if len(token) > _MAX_TOKEN or token.count(".") != 2:
        raise TokenRefusedError("not a portal link")
    link_text, expires_text, signature = token.split(".")
    link_id, expires = _number(link_text), _number(expires_text)
    expected = _signature(f"{link_text}.{expires_text}", secret)
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace")):
        raise TokenRefusedError("not a portal link")
    return TokenParts(link_id, expires)
