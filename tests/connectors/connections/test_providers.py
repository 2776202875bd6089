"""Token requests: HTTP Basic client auth and a form body; every refusal maps to an outcome
with a message saying what to do, and no secret in it."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs

import httpx
import pytest

from config.settings import Settings
from connectors.base import AuthExpiredError, RateLimitedError, RejectedError, RetryableError
from connectors.connections.providers import InvalidGrantError, oauth_provider

pytestmark = pytest.mark.anyio

SETTINGS = Settings(
    quickbooks_client_id="qb-id",
    quickbooks_client_secret="qb-secret",  # type: ignore[arg-type]
    xero_client_id="x-id",
    xero_client_secret="x-secret",  # type: ignore[arg-type]
    public_url="https://rebill.example/",
)


async def test_refresh_sends_basic_auth_and_a_form_and_reads_the_grant() -> None:
    seen: list[httpx.Request] = []

    def token_endpoint(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = {
            "access_token": "new-at",
            "refresh_token": "new-rt",
            "expires_in": 3600,
            "x_refresh_token_expires_in": 8726400,
            "token_type": "bearer",
        }
        return httpx.Response(200, json=body)

    provider = oauth_provider("quickbooks", SETTINGS)
    grant = await provider.refresh("old-rt", transport=httpx.MockTransport(token_endpoint))
    (request,) = seen
    assert str(request.url) == "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
    assert (
        request.headers["Authorization"] == "Basic " + base64.b64encode(b"qb-id:qb-secret").decode()
    )
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.content.decode()) == {
        "grant_type": ["refresh_token"],
        "refresh_token": ["old-rt"],
    }
    assert (grant.access_token, grant.refresh_token) == ("new-at", "new-rt")
    assert grant.refresh_expires_at is not None
    assert (grant.refresh_expires_at - grant.access_expires_at).days == 100


async def test_code_exchange_sends_the_redirect_uri() -> None:
    forms: list[dict[str, list[str]]] = []

    def token_endpoint(request: httpx.Request) -> httpx.Response:
        forms.append(parse_qs(request.content.decode()))
        return httpx.Response(200, json={"access_token": "a", "refresh_token": "r"})

    provider = oauth_provider("xero", SETTINGS)
    await provider.exchange_code("the-code", transport=httpx.MockTransport(token_endpoint))
    assert forms == [
        {
            "grant_type": ["authorization_code"],
            "code": ["the-code"],
            "redirect_uri": ["https://rebill.example/oauth/xero/callback"],
        }
    ]


@pytest.mark.parametrize(
    ("status", "body", "headers", "error", "message"),
    [
        (400, {"error": "invalid_grant"}, {}, InvalidGrantError, "connect xero again"),
        (401, {"error": "invalid_client"}, {}, AuthExpiredError, "REBILL_XERO_CLIENT_ID"),
        (400, {"error": "invalid_client"}, {}, RejectedError, "REBILL_XERO_CLIENT_SECRET"),
        (400, {"error": "unsupported_grant_type"}, {}, RejectedError, "unsupported_grant_type"),
        (429, {}, {"Retry-After": "7"}, RateLimitedError, "rate limited"),
        (503, {}, {}, RetryableError, "HTTP 503"),
        (200, {"access_token": "only"}, {}, RetryableError, "lacks"),
    ],
)
async def test_token_endpoint_failures_map_to_outcomes(
    status: int,
    body: dict[str, str],
    headers: dict[str, str],
    error: type[Exception],
    message: str,
) -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(status, json=body, headers=headers))
    provider = oauth_provider("xero", SETTINGS)
    with pytest.raises(error, match=message) as caught:
        await provider.refresh("secret-refresh-token", transport=transport)
    assert "secret-refresh-token" not in str(caught.value) and "x-secret" not in str(caught.value)
    if isinstance(caught.value, RateLimitedError):
        assert caught.value.retry_after == 7.0


async def test_a_timeout_is_retryable_and_nothing_is_resent() -> None:
    calls: list[int] = []

    def hang(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ReadTimeout("slow", request=request)

    provider = oauth_provider("xero", SETTINGS)
    with pytest.raises(RetryableError):
        await provider.refresh("rt", transport=httpx.MockTransport(hang))
    assert calls == [1]  # a spent single-use token is never sent twice blindly


def test_urls_can_point_at_a_fake() -> None:
    settings = Settings(
        xero_client_id="x",
        xero_api_url="http://127.0.0.1:9000",
        xero_token_url="http://127.0.0.1:9001/connect/token",
    )
    provider = oauth_provider("xero", settings)
    assert provider.token_url == "http://127.0.0.1:9001/connect/token"
    assert provider.connections_url == "http://127.0.0.1:9000/connections"
    assert provider.authorize_url == "https://login.xero.com/identity/connect/authorize"
    with pytest.raises(ValueError, match="provider: 'stripe' has no OAuth flow"):
        oauth_provider("stripe", settings)
