"""QuickBooks Online as the shared code sees it: OAuth, the company chosen by the callback's
``realmId``, the production URL and the documented limits. `connectors.quickbooks` assembles
them with its connector into its ``PROFILE``.

Limits, from Intuit's documentation:
- 500 requests a minute and 10 at once per company (realm) and app; ``/batch`` 40 a minute
  ("API call limits and throttles", developer.intuit.com, QuickBooks Online REST API).
- at most 30 operations in one ``/batch`` (same page: "recommended maximum number of payloads
  in a single batch request is 30"; python-quickbooks' ``BatchManager`` takes 30).
- ``requestid``: at most 50 characters for single operations and 36 for ``/batch``; a batch
  element's ``bId`` at most 10 characters when a requestid is sent (Intuit Developer blog,
  "Request ID update for QuickBooks Online integration", 2015-04-06).
- ``minorversion``: 75 is the oldest still served (python-quickbooks
  ``QuickBooks.MINIMUM_MINOR_VERSION``); queries answer at most 1,000 rows (MAXRESULTS).
- an update carries the object's current ``SyncToken`` (stale: error 5010).
"""

from __future__ import annotations

from connectors.provider_profile import Limits, OAuthSettings, TenantChoice

__all__ = ["DEFAULT_BASE_URL", "LIMITS", "OAUTH", "choose_company"]

DEFAULT_BASE_URL = "https://quickbooks.api.intuit.com"

LIMITS = Limits(
    per_minute=500,
    concurrent=10,
    page_size=1000,
    batch_size=30,
    batch_per_minute=40,
    idempotency_key_max=50,
    batch_idempotency_key_max=36,
    batch_id_max=10,
    api_version="75",
    requires_sync_token=True,
)


async def choose_company(choice: TenantChoice) -> tuple[str, str | None]:
    """The company is the one the partner picked on Intuit's page: ``realmId`` on the
    callback."""
    from connectors.connections.service import OAuthStateError

    realm = choice.callback.get("realmId")
    if not realm:
        raise OAuthStateError("realmId: missing from the QuickBooks callback")
    return str(realm), None


OAUTH = OAuthSettings(
    authorize_url="https://appcenter.intuit.com/connect/oauth2",
    token_url="https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",  # noqa: S106
    scope="com.intuit.quickbooks.accounting",
    api_url="https://quickbooks.api.intuit.com",
    revoke_url="https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
    revoke_as_json=True,
)
