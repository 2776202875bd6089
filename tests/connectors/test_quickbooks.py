"""QuickBooks Online connector against the stateful fake: the shared contract, then what only
QuickBooks has (batch with per-element faults, SyncTokens, Fault shapes, requestid,
minorversion)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from connectors.base import ConnectionInfo, Connector
from connectors.http import RateBudget
from connectors.quickbooks import QuickBooksConnector, build_connector
from tests.connectors.contract import ConnectorContract
from tests.fakes.base import FakeTokens, FakeTransport
from tests.fakes.quickbooks import FakeQuickBooks

REALM = "9130357"


class Clock:
    """Budget time that only moves when the budget sleeps: pauses cost no wall time."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def budgets() -> tuple[RateBudget, RateBudget]:
    clock = Clock()
    return (
        RateBudget("test", None, clock=clock, sleep=clock.sleep),
        RateBudget("test-batch", None, clock=clock, sleep=clock.sleep),
    )


def make_connector(
    fake: FakeQuickBooks, tokens: FakeTokens, retry: Any, *, page_size: int = 3
) -> QuickBooksConnector:
    info = ConnectionInfo(
        connection_id="conn-test",
        partner_id="acme",
        provider="quickbooks",
        remote_tenant=REALM,
        base_url="https://qbo.test",
    )
    budget, batch_budget = budgets()
    connector = build_connector(
        info,
        tokens,
        transport=FakeTransport(fake),
        retry=retry,
        budget=budget,
        batch_budget=batch_budget,
        page_size=page_size,
    )
    assert isinstance(connector, QuickBooksConnector)
    return connector


class TestQuickBooksContract(ConnectorContract):
    income_account = "79"
    tax_code = "TAX"
    bad_item_field = "ItemRef"

    @pytest.fixture
    def fake(self) -> FakeQuickBooks:
        return FakeQuickBooks(REALM)

    @pytest.fixture
    async def connector(
        self, fake: FakeQuickBooks, tokens: FakeTokens, retry_policy: Any
    ) -> AsyncIterator[Connector]:
        connector = make_connector(fake, tokens, retry_policy, page_size=self.page_size)
        yield connector
        await connector.aclose()
