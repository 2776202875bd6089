"""Stripe as the shared code sees it: an API-key remote (no OAuth consent here), its
production URL and its documented limits (`connectors.stripe` assembles its ``PROFILE``). It is
no accounting remote: it has no mapping, and `sync/stripe` drives it through
`connectors.stripe.StripeGateway`.

Limits, from Stripe's documentation: 100 read and 100 write operations a second in live mode
("Rate limits", docs.stripe.com/rate-limits); ``Idempotency-Key`` at most 255 characters
("Idempotent requests", docs.stripe.com/api/idempotent_requests); lists answer at most 100
objects a page (``limit``) and page with ``starting_after`` while ``has_more``.
"""

from __future__ import annotations

from connectors.provider_profile import Limits

__all__ = ["DEFAULT_BASE_URL", "LIMITS"]

DEFAULT_BASE_URL = "https://api.stripe.com"

LIMITS = Limits(per_second=100, page_size=100, idempotency_key_max=255)
