"""The loopback adapter serves a fake exactly as respx would: same state, same failures."""

from __future__ import annotations

import httpx
import pytest

from sandbox.server import FakeServer


class CountingFake:
    base_url = "https://remote.example"

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, bytes]] = []
        self.fail_with: Exception | None = None

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.fail_with is not None:
            exc, self.fail_with = self.fail_with, None
            raise exc
        self.seen.append((request.method, str(request.url), request.content))
        return httpx.Response(201, json={"count": len(self.seen)}, headers={"X-Seen": "yes"})


def test_requests_reach_the_fake_with_path_query_and_body() -> None:
    fake = CountingFake()
    with FakeServer(fake) as server:
        response = httpx.post(f"{server.url}/v3/thing?minorversion=75", json={"a": 1}, timeout=5)
    assert response.status_code == 201
    assert response.json() == {"count": 1}
    assert response.headers["X-Seen"] == "yes"
    method, url, body = fake.seen[0]
    assert (method, url) == ("POST", "https://remote.example/v3/thing?minorversion=75")
    assert body == b'{"a":1}'


def test_an_injected_timeout_hangs_past_the_client_timeout() -> None:
    fake = CountingFake()
    fake.fail_with = httpx.ReadTimeout("injected")
    with FakeServer(fake, hang_seconds=2) as server, pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{server.url}/slow", timeout=0.5)
