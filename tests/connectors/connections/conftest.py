"""Fixtures of the connection tests: app credentials and fake OAuth endpoints in settings, a
partner, an OAuth fake, and stored connections seeded with the fake's tokens."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from billing.tenants.models import Partner
from config.db_types import utcnow
from config.settings import get_settings
from connectors.connections.crypto import cipher_from_settings
from connectors.connections.models import Connection, ConnectionStatus, Provider
from tests.fakes.oauth import OAuthFake

OAUTH = "https://oauth.fake"
SECRET = "test-secret-key-for-tokens"
FRESHBOOKS_API = "https://freshbooks.fake"
XERO_TENANTS = [
    {
        "id": "c1",
        "tenantId": "tenant-old",
        "tenantType": "ORGANISATION",
        "tenantName": "Old Org",
        "createdDateUtc": "2025-01-01T00:00:00.0000000",
    },
    {
        "id": "c2",
        "tenantId": "tenant-new",
        "tenantType": "ORGANISATION",
        "tenantName": "New Org",
        "createdDateUtc": "2026-03-01T00:00:00.0000000",
    },
]


def oauth_env(monkeypatch: pytest.MonkeyPatch, base: str = OAUTH) -> None:
    values = {
        "REBILL_SECRET_KEY": SECRET,
        "REBILL_PUBLIC_URL": "https://rebill.example",
        "REBILL_QUICKBOOKS_CLIENT_ID": "app-id",
        "REBILL_QUICKBOOKS_CLIENT_SECRET": "app-secret",
        "REBILL_QUICKBOOKS_TOKEN_URL": f"{base}/oauth2/v1/tokens/bearer",
        "REBILL_QUICKBOOKS_REVOKE_URL": f"{base}/v2/oauth2/tokens/revoke",
        "REBILL_XERO_CLIENT_ID": "app-id",
        "REBILL_XERO_CLIENT_SECRET": "app-secret",
        "REBILL_XERO_TOKEN_URL": f"{base}/connect/token",
        "REBILL_XERO_CONNECTIONS_URL": f"{base}/connections",
        "REBILL_XERO_REVOKE_URL": f"{base}/connect/revocation",
        "REBILL_FRESHBOOKS_CLIENT_ID": "app-id",
        "REBILL_FRESHBOOKS_CLIENT_SECRET": "app-secret",
        "REBILL_FRESHBOOKS_TOKEN_URL": f"{base}/auth/oauth/token",
        "REBILL_FRESHBOOKS_API_URL": FRESHBOOKS_API,
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def configured(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    oauth_env(monkeypatch)
    yield engine
    get_settings.cache_clear()


@pytest.fixture
def partner(configured: Engine) -> str:
    with Session(configured) as session:
        session.add(
            Partner(
                id="acme",
                name="Acme Agency",
                currency="USD",
                timezone="UTC",
                invoice_prefix="ACME",
                branding={"sender_email": "billing@acme.example"},
                settings={
                    "finance_emails": ["finance@acme.example"],
                    "connections": {
                        "books": {"provider": "xero", "enabled": True, "sales_account": "200"},
                    },
                },
            )
        )
        session.commit()
    return "acme"


@pytest.fixture
def fake() -> OAuthFake:
    return OAuthFake(base_url=OAUTH, tenants=[dict(t) for t in XERO_TENANTS])


@pytest.fixture
def transport(fake: OAuthFake) -> httpx.MockTransport:
    return httpx.MockTransport(fake.handle)


Seed = Callable[..., str]


@pytest.fixture
def seed(configured: Engine, partner: str, fake: OAuthFake) -> Seed:
    """Store an active connection holding a live token pair of the fake; returns its id."""

    def make(
        *,
        provider: str = "xero",
        name: str = "books",
        expires_in: timedelta = timedelta(minutes=30),
        refresh_expires_in: timedelta | None = None,
    ) -> str:
        access, refresh = fake.grant_pair()
        cipher = cipher_from_settings()
        row = Connection(
            partner_id=partner,
            name=name,
            provider=Provider(provider),
            status=ConnectionStatus.ACTIVE,
            remote_tenant="tenant-new",
            access_token_enc=cipher.encrypt(access),
            refresh_token_enc=cipher.encrypt(refresh),
            access_expires_at=utcnow() + expires_in,
            refresh_expires_at=utcnow() + refresh_expires_in if refresh_expires_in else None,
            token_version=1,
        )
        with Session(configured, expire_on_commit=False) as session:
            session.add(row)
            session.commit()
        return row.id

    return make


def stored(engine: Engine, connection_id: str) -> Connection:
    with Session(engine, expire_on_commit=False) as session:
        row = session.get(Connection, connection_id)
        assert row is not None
        return row
