"""`connections` commands, `open_connector`, and the partner file's connection settings."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from billing.pricing.apply import apply_partner_file
from billing.tenants.models import Partner
from config.partner_file.loader import parse_partner_toml
from connectors import profiles
from connectors.connections.cli import connections_app
from connectors.connections.models import ConnectionStatus, OAuthState
from connectors.connections.token_source import DatabaseTokenSource
from connectors.registry import UnknownConnectionError, open_connector
from main import app
from sync import connection_check
from tests.connectors.connections import stub_provider
from tests.connectors.connections.conftest import OAUTH, Seed, stored
from tests.fakes.oauth import OAuthFake

runner = CliRunner()


@pytest.fixture
def oauth_mock(fake: OAuthFake) -> Iterator[None]:
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host=urlsplit(OAUTH).hostname).mock(side_effect=fake.handle)
        yield


@pytest.fixture
def stub() -> Iterator[None]:
    """Xero's profile, with its connector replaced by the stub's."""
    stub_provider.built.clear()
    xero = profiles.profile("xero")
    stubbed = replace(xero, connector=stub_provider.build_connector)
    profiles.register(stubbed, replace=True)
    yield
    profiles.register(xero, replace=True)


def test_connect_prints_a_consent_url_with_a_stored_state(configured: Engine, partner: str) -> None:
    result = runner.invoke(
        connections_app, ["connect", "xero", "--partner", partner, "--name", "books"]
    )
    assert result.exit_code == 0, result.output
    url = result.output.strip().splitlines()[-1]
    assert url.startswith("https://login.xero.com/identity/connect/authorize?")
    state = parse_qs(urlsplit(url).query)["state"][0]
    with Session(configured) as session:
        assert session.get(OAuthState, state) is not None


def test_connect_refuses_bad_input_with_the_field(configured: Engine, partner: str) -> None:
    result = runner.invoke(connections_app, ["connect", "sage", "--partner", partner])
    assert result.exit_code == 2
    assert "provider: 'sage'" in result.output


def test_list_shows_status_and_never_tokens(
    configured: Engine, seed: Seed, fake: OAuthFake
) -> None:
    seed()
    plain = runner.invoke(connections_app, ["list", "--partner", "acme"])
    as_json = runner.invoke(connections_app, ["list", "--json"])
    assert plain.exit_code == 0 and as_json.exit_code == 0
    assert "acme/books  xero  active  tenant tenant-new" in plain.output
    records = json.loads(as_json.output)
    assert [(r["name"], r["status"], r["tenant"]) for r in records] == [
        ("books", "active", "tenant-new")
    ]
    for output in (plain.output, as_json.output):
        assert "rt-" not in output and "at-" not in output and "_enc" not in output


def test_refresh_then_disconnect(
    configured: Engine, seed: Seed, fake: OAuthFake, oauth_mock: None
) -> None:
    connection_id = seed()
    refreshed = runner.invoke(connections_app, ["refresh", "--partner", "acme"])
    assert refreshed.exit_code == 0, refreshed.output
    assert "refreshed acme/books" in refreshed.output and fake.refresh_calls == 1
    latest = fake.latest_refresh
    gone = runner.invoke(connections_app, ["disconnect", "--partner", "acme", "--name", "books"])
    assert gone.exit_code == 0, gone.output
    assert fake.revoked == [latest] and latest not in fake.live_refresh
    assert "warning" not in gone.output
    row = stored(configured, connection_id)
    assert row.status is ConnectionStatus.DISCONNECTED
    assert row.access_token_enc is None and row.refresh_token_enc is None
    again = runner.invoke(connections_app, ["refresh", "--partner", "acme"])
    assert again.exit_code == 1 and "disconnected" in again.output


def test_refresh_of_a_revoked_connection_reports_needs_reauth(
    configured: Engine, seed: Seed, fake: OAuthFake, oauth_mock: None
) -> None:
    seed()
    fake.revoke()
    result = runner.invoke(connections_app, ["refresh", "--partner", "acme"])
    assert result.exit_code == 1 and "invalid_grant" in result.output
    listed = runner.invoke(connections_app, ["list"])
    assert "needs_reauth" in listed.output and "last error:" in listed.output


def _names(provider: str, settings: Mapping[str, object]) -> Mapping[str, str]:
    return {f"accounts.{key}": str(value) for key, value in settings.items()}


@pytest.mark.parametrize(("account", "code"), [("200", 0), (stub_provider.MISSING, 1)])
def test_check_lists_what_the_mapping_names_that_does_not_exist(
    configured: Engine,
    seed: Seed,
    stub: None,
    monkeypatch: pytest.MonkeyPatch,
    account: str,
    code: int,
) -> None:
    seed()
    with Session(configured) as session:
        partner = session.get(Partner, "acme")
        assert partner is not None
        connections = {"books": {"provider": "xero", "sales_account": account}}
        partner.settings = {**partner.settings, "connections": connections}
        session.add(partner)
        session.commit()
    monkeypatch.setattr(connection_check, "mapping_names", _names)
    result = runner.invoke(app, ["connections", "check", "--partner", "acme"])
    assert result.exit_code == code, result.output
    if code:
        assert "accounts.sales_account = '999': no account with code 999" in result.output
    else:
        assert "all 1 mapped names exist" in result.output


def test_open_connector_passes_mapping_settings_tenant_and_a_token_source(
    configured: Engine, seed: Seed, stub: None
) -> None:
    connection_id = seed()
    connector = open_connector(configured, connection_id)
    info, tokens, _ = stub_provider.built[-1]
    assert isinstance(connector, stub_provider.StubConnector)
    assert (info.connection_id, info.partner_id, info.provider) == (connection_id, "acme", "xero")
    assert info.remote_tenant == "tenant-new" and info.base_url is None
    assert dict(info.settings) == {"sales_account": "200"}
    assert isinstance(tokens, DatabaseTokenSource) and tokens.connection_id == connection_id
    with pytest.raises(UnknownConnectionError, match="no connection 'nope'"):
        open_connector(configured, "nope")


def test_config_apply_stores_each_connection_table(configured: Engine, partner: str) -> None:
    toml = """
[partner]
id = "filed"
name = "Filed Partner"
currency = "USD"
timezone = "UTC"

[partner.connections.xero]
tenant_name = "Solo GmbH"
sales_account = "200"

[partner.connections.qbo-us]
provider = "quickbooks"
enabled = false
income_accounts = { voice = "79" }
"""
    with Session(configured) as session:
        apply_partner_file(session, parse_partner_toml(toml), datetime.now(UTC))
        session.commit()
        partner_row = session.get(Partner, "filed")
        assert partner_row is not None
        assert partner_row.settings["connections"] == {
            "xero": {
                "provider": "xero",
                "enabled": True,
                "tenant_name": "Solo GmbH",
                "sales_account": "200",
            },
            "qbo-us": {
                "provider": "quickbooks",
                "enabled": False,
                "income_accounts": {"voice": "79"},
            },
        }
    # the partner file's tenant_name picks the Xero organisation when --tenant is not given
    result = runner.invoke(connections_app, ["connect", "xero", "--partner", "filed"])
    assert result.exit_code == 0, result.output
    with Session(configured) as session:
        state = session.get(
            OAuthState, parse_qs(urlsplit(result.output.split()[-1]).query)["state"][0]
        )
        assert state is not None and state.tenant_name == "Solo GmbH"
    assert timedelta(0) < state.expires_at - datetime.now(UTC) <= timedelta(minutes=15)


def test_refresh_due_and_refresh_without_partner(
    configured: Engine, seed: Seed, fake: OAuthFake, oauth_mock: None
) -> None:
    seed(refresh_expires_in=timedelta(days=3))
    result = runner.invoke(connections_app, ["refresh", "--due"])
    assert result.exit_code == 0, result.output
    assert "refreshed 1, failed 0" in result.output and fake.refresh_calls == 1
    missing = runner.invoke(connections_app, ["refresh"])
    assert missing.exit_code == 2 and "--partner: required" in missing.output


@pytest.mark.parametrize("provider", ["quickbooks", "xero"])
def test_disconnect_stands_when_the_provider_does_not_confirm_revocation(
    configured: Engine, seed: Seed, fake: OAuthFake, provider: str
) -> None:
    connection_id = seed(provider=provider, name=provider)
    with respx.mock(assert_all_called=False) as mock:
        mock.route(path__regex=r"/(revoke|revocation)$").respond(503)
        mock.route(host=urlsplit(OAUTH).hostname).mock(side_effect=fake.handle)
        result = runner.invoke(connections_app, ["disconnect", "--partner", "acme"])
    assert result.exit_code == 0, result.output
    assert "did not confirm the revocation" in result.output
    assert stored(configured, connection_id).status is ConnectionStatus.DISCONNECTED


def test_quickbooks_revocation_is_json_and_xero_a_form(
    configured: Engine, seed: Seed, fake: OAuthFake
) -> None:
    seed(provider="quickbooks", name="qbo")
    seed(provider="xero", name="xero")
    sent: list[str] = []

    def spy(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(("/revoke", "/revocation")):
            sent.append(f"{request.url.path} {request.headers['Content-Type']}")
        return fake.handle(request)

    with respx.mock(assert_all_called=False) as mock:
        mock.route(host=urlsplit(OAUTH).hostname).mock(side_effect=spy)
        for name in ("qbo", "xero"):
            result = runner.invoke(connections_app, ["disconnect", "-p", "acme", "--name", name])
            assert result.exit_code == 0 and "warning" not in result.output, result.output
    assert sent == [
        "/v2/oauth2/tokens/revoke application/json",
        "/connect/revocation application/x-www-form-urlencoded",
    ]
    assert len(fake.revoked) == 2 and not fake.live_refresh
