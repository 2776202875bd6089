"""The Stripe fake served to httpx at its base URL, every request and answer checked against
Stripe's own OpenAPI (`tests.contracts.checks.stripe_check`): one set-up for every test that
talks to Stripe, so none of them checks only against our reading of the docs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import respx

from sandbox.stripe import FakeStripe
from tests.contracts.checks import stripe_check

__all__ = ["STRIPE_BASE", "served_stripe"]

STRIPE_BASE = "https://api.stripe.test"


@contextmanager
def served_stripe(*, pass_through_hosts: tuple[str, ...] = ()) -> Iterator[FakeStripe]:
    """The fake behind `STRIPE_BASE`; `pass_through_hosts` still reach the network (our own
    servers on loopback). Fails the test if any exchange broke Stripe's published description."""
    fake = FakeStripe(base_url=STRIPE_BASE)
    fake.checks.append(stripe_check())
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="api.stripe.test").mock(side_effect=fake.handle)
        for host in pass_through_hosts:
            mock.route(host=host).pass_through()
        yield fake
    assert not fake.violations, fake.violations
