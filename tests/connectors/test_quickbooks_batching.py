"""QuickBooks customers go 30 to a /batch and are found with one `DisplayName IN (...)`
query: a /batch is 1 of the 40 a minute QuickBooks allows, so a customer created alone costs
a thirtieth of the sync's throughput."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from connectors.http import RetryPolicy
from connectors.quickbooks import QuickBooksConnector
from remote_specs import RemoteRef
from sandbox.quickbooks import FakeQuickBooks
from sandbox.transport import FakeTokens
from tests.connectors.test_quickbooks import CONTRACT, REALM, make_connector


@pytest.fixture
def fake() -> FakeQuickBooks:
    return FakeQuickBooks(REALM)


@pytest.fixture
async def qbo(fake: FakeQuickBooks) -> AsyncIterator[QuickBooksConnector]:
    async def no_sleep(seconds: float) -> None:
        return None

    connector = make_connector(
        fake, FakeTokens(fake), RetryPolicy(max_attempts=4, sleep=no_sleep), page_size=1000
    )
    yield connector
    await connector.aclose()


def _queries(fake: FakeQuickBooks) -> list[Any]:
    return [r for r in fake.requests_to("/query") if "FROM Customer" in r.params["query"]]


@pytest.mark.anyio
async def test_thirty_customers_are_created_in_one_batch_and_found_in_one_query(
    qbo: QuickBooksConnector, fake: FakeQuickBooks
) -> None:
    specs = [CONTRACT.make_customer_spec(f"client-{i}") for i in range(29)]
    specs.append(CONTRACT.make_customer_spec("o'brien \\ co"))  # quotes and backslashes escaped
    keys = [CONTRACT.key("customer", s.reference) for s in specs]
    refs = await qbo.upsert_customers(specs, keys)
    assert all(isinstance(r, RemoteRef) for r in refs)
    assert len(fake.requests_to("/batch", "POST")) == 1
    assert not fake.requests_to("/customer", "POST")
    before = len(_queries(fake))
    found = await qbo.find_customers(specs)
    assert found == refs
    assert len(_queries(fake)) == before + 1
    again = await qbo.upsert_customers(specs, keys)  # all found: nothing written
    assert again == refs and len(fake.requests_to("/batch", "POST")) == 1
