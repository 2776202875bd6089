"""QuickBooks Online: `build_connector(info, tokens, *, transport=None)` for the registry.

One `HttpClient` per connector, sharing per-realm budgets with every other connector of the
same company in this process: 500 requests/min and 10 in flight, plus 40 `/batch` requests/min
(QuickBooks' documented limits, `connectors.quickbooks.profile`). Base URL: the connection's, else production.
"""

from __future__ import annotations

import httpx

from connectors.base import ConnectionInfo, Connector
from connectors.http import HttpClient, RateBudget, RetryPolicy, TokenSource
from connectors.provider_profile import ProviderProfile
from connectors.quickbooks.api import BATCH_MAX, MINOR_VERSION, QuickBooksApi, request_id
from connectors.quickbooks.connector import QuickBooksConnector
from connectors.quickbooks.errors import error_from_fault, parse_fault
from connectors.quickbooks.profile import DEFAULT_BASE_URL, LIMITS, OAUTH, choose_company

__all__ = [
    "BATCH_MAX",
    "DEFAULT_BASE_URL",
    "MINOR_VERSION",
    "PROFILE",
    "SANDBOX_BASE_URL",
    "QuickBooksApi",
    "QuickBooksConnector",
    "build_connector",
    "error_from_fault",
    "parse_fault",
    "request_id",
]

SANDBOX_BASE_URL = "https://sandbox-quickbooks.api.intuit.com"
PER_MINUTE = LIMITS.per_minute or 500
CONCURRENT = LIMITS.concurrent or 10
BATCH_PER_MINUTE = LIMITS.batch_per_minute or 40


def build_connector(
    info: ConnectionInfo,
    tokens: TokenSource | None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    retry: RetryPolicy | None = None,
    budget: RateBudget | None = None,
    batch_budget: RateBudget | None = None,
    page_size: int = 1000,
) -> Connector:
    """The connector of one QuickBooks company (`info.remote_tenant` is the realmId).
    `retry`, the budgets and `page_size` are for tests and benchmarks; production uses the
    defaults."""
    realm = info.remote_tenant
    if not realm:
        raise ValueError("remote_tenant: the QuickBooks realmId is missing; reconnect the company")
    client = HttpClient(
        base_url=info.base_url or DEFAULT_BASE_URL,
        name=f"quickbooks:{info.connection_id}",
        auth=tokens,
        budget=budget
        or RateBudget.shared(f"quickbooks:{realm}", PER_MINUTE, concurrent=CONCURRENT),
        retry=retry,
        timeout=httpx.Timeout(30.0, connect=10.0),
        default_headers={"Accept": "application/json"},
        error_parser=parse_fault,
        transport=transport,
    )
    api = QuickBooksApi(
        client,
        realm,
        batch_budget=batch_budget
        or RateBudget.shared(f"quickbooks-batch:{realm}", BATCH_PER_MINUTE),
        page_size=page_size,
    )
    return QuickBooksConnector(api)


PROFILE = ProviderProfile(
    name="quickbooks",
    title="QuickBooks Online",
    connector=build_connector,
    limits=LIMITS,
    default_base_url=DEFAULT_BASE_URL,
    oauth=OAUTH,
    choose_tenant=choose_company,
    callback_tenant_param="realmId",
)
