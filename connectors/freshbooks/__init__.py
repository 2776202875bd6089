"""FreshBooks Accounting (`https://api.freshbooks.com`) behind
`connectors.base.PaymentsConnector`.

`build_connector(info, tokens)` gives the connector of one stored connection; its
`remote_tenant` is the FreshBooks account id (``business_memberships[].business.account_id``
of ``GET /auth/api/v1/users/me``, see `identity.account_ids`). FreshBooks publishes no
numeric rate limit (it answers 429 when pushed too hard), so the budget is our own,
conservative choice: 60 calls a minute and 3 at once per account, shared by every connector of
the account in this process; a 429's Retry-After pauses it.

OAuth2 (for the connections package): consent at ``https://auth.freshbooks.com/oauth/authorize``,
tokens at ``https://api.freshbooks.com/auth/oauth/token``; refresh tokens are single-use, so the
rotated one must be stored before the new access token is used (as for Xero).
"""

from __future__ import annotations

import httpx

from connectors.base import ConnectionInfo
from connectors.freshbooks.connector import MAX_PAGE_SIZE, FreshBooksConnector
from connectors.freshbooks.errors import parse_error
from connectors.http import HttpClient, RateBudget, RetryPolicy, TokenSource

__all__ = [
    "AUTHORIZE_URL",
    "BASE_URL",
    "CONCURRENT",
    "OAUTH_DEFAULTS",
    "PER_MINUTE",
    "SCOPES",
    "TOKEN_URL",
    "FreshBooksConnector",
    "account_budget",
    "build_connector",
]

BASE_URL = "https://api.freshbooks.com"
AUTHORIZE_URL = "https://auth.freshbooks.com/oauth/authorize"
TOKEN_URL = "https://api.freshbooks.com/auth/oauth/token"  # noqa: S105 (a URL)
# What the connector touches; FreshBooks answers 403 naming the missing scopes otherwise.
SCOPES = " ".join(
    f"user:{name}"
    for name in (
        "profile:read",
        "clients:read",
        "clients:write",
        "billable_items:read",
        "billable_items:write",
        "invoices:read",
        "invoices:write",
        "payments:read",
        "payments:write",
        "credit_notes:read",
        "credit_notes:write",
    )
)
# The row `connectors.connections.providers` needs for FreshBooks (same keys as its table).
OAUTH_DEFAULTS = {
    "auth": AUTHORIZE_URL,
    "token": TOKEN_URL,
    "scope": SCOPES,
    "api": BASE_URL,
    "connections": "",
}
PER_MINUTE = 60
CONCURRENT = 3
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def account_budget(account_id: str) -> RateBudget:
    """The process-wide budget of one FreshBooks account."""
    return RateBudget.shared(f"freshbooks:{account_id}", PER_MINUTE, None, CONCURRENT)


def build_connector(
    info: ConnectionInfo,
    tokens: TokenSource | None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    budget: RateBudget | None = None,
    retry: RetryPolicy | None = None,
    page_size: int = MAX_PAGE_SIZE,
) -> FreshBooksConnector:
    """`budget`, `retry` and `page_size` are for tests and benchmarks (a fake clock, no
    sleeping, short pages)."""
    if not info.remote_tenant:
        raise ValueError("remote_tenant: a FreshBooks connection needs its account id")
    client = HttpClient(
        base_url=info.base_url or BASE_URL,
        name=f"freshbooks:{info.connection_id}",
        auth=tokens,
        budget=budget if budget is not None else account_budget(info.remote_tenant),
        retry=retry,
        timeout=TIMEOUT,
        default_headers={"Accept": "application/json"},
        error_parser=parse_error,
        transport=transport,
    )
    return FreshBooksConnector(
        client,
        connection_id=info.connection_id,
        account_id=info.remote_tenant,
        page_size=page_size,
    )
