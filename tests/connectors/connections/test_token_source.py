"""Refresh before expiry, rotated refresh token saved before use, invalid_grant stops the
connection without further network calls."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from connectors.base import AuthExpiredError
from connectors.connections.crypto import cipher_from_settings
from connectors.connections.models import ConnectionStatus
from connectors.connections.service import complete_consent, start_consent
from connectors.connections.token_source import DatabaseTokenSource
from tests.connectors.connections.conftest import Seed, stored
from tests.fakes.oauth import OAuthFake

pytestmark = pytest.mark.anyio


def _stored_refresh(engine: Engine, connection_id: str) -> str:
    row = stored(engine, connection_id)
    assert row.refresh_token_enc is not None
    return cipher_from_settings().decrypt(row.refresh_token_enc)


async def test_fresh_token_is_used_without_refreshing(
    configured: Engine, seed: Seed, fake: OAuthFake, transport: httpx.MockTransport
) -> None:
    connection_id = seed(expires_in=timedelta(minutes=20))
    source = DatabaseTokenSource(configured, connection_id, transport=transport)
    token = await source.access_token()
    assert fake.access_valid(token)
    assert await source.access_token() == token
    assert fake.refresh_calls == 0


async def test_token_expiring_within_five_minutes_is_refreshed_and_saved(
    configured: Engine, seed: Seed, fake: OAuthFake, transport: httpx.MockTransport
) -> None:
    connection_id = seed(expires_in=timedelta(minutes=4))
    before = stored(configured, connection_id)
    source = DatabaseTokenSource(configured, connection_id, transport=transport)
    token = await source.access_token()
    assert fake.refresh_calls == 1 and fake.access_valid(token)
    after = stored(configured, connection_id)
    assert after.token_version == before.token_version + 1
    assert _stored_refresh(configured, connection_id) == fake.latest_refresh
    assert after.access_expires_at is not None and before.access_expires_at is not None
    assert after.access_expires_at > before.access_expires_at + timedelta(minutes=20)
    # another worker reads the stored token: no second refresh
    other = DatabaseTokenSource(configured, connection_id, transport=transport)
    assert await other.access_token() == token
    assert fake.refresh_calls == 1


async def test_rotated_refresh_token_is_stored_before_the_new_access_token_is_used(
    configured: Engine, seed: Seed, fake: OAuthFake
) -> None:
    connection_id = seed(expires_in=timedelta(seconds=0))
    seen: list[bool] = []

    def remote(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/connections"):  # the first use of the new token
            seen.append(_stored_refresh(configured, connection_id) == fake.latest_refresh)
        return fake.handle(request)

    transport = httpx.MockTransport(remote)
    source = DatabaseTokenSource(configured, connection_id, transport=transport)
    token = await source.access_token()
    async with httpx.AsyncClient(transport=transport) as client:
        response = await client.get(
            "https://oauth.fake/connections", headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 200 and seen == [True]
    # single-use refresh tokens: each refresh must spend the newest one
    for _ in range(3):
        await source.force_refresh()
    assert fake.refresh_calls == 4 and fake.invalid_grants == 0
    assert _stored_refresh(configured, connection_id) == fake.latest_refresh


async def test_refresh_after_rejection_uses_a_token_someone_else_refreshed(
    configured: Engine, seed: Seed, fake: OAuthFake, transport: httpx.MockTransport
) -> None:
    connection_id = seed()
    mine = DatabaseTokenSource(configured, connection_id, transport=transport)
    theirs = DatabaseTokenSource(configured, connection_id, transport=transport)
    old = await mine.access_token()
    fresh = await theirs.refresh_after_rejection(old)
    assert fresh != old and fake.refresh_calls == 1
    assert await mine.refresh_after_rejection(old) == fresh  # no second refresh
    assert fake.refresh_calls == 1
    newer = await mine.refresh_after_rejection(fresh)
    assert newer not in (old, fresh) and fake.refresh_calls == 2


async def test_invalid_grant_marks_needs_reauth_tells_once_and_stops_calling(
    configured: Engine, seed: Seed, fake: OAuthFake, transport: httpx.MockTransport
) -> None:
    connection_id = seed(expires_in=timedelta(minutes=1))
    fake.revoke()
    told: list[tuple[str, str]] = []
    source = DatabaseTokenSource(
        configured,
        connection_id,
        transport=transport,
        on_needs_reauth=lambda cid, why: told.append((cid, why)),
    )
    with pytest.raises(AuthExpiredError, match="invalid_grant"):
        await source.access_token()
    row = stored(configured, connection_id)
    assert row.status is ConnectionStatus.NEEDS_REAUTH
    assert row.last_error is not None and "connect xero again" in row.last_error
    assert told == [(connection_id, row.last_error)]
    calls = fake.refresh_calls
    for attempt in (source.access_token, lambda: source.refresh_after_rejection("x")):
        with pytest.raises(AuthExpiredError, match=r"needs_reauth|invalid_grant"):
            await attempt()
    other = DatabaseTokenSource(configured, connection_id, transport=transport)
    with pytest.raises(AuthExpiredError, match="connections connect xero --partner acme"):
        await other.access_token()
    assert fake.refresh_calls == calls and len(told) == 1
    # the partner connects again: the same (long-lived) source works at once
    with Session(configured) as session:
        started = start_consent(session, partner_id="acme", provider="xero", name="books")
        session.commit()
    await complete_consent(
        configured,
        provider="xero",
        code=fake.issue_code(),
        state=started.state,
        transport=transport,
    )
    assert fake.access_valid(await source.access_token())
    assert stored(configured, connection_id).status is ConnectionStatus.ACTIVE


async def test_server_errors_do_not_lose_the_connection(
    configured: Engine, seed: Seed, fake: OAuthFake
) -> None:
    from connectors.base import RetryableError

    connection_id = seed(expires_in=timedelta(0))
    failing = httpx.MockTransport(lambda request: httpx.Response(503))
    with pytest.raises(RetryableError):
        await DatabaseTokenSource(configured, connection_id, transport=failing).access_token()
    row = stored(configured, connection_id)
    assert row.status is ConnectionStatus.ACTIVE and row.token_version == 1
    token = await DatabaseTokenSource(
        configured, connection_id, transport=httpx.MockTransport(fake.handle)
    ).access_token()
    assert fake.access_valid(token)


async def test_no_token_or_secret_reaches_the_logs(
    configured: Engine,
    seed: Seed,
    fake: OAuthFake,
    transport: httpx.MockTransport,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    connection_id = seed(expires_in=timedelta(0))
    source = DatabaseTokenSource(configured, connection_id, transport=transport)
    await source.access_token()
    fake.revoke()
    with pytest.raises(AuthExpiredError):
        await source.force_refresh()
    secrets = [*fake.issued_refresh, *fake.access, "app-secret"]
    assert caplog.records  # the refreshes were logged
    for secret in secrets:
        assert secret not in caplog.text
