"""What a connector under test is given to reach a fake in process: `FakeTransport`, an
`httpx.AsyncBaseTransport` that routes a client's requests to `FakeRemote.handle` (with optional
latency, counting requests in flight), and `FakeTokens`, a `connectors.http.TokenSource` whose
tokens the fake issued. Apart from `base` because they stand on the caller's side of the fake;
`base` is the remote itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx

from connectors.base import AuthExpiredError
from sandbox.base import FakeRemote

__all__ = ["FakeTokens", "FakeTransport"]


class FakeTransport(httpx.AsyncBaseTransport):
    """Routes an `httpx.AsyncClient` to a fake, optionally with latency so concurrency limits
    can be exceeded and measured (`max_in_flight`)."""

    def __init__(self, fake: FakeRemote, *, latency: float = 0.0) -> None:
        self.fake = fake
        self.latency = latency
        self.in_flight = 0
        self.max_in_flight = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.fake.enter(request)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            response = self.fake.handle(request)
        finally:
            self.fake.leave(request)
            self.in_flight -= 1
        await response.aread()
        return response


class FakeTokens:
    """A `connectors.http.TokenSource` backed by a fake: `refresh_after_rejection` gets a
    fresh token from the fake, or raises the AuthExpiredError of `connectors.base` when
    `refresh_fails` is set (an invalid refresh token)."""

    def __init__(self, fake: FakeRemote, *, on_refresh: Callable[[], None] | None = None) -> None:
        self.fake = fake
        self.token = fake.initial_token
        self.refresh_fails = False
        self.refreshes = 0
        self._on_refresh = on_refresh

    async def access_token(self) -> str:
        return self.token

    async def refresh_after_rejection(self, rejected: str) -> str:
        if self.refresh_fails:
            raise AuthExpiredError("the refresh token was refused: reconnect the company")
        if rejected == self.token:  # another caller may have refreshed already
            self.refreshes += 1
            self.token = self.fake.issue_token()
            if self._on_refresh is not None:
                self._on_refresh()
        return self.token
