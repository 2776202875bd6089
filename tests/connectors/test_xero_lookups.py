"""Xero contact lookups cost one call per 50 customers: under 60 calls a minute a second
lookup per batch would cost a quarter of the sync's throughput."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from connectors.xero import XeroConnector
from remote_specs import RemoteRef
from sandbox.transport import FakeTokens
from sandbox.xero import FakeXero
from tests.connectors.test_xero import TENANT, contract, make_connector


@pytest.fixture
def fake() -> FakeXero:
    return FakeXero(TENANT)


@pytest.fixture
async def xero(fake: FakeXero) -> AsyncIterator[XeroConnector]:
    connector = make_connector(fake, FakeTokens(fake))
    yield connector
    await connector.aclose()


@pytest.mark.anyio
async def test_fifty_new_customers_take_one_lookup_and_one_create(
    xero: XeroConnector, fake: FakeXero
) -> None:
    specs = [contract.make_customer_spec(f"client-{i}") for i in range(50)]
    keys = [contract.key("customer", s.reference) for s in specs]
    refs = await xero.upsert_customers(specs, keys)
    assert all(isinstance(r, RemoteRef) for r in refs)
    assert len(fake.requests_to("/Contacts", "GET")) == 1
    assert len(fake.requests_to("/Contacts", "PUT")) == 1
    assert len(fake.contacts) == 50
    # found again by number in one lookup, nothing written
    again = await xero.find_customers(specs)
    assert again == refs
    assert len(fake.requests_to("/Contacts", "GET")) == 2


@pytest.mark.anyio
async def test_one_lookup_finds_by_number_adopts_by_name_and_spots_taken_names(
    xero: XeroConnector, fake: FakeXero
) -> None:
    by_number, by_name, taken, new = (contract.make_customer_spec(f"client-{i}") for i in range(4))
    fake.contacts["n"] = {
        "ContactID": "n",
        "Name": "Renamed",
        "ContactNumber": by_number.reference,
        "ContactStatus": "ACTIVE",
    }
    fake.contacts["m"] = {"ContactID": "m", "Name": by_name.display_name, "ContactStatus": "ACTIVE"}
    fake.contacts["t"] = {
        "ContactID": "t",
        "Name": taken.display_name,
        "ContactNumber": "someone-else",
        "ContactStatus": "ACTIVE",
    }
    found = await xero.find_customers([by_number, by_name, taken, new])
    assert [f.remote_id if f else None for f in found] == ["n", "m", None, None]
    assert len(fake.requests_to("/Contacts", "GET")) == 1
