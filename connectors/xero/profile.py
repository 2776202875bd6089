"""Xero as the shared code sees it: OAuth, the organisation chosen among those the consent
reaches (``GET /connections``), the production URL and the documented limits.
`connectors.xero` assembles them with its connector into its ``PROFILE``.

Limits, from Xero's documentation ("OAuth 2.0 API limits", developer.xero.com): 60 calls a
minute, 5,000 a day and 5 at once per organisation; lists page by 100 by default and at most
1,000 with ``pageSize``; ``Idempotency-Key`` at most 128 characters ("Idempotent requests").
Refresh tokens are single-use and last 60 days.
"""

from __future__ import annotations

from datetime import timedelta

from connectors.provider_profile import Limits, OAuthSettings, TenantChoice

__all__ = ["DEFAULT_BASE_URL", "LIMITS", "OAUTH", "choose_organisation"]

DEFAULT_BASE_URL = "https://api.xero.com"

LIMITS = Limits(
    per_minute=60,
    per_day=5000,
    concurrent=5,
    page_size=1000,
    batch_size=50,  # Xero recommends at most 50 elements per request
    idempotency_key_max=128,
    batch_idempotency_key_max=128,
)


async def choose_organisation(choice: TenantChoice) -> tuple[str, str | None]:
    """The organisation named at connect time, else the one a reconnect already uses, else
    the most recently connected."""
    from connectors.connections.service import choose_tenant

    tenants = await choice.oauth.tenants(choice.access_token, transport=choice.transport)
    tenant = choose_tenant(tenants, choice.wanted, choice.current)
    return tenant.tenant_id, tenant.tenant_name


OAUTH = OAuthSettings(
    authorize_url="https://login.xero.com/identity/connect/authorize",
    token_url="https://identity.xero.com/connect/token",  # noqa: S106
    scope="offline_access accounting.transactions accounting.contacts accounting.settings",
    api_url="https://api.xero.com",
    connections_url="https://api.xero.com/connections",
    revoke_url="https://identity.xero.com/connect/revocation",
    refresh_lifetime=timedelta(days=60),
)
