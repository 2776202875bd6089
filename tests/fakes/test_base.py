"""The shared fake plumbing: failure injection, tokens, rate limits, replay, request log."""

from __future__ import annotations

import httpx
import pytest

from sandbox.base import FakeRemote, json_response
from sandbox.transport import FakeTransport


class Echo(FakeRemote):
    def __init__(self) -> None:
        super().__init__()
        self.applied = 0

    def dispatch(self, request: httpx.Request) -> httpx.Response:
        key = request.headers.get("Idempotency-Key")
        if key and (old := self.replay(key, request)) is not None:
            return old
        self.applied += 1
        response = json_response(200, {"n": self.applied})
        if key:
            self.remember(key, request, response)
        return response


def _req(fake: Echo, path: str = "/x", token: str | None = None, **headers: str) -> httpx.Request:
    token = token or fake.initial_token
    return httpx.Request(
        "POST",
        f"https://fake.test{path}",
        json={},
        headers={"Authorization": f"Bearer {token}", **headers},
    )


def test_failures_apply_in_order_and_filter_by_path() -> None:
    fake = Echo()
    fake.fail_next("500", count=2, path_contains="/inv")
    assert fake.handle(_req(fake, "/other")).status_code == 200
    assert fake.handle(_req(fake, "/inv")).status_code == 500
    assert fake.handle(_req(fake, "/inv")).status_code == 500
    assert fake.handle(_req(fake, "/inv")).status_code == 200
    fake.fail_next("reset")
    with pytest.raises(httpx.RemoteProtocolError):
        fake.handle(_req(fake))
    assert fake.applied == 2  # reset: not applied
    fake.fail_next("timeout_after_commit")
    with pytest.raises(httpx.ReadTimeout):
        fake.handle(_req(fake))
    assert fake.applied == 3  # applied, answer lost
    with pytest.raises(ValueError, match="kind"):
        fake.fail_next("boom")


def test_expired_and_unknown_tokens_get_401() -> None:
    fake = Echo()
    assert fake.handle(_req(fake, token="nope")).status_code == 401
    fake.expire_tokens()
    assert fake.handle(_req(fake)).status_code == 401
    fresh = fake.issue_token()
    assert fake.handle(_req(fake, token=fresh)).status_code == 200


def test_rate_limit_window_and_retry_after() -> None:
    fake = Echo()
    fake.set_rate_limit(2)
    assert [fake.handle(_req(fake)).status_code for _ in range(3)] == [200, 200, 429]
    limited = fake.requests[-1]
    assert limited.status == 429
    assert int(fake.handle(_req(fake)).headers["Retry-After"]) >= 1
    fake.advance(61)
    assert fake.handle(_req(fake)).status_code == 200


def test_replay_same_key_gives_same_answer_without_applying_twice() -> None:
    fake = Echo()
    first = fake.handle(_req(fake, **{"Idempotency-Key": "k1"}))
    second = fake.handle(_req(fake, **{"Idempotency-Key": "k1"}))
    assert first.json() == second.json() and fake.applied == 1


@pytest.mark.anyio
async def test_transport_counts_concurrency() -> None:
    import anyio

    fake = Echo()
    fake.set_rate_limit(None, concurrent=2)
    transport = FakeTransport(fake, latency=0.05)
    statuses: list[int] = []
    async with httpx.AsyncClient(transport=transport, base_url="https://fake.test") as client:

        async def one() -> None:
            r = await client.post(
                "/x", json={}, headers={"Authorization": f"Bearer {fake.initial_token}"}
            )
            statuses.append(r.status_code)

        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(one)
    assert transport.max_in_flight == 4
    assert statuses.count(429) == 2


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_failures_can_target_a_method_and_ignore_case() -> None:
    fake = Echo()
    fake.fail_next("500", path_contains="/INV", method="post")
    get = httpx.Request(
        "GET", "https://fake.test/inv", headers={"Authorization": f"Bearer {fake.initial_token}"}
    )
    assert fake.handle(get).status_code == 200  # a lookup on the same path is spared
    assert fake.handle(_req(fake, "/Invoices")).status_code == 500
    assert fake.pending_failures == 0
