"""Xero Accounting (`https://api.xero.com/api.xro/2.0`) behind `connectors.base.Connector`.

`build_connector(info, tokens)` gives the connector of one stored connection: the tenant id
goes in ``xero-tenant-id`` on every request; the rate budget (60 calls a minute, 5,000 a day,
5 at once) is shared by every connector of the same tenant in this process and lowered by
Xero's ``X-MinLimit-Remaining`` / ``X-DayLimit-Remaining`` / ``X-AppMinLimit-Remaining``."""

from __future__ import annotations

import httpx

from connectors.base import ConnectionInfo
from connectors.http import HttpClient, RateBudget, RetryPolicy, TokenSource
from connectors.provider_profile import ProviderProfile
from connectors.xero.connector import XeroConnector
from connectors.xero.errors import parse_error
from connectors.xero.profile import DEFAULT_BASE_URL, LIMITS, OAUTH, choose_organisation
from connectors.xero.transport import MAX_BATCH, PAGE_SIZE

__all__ = [
    "BASE_URL",
    "CONCURRENT",
    "MAX_BATCH",
    "PAGE_SIZE",
    "PER_DAY",
    "PER_MINUTE",
    "PROFILE",
    "XeroConnector",
    "build_connector",
    "tenant_budget",
]

BASE_URL = DEFAULT_BASE_URL
PER_MINUTE = LIMITS.per_minute or 60
PER_DAY = LIMITS.per_day or 5000
CONCURRENT = LIMITS.concurrent or 5
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def tenant_budget(tenant_id: str) -> RateBudget:
    """The process-wide budget of one Xero organisation."""
    return RateBudget.shared(f"xero:{tenant_id}", PER_MINUTE, PER_DAY, CONCURRENT)


def build_connector(
    info: ConnectionInfo,
    tokens: TokenSource | None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    budget: RateBudget | None = None,
    retry: RetryPolicy | None = None,
    page_size: int = PAGE_SIZE,
) -> XeroConnector:
    """`budget`, `retry` and `page_size` are for tests and benchmarks (a fake clock, no
    sleeping, short pages); production uses the tenant's shared budget, the default retry
    policy and Xero's 100 a page."""
    if not info.remote_tenant:
        raise ValueError("remote_tenant: a Xero connection needs its tenant id")
    client = HttpClient(
        base_url=info.base_url or BASE_URL,
        name=f"xero:{info.connection_id}",
        auth=tokens,
        budget=budget if budget is not None else tenant_budget(info.remote_tenant),
        retry=retry,
        timeout=TIMEOUT,
        default_headers={"Accept": "application/json", "xero-tenant-id": info.remote_tenant},
        error_parser=parse_error,
        transport=transport,
    )
    return XeroConnector(
        client,
        connection_id=info.connection_id,
        tenant_id=info.remote_tenant,
        page_size=page_size,
    )


PROFILE = ProviderProfile(
    name="xero",
    title="Xero",
    connector=build_connector,
    limits=LIMITS,
    default_base_url=DEFAULT_BASE_URL,
    oauth=OAUTH,
    choose_tenant=choose_organisation,
)
