"""FreshBooks Accounting (`https://api.freshbooks.com`) behind
`connectors.base.PaymentsConnector`.

`build_connector(info, tokens)` gives the connector of one stored connection; its
`remote_tenant` is the FreshBooks account id (``business_memberships[].business.account_id``
of ``GET /auth/api/v1/users/me``, see `identity.account_ids`). FreshBooks publishes no
numeric rate limit (it answers 429 when pushed too hard), so the budget is our own,
conservative choice (`connectors.freshbooks.profile`): 60 calls a minute and 3 at once per
account, shared by every connector of the account in this process; a 429's Retry-After pauses
it. OAuth2 settings are in the profile too; refresh tokens are single-use, so the rotated one
must be stored before the new access token is used (as for Xero).
"""

from __future__ import annotations

import httpx

from connectors.base import ConnectionInfo
from connectors.freshbooks.connector import MAX_PAGE_SIZE, FreshBooksConnector
from connectors.freshbooks.errors import parse_error
from connectors.freshbooks.profile import (
    DEFAULT_BASE_URL,
    LIMITS,
    OAUTH,
    SCOPES,
    choose_account,
)
from connectors.http import HttpClient, RateBudget, RetryPolicy, TokenSource
from connectors.provider_profile import ProviderProfile

__all__ = [
    "AUTHORIZE_URL",
    "BASE_URL",
    "CONCURRENT",
    "PER_MINUTE",
    "PROFILE",
    "SCOPES",
    "TOKEN_URL",
    "FreshBooksConnector",
    "account_budget",
    "build_connector",
]

BASE_URL = DEFAULT_BASE_URL
AUTHORIZE_URL = OAUTH.authorize_url
TOKEN_URL = OAUTH.token_url
PER_MINUTE = LIMITS.per_minute or 60
CONCURRENT = LIMITS.concurrent or 3
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


PROFILE = ProviderProfile(
    name="freshbooks",
    title="FreshBooks",
    connector=build_connector,
    limits=LIMITS,
    default_base_url=DEFAULT_BASE_URL,
    oauth=OAUTH,
    choose_tenant=choose_account,
)
