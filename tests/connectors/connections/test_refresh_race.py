"""Two workers racing on a token refresh never lose the connection: exactly one refresh
reaches the (single-use refresh token) server, both get a valid token, the stored refresh
token is the newest. Threads (each with its own event loop) and processes (spawned, against
the fake served on loopback), on SQLite (the write lock) and PostgreSQL (FOR UPDATE)."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import Engine

from connectors.connections.crypto import cipher_from_settings
from connectors.connections.models import ConnectionStatus
from connectors.connections.token_source import DatabaseTokenSource
from sandbox.server import FakeServer
from tests.connectors.connections.conftest import Seed, oauth_env, stored
from tests.connectors.connections.race_worker import fetch_token
from tests.fakes.oauth import OAuthFake


def _assert_one_refresh(
    engine: Engine, connection_id: str, fake: OAuthFake, tokens: list[str]
) -> None:
    assert fake.refresh_calls == 1, f"{fake.refresh_calls} refreshes, {fake.invalid_grants} refused"
    assert fake.invalid_grants == 0
    assert len(set(tokens)) == 1 and fake.access_valid(tokens[0])
    row = stored(engine, connection_id)
    assert row.status is ConnectionStatus.ACTIVE and row.token_version == 2
    assert row.refresh_token_enc is not None
    assert cipher_from_settings().decrypt(row.refresh_token_enc) == fake.latest_refresh


def test_two_threads_with_their_own_event_loops_refresh_once(
    configured: Engine, seed: Seed, fake: OAuthFake
) -> None:
    connection_id = seed(expires_in=timedelta(minutes=2))
    fake.refresh_delay = 0.3  # both workers are inside the refresh window together
    transport = httpx.MockTransport(fake.handle)
    start = threading.Barrier(2)
    tokens: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        source = DatabaseTokenSource(configured, connection_id, transport=transport)
        start.wait(timeout=300)
        try:
            tokens.append(asyncio.run(source.access_token()))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    _assert_one_refresh(configured, connection_id, fake, tokens)


async def _many(source: DatabaseTokenSource, count: int) -> list[str]:
    return list(await asyncio.gather(*(source.access_token() for _ in range(count))))


def test_many_tasks_in_one_loop_refresh_once(
    configured: Engine, seed: Seed, fake: OAuthFake
) -> None:
    connection_id = seed(expires_in=timedelta(0))
    sources = [
        DatabaseTokenSource(configured, connection_id, transport=httpx.MockTransport(fake.handle))
        for _ in range(2)
    ]

    async def both() -> list[str]:
        batches = await asyncio.gather(*(_many(source, 5) for source in sources))
        return [token for batch in batches for token in batch]

    _assert_one_refresh(configured, connection_id, fake, asyncio.run(both()))


@pytest.mark.slow
def test_two_processes_refresh_once(
    configured: Engine, seed: Seed, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = OAuthFake(refresh_delay=0.5)
    with FakeServer(fake) as server:
        fake.base_url = server.url
        oauth_env(monkeypatch, server.url)  # the spawned workers read these settings
        access, refresh = fake.grant_pair()
        connection_id = _seed_with(configured, access, refresh)
        context = multiprocessing.get_context("spawn")
        start = context.Barrier(2)
        results = context.Queue()
        workers = [
            context.Process(target=fetch_token, args=(connection_id, start, results))
            for _ in range(2)
        ]
        for worker in workers:
            worker.start()
        outcomes = [results.get(timeout=120) for _ in workers]
        for worker in workers:
            worker.join(timeout=300)
            assert worker.exitcode == 0
    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    _assert_one_refresh(configured, connection_id, fake, [token for _, token in outcomes])


def _seed_with(engine: Engine, access: str, refresh: str) -> str:
    from sqlmodel import Session

    from billing.tenants.models import Partner
    from config.db_types import utcnow
    from connectors.connections.models import Connection, Provider

    cipher = cipher_from_settings()
    row = Connection(
        partner_id="acme",
        name="books",
        provider=Provider.XERO,
        status=ConnectionStatus.ACTIVE,
        remote_tenant="t",
        access_token_enc=cipher.encrypt(access),
        refresh_token_enc=cipher.encrypt(refresh),
        access_expires_at=utcnow() + timedelta(minutes=1),
        token_version=1,
    )
    with Session(engine, expire_on_commit=False) as session:
        if session.get(Partner, "acme") is None:
            session.add(
                Partner(id="acme", name="Acme", currency="USD", timezone="UTC", invoice_prefix="A")
            )
            session.flush()
        session.add(row)
        session.commit()
    return row.id
