"""The OAuth2 authorisation-code flow of each provider: consent URL, code exchange, refresh,
and (Xero) which organisations the consent covers.

Endpoints and scopes are each provider's (its profile, `connectors.<provider>.profile`), from
the providers' documentation:
- QuickBooks Online: consent at appcenter.intuit.com/connect/oauth2 with scope
  `com.intuit.quickbooks.accounting`; tokens at oauth.platform.intuit.com/oauth2/v1/tokens/bearer
  (access token 1 h, refresh token ~100 days in `x_refresh_token_expires_in`, and the refresh
  token may change on any refresh); the company (`realmId`) arrives on the callback's query.
- Xero: consent at login.xero.com/identity/connect/authorize; tokens at
  identity.xero.com/connect/token (access token 30 min; refresh tokens are single-use and last
  60 days); the organisations come from GET api.xero.com/connections.
Token requests authenticate the app with HTTP Basic (client id:secret) and send a form body.
Every URL can be overridden in settings so a fake or a sandbox can stand in.

Failures map onto the connector outcomes: `invalid_grant` (the refresh token or code is spent,
expired or revoked) is `InvalidGrantError`, an `AuthExpiredError` the partner fixes by
connecting again; 5xx, timeouts and resets are `RetryableError`; 429 is `RateLimitedError`;
any other refusal (wrong redirect URI, bad client credentials) is `RejectedError` naming the
setting to check (`AuthExpiredError` with the same message when the answer is a 401: the HTTP
client treats every 401 so). Nothing here logs or raises with a token in it.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from pydantic import SecretStr

from config.db_types import utcnow
from config.settings import Settings, get_settings
from connectors.base import (
    AuthExpiredError,
    ConnectorError,
    RateLimitedError,
    RejectedError,
    RetryableError,
)
from connectors.http import ErrorParser, HttpClient
from connectors.profiles import ProviderNames, UnknownProviderError, profile

__all__ = [
    "OAUTH_PROVIDERS",
    "InvalidGrantError",
    "OAuthProvider",
    "TokenGrant",
    "XeroTenant",
    "oauth_provider",
]


#: The names of the remotes with an OAuth flow (their profiles'), read when asked.
OAUTH_PROVIDERS: Sequence[str] = ProviderNames(oauth=True)


class InvalidGrantError(AuthExpiredError):
    """The provider refused the refresh token or authorisation code (`invalid_grant`)."""


@dataclass(frozen=True, slots=True)
class TokenGrant:
    access_token: str
    refresh_token: str
    access_expires_at: datetime
    refresh_expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class XeroTenant:
    tenant_id: str
    tenant_name: str
    tenant_type: str
    created: str  # ISO timestamp as sent; compared as text (same format for every entry)


@dataclass(frozen=True, slots=True)
class OAuthProvider:
    name: str
    client_id: str
    client_secret: str
    authorize_url: str
    token_url: str
    scope: str
    api_url: str
    connections_url: str
    revoke_url: str
    redirect_uri: str
    timeout: float
    credentials_in_body: bool = False  # FreshBooks: JSON body with client id and secret
    revoke_as_json: bool = False  # Intuit: the revocation takes a JSON body
    refresh_lifetime: timedelta | None = None  # documented, when the token answer omits it

    def consent_url(self, state: str) -> str:
        """Where the partner's browser goes to grant access."""
        query = {
            "client_id": self.client_id,
            "response_type": "code",
            "scope": self.scope,
            "redirect_uri": self.redirect_uri,
            "state": state,
        }
        return f"{self.authorize_url}?{urlencode(query)}"

    async def exchange_code(
        self, code: str, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> TokenGrant:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri}
        return await self._token_request(form, transport)

    async def refresh(
        self, refresh_token: str, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> TokenGrant:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if self.credentials_in_body:
            form["redirect_uri"] = self.redirect_uri
        return await self._token_request(form, transport)

    async def revoke(
        self, refresh_token: str, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        """Withdraw the grant at the provider (disconnect): Intuit takes a JSON body, Xero a
        form (and drops the user's connections to the app). One attempt; nothing to do for a
        provider without a revocation endpoint here (FreshBooks: the partner removes the app)."""
        if not self.revoke_url:
            return
        origin, path = _split(self.revoke_url)
        async with self._client(origin, "revoke", transport) as client:
            if self.revoke_as_json:
                await client.request(
                    "POST", path, json={"token": refresh_token}, headers=self._basic(), retry=False
                )
            else:
                await client.request(
                    "POST", path, data={"token": refresh_token}, headers=self._basic(), retry=False
                )

    def _basic(self) -> dict[str, str]:
        pair = f"{self.client_id}:{self.client_secret}".encode()
        return {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}

    async def tenants(
        self, access_token: str, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> list[XeroTenant]:
        """The organisations this consent reaches (Xero's GET /connections)."""
        if not self.connections_url:
            return []
        origin, path = _split(self.connections_url)
        async with self._client(origin, "connections", transport) as client:
            response = await client.request(
                "GET", path, headers={"Authorization": f"Bearer {access_token}"}
            )
        entries = response.json()
        if not isinstance(entries, list):
            raise RejectedError(f"{self.name}: connections list is not a JSON array")
        return [
            XeroTenant(
                tenant_id=str(entry.get("tenantId", "")),
                tenant_name=str(entry.get("tenantName") or ""),
                tenant_type=str(entry.get("tenantType") or ""),
                created=str(entry.get("createdDateUtc") or ""),
            )
            for entry in entries
            if isinstance(entry, dict) and entry.get("tenantId")
        ]

    # -- internals -------------------------------------------------------------------------
    def _client(
        self,
        url: str,
        what: str,
        transport: httpx.AsyncBaseTransport | None,
        error_parser: ErrorParser | None = None,
    ) -> HttpClient:
        return HttpClient(
            base_url=url,
            name=f"{self.name}:{what}",
            timeout=httpx.Timeout(self.timeout),
            default_headers={"Accept": "application/json"},
            error_parser=error_parser,
            transport=transport,
        )

    async def _token_request(
        self, form: dict[str, str], transport: httpx.AsyncBaseTransport | None
    ) -> TokenGrant:
        """One attempt, never repeated blindly: a refresh token the provider accepted but
        whose answer was lost is spent, and sending it again would only earn invalid_grant."""
        if not self.client_id or not self.client_secret:
            raise RejectedError(
                f"{self.name}_client_id / {self.name}_client_secret: not configured "
                f"(set REBILL_{self.name.upper()}_CLIENT_ID and _CLIENT_SECRET)",
                status=None,
            )
        grant = form["grant_type"]

        def parse(response: httpx.Response) -> ConnectorError:
            return _token_error(self.name, grant, response)

        origin, path = _split(self.token_url)
        async with self._client(origin, "oauth", transport, parse) as client:
            if self.credentials_in_body:
                body = {**form, "client_id": self.client_id, "client_secret": self.client_secret}
                response = await client.request("POST", path, json=body, retry=False)
            else:
                response = await client.request(
                    "POST", path, data=form, headers=self._basic(), retry=False
                )
        return _grant(self.name, response, self.refresh_lifetime)


def _split(url: str) -> tuple[str, str]:
    """(scheme://host[:port], /path?query): the client's base URL and the request path."""
    parsed = httpx.URL(url)
    origin = f"{parsed.scheme}://{parsed.netloc.decode('ascii')}"
    query = f"?{parsed.query.decode('ascii')}" if parsed.query else ""
    return origin, f"{parsed.path or '/'}{query}"


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _grant(
    provider: str, response: httpx.Response, documented: timedelta | None = None
) -> TokenGrant:
    body = _body(response)
    access = body.get("access_token")
    refresh = body.get("refresh_token")
    if not isinstance(access, str) or not access or not isinstance(refresh, str) or not refresh:
        raise RetryableError(f"{provider}: token response lacks access_token or refresh_token")
    now = utcnow()
    try:
        expires_in = int(body.get("expires_in") or 1800)
        refresh_in = int(body.get("x_refresh_token_expires_in") or 0)
    except (TypeError, ValueError):
        raise RetryableError(f"{provider}: token response has a non-numeric expiry") from None
    lifetime = timedelta(seconds=refresh_in) if refresh_in else documented
    return TokenGrant(
        access_token=access,
        refresh_token=refresh,
        access_expires_at=now + timedelta(seconds=expires_in),
        refresh_expires_at=now + lifetime if lifetime else None,
    )


def _token_error(provider: str, grant: str, response: httpx.Response) -> ConnectorError:
    status = response.status_code
    body = _body(response)
    code = str(body.get("error") or "")
    detail = str(body.get("error_description") or code or f"HTTP {status}")[:200]
    if code == "invalid_grant":
        return InvalidGrantError(
            f"{provider} refused the {'refresh token' if grant == 'refresh_token' else 'code'} "
            f"(invalid_grant: {detail}); the partner must connect {provider} again",
            status=status,
        )
    if status == 429:
        retry_after = response.headers.get("Retry-After")
        return RateLimitedError(
            f"{provider}: token endpoint rate limited",
            retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
        )
    if status >= 500:
        return RetryableError(f"{provider}: token endpoint answered HTTP {status}", status=status)
    if code == "invalid_client" or status == 401:
        return RejectedError(
            f"{provider}: the app's client credentials were refused ({detail}); check "
            f"REBILL_{provider.upper()}_CLIENT_ID and REBILL_{provider.upper()}_CLIENT_SECRET",
            status=status,
        )
    return RejectedError(f"{provider}: token request ({grant}) refused: {detail}", status=status)


def oauth_provider(name: str, settings: Settings | None = None) -> OAuthProvider:
    """The provider's OAuth endpoints (its profile's, overridden by settings) and the app's
    credentials from settings: ``REBILL_<NAME>_CLIENT_ID``, ``_CLIENT_SECRET``, ``_AUTH_URL``,
    ``_TOKEN_URL``, ``_API_URL``, ``_CONNECTIONS_URL``, ``_REVOKE_URL`` (a remote whose
    settings are not declared in `config.settings` is read from the environment directly)."""
    try:
        published = profile(name)
    except UnknownProviderError:
        published = None
    flow = published.oauth if published is not None else None
    if flow is None:
        raise ValueError(
            f"provider: {name!r} has no OAuth flow here (choose from {', '.join(OAUTH_PROVIDERS)})"
        )
    s = settings or get_settings()

    def setting(key: str) -> str:
        value = getattr(s, f"{name}_{key}", None)
        if value is None:
            value = os.environ.get(f"REBILL_{name}_{key}".upper(), "")
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        return value if isinstance(value, str) else ""

    api = setting("api_url")
    connections = setting("connections_url") or (
        f"{api.rstrip('/')}/connections" if api and flow.connections_url else flow.connections_url
    )
    return OAuthProvider(
        name=name,
        client_id=setting("client_id"),
        client_secret=setting("client_secret"),
        authorize_url=setting("auth_url") or flow.authorize_url,
        token_url=setting("token_url") or flow.token_url,
        scope=flow.scope,
        api_url=api or flow.api_url,
        connections_url=connections,
        revoke_url=setting("revoke_url") or flow.revoke_url,
        redirect_uri=f"{s.public_url.rstrip('/')}/oauth/{name}/callback",
        timeout=s.oauth_timeout_seconds,
        credentials_in_body=flow.credentials_in_body,
        revoke_as_json=flow.revoke_as_json,
        refresh_lifetime=flow.refresh_lifetime,
    )
