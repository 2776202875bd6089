"""The OAuth callback: state checked once, code exchanged, organisation found, tokens stored."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import timedelta

import pytest
import respx
from sqlalchemy import Engine
from sqlmodel import Session

from api.app import create_app
from config.db_types import utcnow
from connectors.connections.crypto import cipher_from_settings
from connectors.connections.models import ConnectionStatus
from connectors.connections.service import start_consent
from tests.connectors.connections.conftest import stored
from tests.fakes.oauth import OAuthFake

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture
def client(configured: Engine, fake: OAuthFake) -> Iterator[TestClient]:
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="oauth.fake").mock(side_effect=fake.handle)
        with TestClient(create_app()) as test_client:
            yield test_client


def _start(engine: Engine, provider: str, **kwargs: object) -> tuple[str, str]:
    with Session(engine) as session:
        started = start_consent(session, partner_id="acme", provider=provider, **kwargs)  # type: ignore[arg-type]
        session.commit()
    return started.state, started.connection_id


def test_quickbooks_callback_stores_realm_and_encrypted_tokens(
    configured: Engine, partner: str, fake: OAuthFake, client: TestClient
) -> None:
    fake.refresh_lifetime = 8_726_400
    state, connection_id = _start(configured, "quickbooks")
    response = client.get(
        "/oauth/quickbooks/callback",
        params={"code": fake.issue_code(), "state": state, "realmId": "9130357"},
    )
    assert response.status_code == 200, response.text
    assert "Connected quickbooks for acme" in response.text
    row = stored(configured, connection_id)
    assert row.status is ConnectionStatus.ACTIVE
    assert row.remote_tenant == "9130357"
    cipher = cipher_from_settings()
    assert row.refresh_token_enc is not None and row.access_token_enc is not None
    assert cipher.decrypt(row.refresh_token_enc) == fake.latest_refresh
    assert fake.access_valid(cipher.decrypt(row.access_token_enc))
    assert row.access_expires_at is not None and row.refresh_expires_at is not None
    assert row.refresh_expires_at - utcnow() > timedelta(days=100)


@pytest.mark.parametrize(("wanted", "tenant"), [(None, "tenant-new"), ("old org", "tenant-old")])
def test_xero_callback_picks_the_named_or_newest_tenant(
    configured: Engine,
    partner: str,
    fake: OAuthFake,
    client: TestClient,
    wanted: str | None,
    tenant: str,
) -> None:
    state, connection_id = _start(configured, "xero", name="books", tenant_name=wanted)
    response = client.get(
        "/oauth/xero/callback", params={"code": fake.issue_code(), "state": state}
    )
    assert response.status_code == 200, response.text
    assert "Connected xero for acme" in response.text
    row = stored(configured, connection_id)
    assert (row.status, row.remote_tenant) == (ConnectionStatus.ACTIVE, tenant)
    assert row.refresh_expires_at is not None  # Xero: 60 days, documented, not sent
    assert timedelta(days=59) < row.refresh_expires_at - utcnow() <= timedelta(days=60)
    assert row.remote_tenant_name in response.text


def test_xero_callback_with_an_unknown_tenant_name_is_refused(
    configured: Engine, partner: str, fake: OAuthFake, client: TestClient
) -> None:
    state, connection_id = _start(configured, "xero", tenant_name="Nope Ltd")
    response = client.get(
        "/oauth/xero/callback", params={"code": fake.issue_code(), "state": state}
    )
    assert response.status_code == 400
    assert "no organisation named" in response.text and "New Org" in response.text
    assert stored(configured, connection_id).status is ConnectionStatus.PENDING


def test_unknown_state_is_refused(partner: str, fake: OAuthFake, client: TestClient) -> None:
    response = client.get(
        "/oauth/xero/callback", params={"code": fake.issue_code(), "state": "forged"}
    )
    assert response.status_code == 400
    assert "state: unknown or already used" in response.text


def test_state_works_once(
    configured: Engine, partner: str, fake: OAuthFake, client: TestClient
) -> None:
    state, _ = _start(configured, "xero")
    first = client.get("/oauth/xero/callback", params={"code": fake.issue_code(), "state": state})
    again = client.get("/oauth/xero/callback", params={"code": fake.issue_code(), "state": state})
    assert first.status_code == 200
    assert again.status_code == 400 and "already used" in again.text


def test_expired_state_is_refused(
    configured: Engine, partner: str, fake: OAuthFake, client: TestClient
) -> None:
    with Session(configured) as session:
        started = start_consent(
            session, partner_id="acme", provider="xero", now=utcnow() - timedelta(minutes=16)
        )
        session.commit()
    response = client.get(
        "/oauth/xero/callback", params={"code": fake.issue_code(), "state": started.state}
    )
    assert response.status_code == 400 and "expired" in response.text
    assert fake.refresh_calls == 0 and not fake.issued_refresh  # no code was exchanged


def test_state_of_another_provider_is_refused(
    configured: Engine, partner: str, fake: OAuthFake, client: TestClient
) -> None:
    state, _ = _start(configured, "xero")
    response = client.get(
        "/oauth/quickbooks/callback",
        params={"code": fake.issue_code(), "state": state, "realmId": "1"},
    )
    assert response.status_code == 400 and "issued for xero" in response.text


def test_provider_denial_and_bad_code_are_reported(
    configured: Engine, partner: str, client: TestClient
) -> None:
    denied = client.get("/oauth/xero/callback", params={"error": "access_denied", "state": "x"})
    assert denied.status_code == 400 and "access_denied" in denied.text
    state, _ = _start(configured, "xero")
    bad = client.get("/oauth/xero/callback", params={"code": "made-up", "state": state})
    assert bad.status_code == 502 and "invalid_grant" in bad.text


def test_reconnecting_another_company_under_the_same_name_is_refused(
    configured: Engine, partner: str, fake: OAuthFake, client: TestClient
) -> None:
    state, connection_id = _start(configured, "quickbooks")
    first = client.get(
        "/oauth/quickbooks/callback",
        params={"code": fake.issue_code(), "state": state, "realmId": "111"},
    )
    assert first.status_code == 200
    before = stored(configured, connection_id)
    state, _ = _start(configured, "quickbooks")
    other = client.get(
        "/oauth/quickbooks/callback",
        params={"code": fake.issue_code(), "state": state, "realmId": "222"},
    )
    assert other.status_code == 400
    assert "belongs to organisation 111" in other.text and "another --name" in other.text
    after = stored(configured, connection_id)
    assert (after.remote_tenant, after.refresh_token_enc) == ("111", before.refresh_token_enc)
    state, _ = _start(configured, "quickbooks")
    same = client.get(
        "/oauth/quickbooks/callback",
        params={"code": fake.issue_code(), "state": state, "realmId": "111"},
    )
    assert same.status_code == 200
    assert stored(configured, connection_id).token_version == before.token_version + 1


def test_xero_reconnect_keeps_the_organisation_it_had(
    configured: Engine, partner: str, fake: OAuthFake, client: TestClient
) -> None:
    state, connection_id = _start(configured, "xero", tenant_name="Old Org")
    assert client.get(
        "/oauth/xero/callback", params={"code": fake.issue_code(), "state": state}
    ).is_success
    state, _ = _start(configured, "xero")  # no --tenant: not the newest, the one it had
    assert client.get(
        "/oauth/xero/callback", params={"code": fake.issue_code(), "state": state}
    ).is_success
    assert stored(configured, connection_id).remote_tenant == "tenant-old"
