"""A fake Stripe behind respx and a gateway pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.stripe import StripeCredentials, StripeGateway
from sandbox.stripe import FakeStripe
from tests.fakes.stripe_served import STRIPE_BASE, served_stripe

BASE = STRIPE_BASE


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    with served_stripe() as fake:  # every request and answer against Stripe's OpenAPI
        yield fake


@pytest.fixture
def gateway(fake: FakeStripe) -> Iterator[StripeGateway]:
    gw = StripeGateway(StripeCredentials("conn1", fake.api_key, api_base=BASE))
    yield gw
    gw.close()
