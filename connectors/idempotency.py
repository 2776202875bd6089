"""The one deterministic idempotency key of Rebill, fitted to each remote's limit.

Every remote write carries a key derived only from what it does (``rebill:{connection}:{op}:
{our id}:{version}``), so a retry after a lost answer sends the same key and the remote
replays its first answer instead of acting twice (Stripe and Xero ``Idempotency-Key``,
QuickBooks ``requestid``). Remotes bound the key's length (QuickBooks 50 characters, 36 for
``/batch``; Stripe 255; Xero 128): `fit_key` keeps a key that fits as it is and otherwise
replaces it by a digest of the whole key cut to the limit, the same digest every time. A
request carrying many elements gets one key from all of theirs (`combined_key`).

The limits themselves live in each provider's profile (`connectors.<provider>.profile`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

__all__ = ["combined_key", "fit_key", "idempotency_key"]

_PREFIX = "rb-"
_MIN_LIMIT = len(_PREFIX) + 16  # at least 64 bits of digest


def idempotency_key(connection_id: str, op: str, our_id: str | int, version: str | int) -> str:
    """The key of one write: what it does to which of our objects, in which version."""
    return f"rebill:{connection_id}:{op}:{our_id}:{version}"


def fit_key(key: str, limit: int) -> str:
    """`key` itself when it is printable ASCII of at most `limit` characters, else
    ``rb-`` and the SHA-256 of the key in hexadecimal, cut to `limit` (deterministic)."""
    if limit < _MIN_LIMIT:
        raise ValueError(f"limit: at least {_MIN_LIMIT} characters, got {limit}")
    if not key:
        raise ValueError("key: an idempotency key cannot be empty")
    if len(key) <= limit and key.isascii() and key.isprintable():
        return key
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return (_PREFIX + digest)[:limit]


def combined_key(keys: Sequence[str], *, op: str, limit: int, suffix: str = "") -> str:
    """One key for a request carrying several elements (a QuickBooks ``/batch``, a Xero PUT
    of many invoices): the element's own key when there is one, else a digest of all of
    them in order."""
    if not keys:
        raise ValueError("keys: a write needs at least one idempotency key")
    tail = f":{suffix}" if suffix else ""
    if len(keys) == 1:
        return fit_key(keys[0] + tail, limit)
    digest = hashlib.sha256("\n".join(keys).encode("utf-8")).hexdigest()
    return fit_key(f"rebill:batch:{op}:{len(keys)}:{digest}{tail}", limit)
