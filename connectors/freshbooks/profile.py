"""FreshBooks as the shared code sees it: OAuth (client credentials in a JSON body), the
account chosen among the businesses of ``users/me``, the production URL and the limits.
`connectors.freshbooks` assembles them with its connector into its ``PROFILE``.

FreshBooks documents no numeric rate limit (it answers 429 when pushed too hard): 60 calls a
minute and 3 at once per account are our own, conservative choice. Lists page with
``page``/``per_page`` up to 100 ("Pagination", freshbooks.com/api/pagination). FreshBooks takes
no idempotency key: writes are never repeated blindly, the connector looks them up instead.
"""

from __future__ import annotations

from connectors.provider_profile import Limits, OAuthSettings, TenantChoice

__all__ = ["DEFAULT_BASE_URL", "LIMITS", "OAUTH", "SCOPES", "choose_account"]

DEFAULT_BASE_URL = "https://api.freshbooks.com"

LIMITS = Limits(per_minute=60, concurrent=3, page_size=100)

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


async def choose_account(choice: TenantChoice) -> tuple[str, str | None]:
    """The FreshBooks account (a token names none: ``users/me`` lists the businesses), by
    ``--tenant``, else the one a reconnect already uses, else the connector's choice."""
    from connectors.freshbooks import identity

    businesses = await identity.account_ids(
        choice.access_token,
        base_url=choice.oauth.api_url,
        transport=choice.transport,
        timeout=choice.oauth.timeout,
    )
    same = [b for b in businesses if choice.current and b.account_id == choice.current]
    chosen = (
        same[0]
        if same and not choice.wanted
        else identity.choose_business(businesses, choice.wanted)
    )
    return str(chosen.account_id), str(chosen.name)


OAUTH = OAuthSettings(
    authorize_url="https://auth.freshbooks.com/oauth/authorize",
    token_url="https://api.freshbooks.com/auth/oauth/token",  # noqa: S106
    scope=SCOPES,
    api_url="https://api.freshbooks.com",
    credentials_in_body=True,
)
