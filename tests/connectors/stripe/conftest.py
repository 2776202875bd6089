"""A fake Stripe behind respx and a gateway pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx

from connectors.stripe import StripeCredentials, StripeGateway
from sandbox.stripe import FakeStripe
from tests.contracts.checks import stripe_check

BASE = "https://api.stripe.test"


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    fake = FakeStripe(base_url=BASE)
    fake.checks.append(stripe_check())  # every request and answer against Stripe's OpenAPI
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="api.stripe.test").mock(side_effect=fake.handle)
        yield fake
    assert not fake.violations, fake.violations


@pytest.fixture
def gateway(fake: FakeStripe) -> Iterator[StripeGateway]:
    gw = StripeGateway(StripeCredentials("conn1", fake.api_key, api_base=BASE))
    yield gw
    gw.close()
