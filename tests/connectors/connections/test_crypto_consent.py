"""Tokens are encrypted at rest; the consent URL carries what each provider needs."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from config.db_types import utcnow
from connectors.connections.crypto import TokenCipher, TokenDecryptionError
from connectors.connections.models import ConnectionStatus, OAuthState
from connectors.connections.service import ConnectionSetupError, start_consent
from tests.connectors.connections.conftest import SECRET, Seed, stored
from tests.fakes.oauth import OAuthFake


def test_stored_tokens_are_ciphertext_and_need_the_key(
    configured: Engine, seed: Seed, fake: OAuthFake
) -> None:
    connection_id = seed()
    with configured.connect() as conn:
        raw_access, raw_refresh = conn.execute(
            text(
                "SELECT access_token_enc, refresh_token_enc FROM connector_connection "
                "WHERE id = :id"
            ),
            {"id": connection_id},
        ).one()
    refresh = fake.latest_refresh
    # the whole plaintext, not a prefix such as "rt-": a short string may occur by chance in
    # base64 ciphertext
    assert refresh not in raw_refresh
    assert TokenCipher(SECRET).decrypt(raw_access) not in raw_access
    assert TokenCipher(SECRET).decrypt(raw_refresh) == refresh
    with pytest.raises(TokenDecryptionError, match="REBILL_SECRET_KEY differs"):
        TokenCipher("another-key").decrypt(raw_refresh)


def test_same_token_encrypts_differently_each_time() -> None:
    cipher = TokenCipher(SECRET)
    assert cipher.encrypt("tok") != cipher.encrypt("tok")
    with pytest.raises(ValueError, match="secret_key"):
        TokenCipher("")


@pytest.mark.parametrize(
    ("provider", "host", "scope"),
    [
        ("quickbooks", "appcenter.intuit.com", "com.intuit.quickbooks.accounting"),
        (
            "xero",
            "login.xero.com",
            "offline_access accounting.transactions accounting.contacts accounting.settings",
        ),
    ],
)
def test_consent_url_has_client_scope_redirect_and_a_stored_state(
    configured: Engine, partner: str, provider: str, host: str, scope: str
) -> None:
    with Session(configured) as session:
        started = start_consent(session, partner_id=partner, provider=provider, name="main")
        session.commit()
        state = session.get(OAuthState, started.state)
        assert state is not None
        assert (state.partner_id, state.provider.value, state.connection_name) == (
            partner,
            provider,
            "main",
        )
        assert state.expires_at - utcnow() <= timedelta(minutes=15)
        assert state.expires_at - utcnow() > timedelta(minutes=14)
    parts = urlsplit(started.url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert parts.scheme == "https" and parts.hostname == host
    assert query == {
        "client_id": "app-id",
        "response_type": "code",
        "scope": scope,
        "redirect_uri": f"https://rebill.example/oauth/{provider}/callback",
        "state": started.state,
    }
    assert len(started.state) >= 40
    row = stored(configured, started.connection_id)
    assert row.status is ConnectionStatus.PENDING and row.access_token_enc is None


def test_each_consent_gets_a_new_state(configured: Engine, partner: str) -> None:
    with Session(configured) as session:
        first = start_consent(session, partner_id=partner, provider="quickbooks")
        second = start_consent(session, partner_id=partner, provider="quickbooks")
        session.commit()
    assert first.state != second.state
    assert first.connection_id == second.connection_id


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"partner_id": "nobody", "provider": "xero"}, "partner: no partner 'nobody'"),
        ({"partner_id": "acme", "provider": "sage"}, "provider: 'sage' cannot be connected"),
        ({"partner_id": "acme", "provider": "quickbooks", "name": "books"}, "is xero, not"),
        ({"partner_id": "acme", "provider": "xero", "name": "bad name!"}, "name: 'bad name!'"),
    ],
)
def test_bad_connect_requests_name_the_field(
    configured: Engine, partner: str, kwargs: dict[str, str], message: str
) -> None:
    with Session(configured) as session, pytest.raises(ConnectionSetupError, match=message):
        start_consent(session, **kwargs)  # type: ignore[arg-type]


def test_connect_without_app_credentials_says_which_setting(
    configured: Engine, partner: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config.settings import get_settings

    monkeypatch.setenv("REBILL_XERO_CLIENT_ID", "")
    get_settings.cache_clear()
    with (
        Session(configured) as session,
        pytest.raises(ConnectionSetupError, match="REBILL_XERO_CLIENT_ID"),
    ):
        start_consent(session, partner_id=partner, provider="xero")
