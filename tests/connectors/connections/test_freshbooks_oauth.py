"""FreshBooks through the same flow: consent URL with its scopes, the account found through
`users/me`, client credentials in a JSON body, single-use refresh tokens rotated."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx
from sqlalchemy import Engine
from sqlmodel import Session

from api.app import create_app
from connectors.connections.crypto import cipher_from_settings
from connectors.connections.models import ConnectionStatus
from connectors.connections.service import start_consent
from connectors.connections.token_source import DatabaseTokenSource
from connectors.freshbooks import SCOPES
from tests.connectors.connections.conftest import FRESHBOOKS_API, Seed, stored
from tests.fakes.oauth import OAuthFake

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

ME = {
    "response": {
        "business_memberships": [
            {"role": "owner", "business": {"id": 11, "account_id": "AbC1", "name": "Studio"}},
            {"role": "manager", "business": {"id": 12, "account_id": "XyZ2", "name": "Client Co"}},
        ]
    }
}


@pytest.fixture
def books_fake(fake: OAuthFake) -> OAuthFake:
    fake.credentials_in_body = True
    return fake


@pytest.fixture
def client(configured: Engine, books_fake: OAuthFake) -> Iterator[TestClient]:
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="oauth.fake").mock(side_effect=books_fake.handle)
        mock.get(f"{FRESHBOOKS_API}/auth/api/v1/users/me").respond(200, json=ME)
        with TestClient(create_app()) as test_client:
            yield test_client


def _start(engine: Engine, **kwargs: Any) -> str:
    with Session(engine) as session:
        started = start_consent(session, partner_id="acme", provider="freshbooks", **kwargs)
        session.commit()
    return started.state


def test_consent_url_asks_for_what_the_connector_touches(configured: Engine, partner: str) -> None:
    with Session(configured) as session:
        url = start_consent(session, partner_id=partner, provider="freshbooks").url
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert parts.hostname == "auth.freshbooks.com"
    assert query["scope"] == SCOPES and "user:invoices:write" in query["scope"]
    assert query["redirect_uri"] == "https://rebill.example/oauth/freshbooks/callback"


@pytest.mark.parametrize(("wanted", "account"), [(None, "AbC1"), ("Client Co", "XyZ2")])
def test_callback_stores_the_account(
    configured: Engine,
    partner: str,
    books_fake: OAuthFake,
    client: TestClient,
    wanted: str | None,
    account: str,
) -> None:
    state = _start(configured, tenant_name=wanted)
    response = client.get(
        "/oauth/freshbooks/callback", params={"code": books_fake.issue_code(), "state": state}
    )
    assert response.status_code == 200, response.text
    assert "Connected freshbooks for acme" in response.text
    with Session(configured) as session:
        from connectors.connections.repository import connection_by_name

        row = connection_by_name(session, "acme", "freshbooks")
        assert row is not None
        assert (row.status, row.remote_tenant) == (ConnectionStatus.ACTIVE, account)
        assert row.refresh_token_enc is not None
        assert cipher_from_settings().decrypt(row.refresh_token_enc) == books_fake.latest_refresh


@pytest.mark.anyio
async def test_refresh_sends_credentials_in_a_json_body_and_rotates(
    configured: Engine, seed: Seed, books_fake: OAuthFake
) -> None:
    connection_id = seed(provider="freshbooks", name="freshbooks", expires_in=timedelta(0))
    bodies: list[str] = []

    def endpoint(request: httpx.Request) -> httpx.Response:
        bodies.append(request.headers["Content-Type"])
        assert "Authorization" not in request.headers
        return books_fake.handle(request)

    source = DatabaseTokenSource(configured, connection_id, transport=httpx.MockTransport(endpoint))
    token = await source.access_token()
    await source.force_refresh()
    assert books_fake.access_valid(token) and books_fake.invalid_grants == 0
    assert bodies == ["application/json", "application/json"]
    row = stored(configured, connection_id)
    assert row.refresh_token_enc is not None
    assert cipher_from_settings().decrypt(row.refresh_token_enc) == books_fake.latest_refresh
