"""The real QuickBooks connector, opened through the registry: an expired access token is
refreshed through the token store (rotated refresh token saved), and `connections check`
reports what the partner file's mapping names that the company lacks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from billing.tenants.models import Partner
from connectors.connections.crypto import cipher_from_settings
from connectors.registry import open_connector
from main import app
from sandbox.quickbooks import FakeQuickBooks
from tests.connectors.connections.conftest import Seed, stored
from tests.fakes.oauth import OAuthFake

pytestmark = pytest.mark.anyio
REALM = "9130357"


@pytest.fixture
def remote(fake: OAuthFake) -> Iterator[FakeQuickBooks]:
    quickbooks = FakeQuickBooks(REALM)
    fake.on_access_issued = quickbooks.valid_tokens.add
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="oauth.fake").mock(side_effect=fake.handle)
        mock.route(host="quickbooks.api.intuit.com").mock(side_effect=quickbooks.handle)
        yield quickbooks


def _quickbooks_connection(engine: Engine, seed: Seed, voice_account: str) -> str:
    with Session(engine) as session:
        partner = session.get(Partner, "acme")
        assert partner is not None
        partner.settings = {
            **partner.settings,
            "connections": {
                "quickbooks": {
                    "provider": "quickbooks",
                    "enabled": True,
                    "default_income_account": "79",
                    "income_accounts": {"voice": voice_account},
                    "tax_code": "TAX",
                }
            },
        }
        session.add(partner)
        session.commit()
    connection_id = seed(provider="quickbooks", name="quickbooks")
    with Session(engine) as session:
        from connectors.connections.models import Connection

        row = session.get(Connection, connection_id)
        assert row is not None
        row.remote_tenant = REALM
        session.add(row)
        session.commit()
    return connection_id


async def test_expired_token_is_refreshed_through_the_store(
    configured: Engine, seed: Seed, fake: OAuthFake, remote: FakeQuickBooks
) -> None:
    connection_id = _quickbooks_connection(configured, seed, "80")
    remote.expire_tokens()  # the stored access token is refused with 401
    connector = open_connector(configured, connection_id)
    try:
        assert await connector.find_invoices(["NOPE-1"]) == {}
    finally:
        await connector.aclose()
    assert fake.refresh_calls == 1 and fake.invalid_grants == 0
    row = stored(configured, connection_id)
    assert row.refresh_token_enc is not None and row.token_version == 2
    assert cipher_from_settings().decrypt(row.refresh_token_enc) == fake.latest_refresh


@pytest.mark.parametrize(("voice", "exit_code"), [("80", 0), ("4242", 1)])
def test_check_against_the_company(
    configured: Engine,
    seed: Seed,
    remote: FakeQuickBooks,
    voice: str,
    exit_code: int,
) -> None:
    _quickbooks_connection(configured, seed, voice)
    result = CliRunner().invoke(
        app, ["connections", "check", "--partner", "acme", "--connection", "quickbooks"]
    )
    assert result.exit_code == exit_code, result.output
    if exit_code:
        assert "income_accounts.voice = '4242'" in result.output
        assert "default_income_account" not in result.output
