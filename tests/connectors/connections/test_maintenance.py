"""The daily keep-alive refreshes connections whose refresh token would lapse, and only those."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from connectors.connections.maintenance import refresh_due_connections
from connectors.connections.models import Connection, ConnectionStatus
from tests.connectors.connections.conftest import Seed, stored
from tests.fakes.oauth import OAuthFake

pytestmark = pytest.mark.anyio


async def test_only_due_active_connections_are_refreshed(
    configured: Engine, seed: Seed, fake: OAuthFake, transport: httpx.MockTransport
) -> None:
    due = seed(name="due", refresh_expires_in=timedelta(days=10))
    fresh = seed(name="fresh", refresh_expires_in=timedelta(days=50))
    unknown_recent = seed(name="recent")  # expiry unknown, just connected
    lost = seed(name="lost", refresh_expires_in=timedelta(days=1))
    with Session(configured) as session:
        row = session.get(Connection, lost)
        assert row is not None
        row.status = ConnectionStatus.NEEDS_REAUTH
        session.add(row)
        session.commit()
    report = await refresh_due_connections(configured, transport=transport)
    assert report.refreshed == [due] and report.failed == {}
    assert fake.refresh_calls == 1
    assert stored(configured, due).token_version == 2
    for other in (fresh, unknown_recent, lost):
        assert stored(configured, other).token_version == 1


async def test_a_refused_refresh_is_reported_and_the_rest_continue(
    configured: Engine, seed: Seed, fake: OAuthFake, transport: httpx.MockTransport
) -> None:
    first = seed(name="a", refresh_expires_in=timedelta(days=5))
    fake.revoke()
    second = seed(name="b", refresh_expires_in=timedelta(days=5))
    report = await refresh_due_connections(configured, transport=transport)
    assert list(report.failed) == [first] and "invalid_grant" in report.failed[first]
    assert report.refreshed == [second]
    assert stored(configured, first).status is ConnectionStatus.NEEDS_REAUTH
