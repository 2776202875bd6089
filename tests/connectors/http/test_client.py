"""HttpClient end to end through respx: retries, Retry-After, token refresh, uncertain writes,
error parsers, and logs free of secrets."""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx

from connectors.base import (
    AuthExpiredError,
    ConnectorError,
    FieldError,
    NotFoundError,
    RateLimitedError,
    RejectedError,
    RetryableError,
)
from connectors.http import HttpClient, RateBudget, RetryPolicy
from tests.connectors.http.helpers import FakeClock, RecordingTokens

pytestmark = pytest.mark.anyio

BASE = "https://api.example.test"


def make_client(
    clock: FakeClock, *, tokens: RecordingTokens | None = None, **kwargs: object
) -> HttpClient:
    retry = kwargs.pop("retry", None) or RetryPolicy(
        max_attempts=4, base_delay=0.5, max_delay=30.0, sleep=clock.sleep, rng=random.Random(7)
    )
    return HttpClient(BASE, "test:conn-1", auth=tokens, retry=retry, **kwargs)  # type: ignore[arg-type]


@respx.mock
async def test_retries_a_500_then_succeeds() -> None:
    clock = FakeClock()
    route = respx.get(f"{BASE}/things").mock(
        side_effect=[httpx.Response(500), httpx.Response(503), httpx.Response(200, json={"ok": 1})]
    )
    async with make_client(clock) as client:
        response = await client.request("GET", "/things")
    assert response.json() == {"ok": 1}
    assert route.call_count == 3
    assert len(clock.sleeps) == 2


@respx.mock
async def test_gives_up_after_max_attempts_with_retryable_error() -> None:
    clock = FakeClock()
    route = respx.get(f"{BASE}/things").mock(return_value=httpx.Response(502))
    async with make_client(clock) as client:
        with pytest.raises(RetryableError) as info:
            await client.request("GET", "/things")
    assert route.call_count == 4
    assert info.value.status == 502


@respx.mock
async def test_retry_false_makes_one_attempt() -> None:
    clock = FakeClock()
    route = respx.get(f"{BASE}/things").mock(return_value=httpx.Response(500))
    async with make_client(clock) as client:
        with pytest.raises(RetryableError):
            await client.request("GET", "/things", retry=False)
    assert route.call_count == 1
    assert clock.sleeps == []


@respx.mock
async def test_retry_after_seconds_is_honoured() -> None:
    clock = FakeClock()
    respx.get(f"{BASE}/things").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200)]
    )
    async with make_client(clock) as client:
        await client.request("GET", "/things")
    assert clock.sleeps == [7.0]


@respx.mock
async def test_retry_after_http_date_is_honoured() -> None:
    clock = FakeClock()
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    respx.get(f"{BASE}/things").mock(
        side_effect=[httpx.Response(503, headers={"Retry-After": later}), httpx.Response(200)]
    )
    async with make_client(clock) as client:
        await client.request("GET", "/things")
    assert len(clock.sleeps) == 1
    assert 17.0 <= clock.sleeps[0] <= 20.0


@respx.mock
async def test_401_refreshes_once_and_resends_with_the_new_token() -> None:
    clock = FakeClock()
    tokens = RecordingTokens(["old-token", "new-token"])
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return httpx.Response(401 if len(seen) == 1 else 200)

    respx.post(f"{BASE}/invoices").mock(side_effect=handler)
    async with make_client(clock, tokens=tokens) as client:
        await client.request("POST", "/invoices", json={"a": 1}, retry=False)
    assert seen == ["Bearer old-token", "Bearer new-token"]
    assert tokens.rejected == ["old-token"]


@respx.mock
async def test_401_twice_is_auth_expired() -> None:
    clock = FakeClock()
    tokens = RecordingTokens(["t1", "t2", "t3"])
    route = respx.get(f"{BASE}/things").mock(return_value=httpx.Response(401))
    async with make_client(clock, tokens=tokens) as client:
        with pytest.raises(AuthExpiredError):
            await client.request("GET", "/things")
    assert route.call_count == 2
    assert tokens.rejected == ["t1"]


@respx.mock
async def test_refresh_failure_propagates_auth_expired() -> None:
    clock = FakeClock()
    tokens = RecordingTokens(["only"], refusable=False)
    route = respx.get(f"{BASE}/things").mock(return_value=httpx.Response(401))
    async with make_client(clock, tokens=tokens) as client:
        with pytest.raises(AuthExpiredError, match="refresh token invalid"):
            await client.request("GET", "/things")
    assert route.call_count == 1


@respx.mock
async def test_uncertain_write_is_not_resent() -> None:
    clock = FakeClock()
    route = respx.post(f"{BASE}/invoices").mock(side_effect=httpx.ReadTimeout("slow"))
    async with make_client(clock) as client:
        with pytest.raises(RetryableError) as info:
            await client.request("POST", "/invoices", json={})
    assert info.value.uncertain is True
    assert route.call_count == 1


@respx.mock
async def test_uncertain_write_is_resent_when_idempotent() -> None:
    clock = FakeClock()
    route = respx.put(f"{BASE}/invoices").mock(
        side_effect=[httpx.ReadTimeout("slow"), httpx.Response(200)]
    )
    async with make_client(clock) as client:
        await client.request("PUT", "/invoices", json={}, idempotent=True)
    assert route.call_count == 2


@respx.mock
async def test_uncertain_read_is_resent() -> None:
    clock = FakeClock()
    route = respx.get(f"{BASE}/things").mock(
        side_effect=[httpx.RemoteProtocolError("reset"), httpx.Response(200)]
    )
    async with make_client(clock) as client:
        await client.request("GET", "/things")
    assert route.call_count == 2


@respx.mock
async def test_write_not_sent_is_resent() -> None:
    clock = FakeClock()
    route = respx.post(f"{BASE}/invoices").mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(201)]
    )
    async with make_client(clock) as client:
        response = await client.request("POST", "/invoices", json={})
    assert response.status_code == 201
    assert route.call_count == 2


@respx.mock
async def test_error_parser_is_consulted_first() -> None:
    clock = FakeClock()

    def parser(response: httpx.Response) -> ConnectorError | None:
        body = response.json()
        if "Fault" not in body:
            return None
        return RejectedError(
            "validation failed",
            errors=[FieldError(e["Detail"], field=e.get("element")) for e in body["Fault"]],
            status=response.status_code,
        )

    respx.post(f"{BASE}/invoices").mock(
        return_value=httpx.Response(400, json={"Fault": [{"Detail": "bad", "element": "Qty"}]})
    )
    respx.get(f"{BASE}/missing").mock(return_value=httpx.Response(404, json={}))
    async with make_client(clock, error_parser=parser) as client:
        with pytest.raises(RejectedError) as info:
            await client.request("POST", "/invoices", json={})
        assert info.value.errors == (FieldError("bad", field="Qty"),)
        with pytest.raises(NotFoundError):
            await client.request("GET", "/missing")


@respx.mock
async def test_409_is_retryable_but_not_resent() -> None:
    clock = FakeClock()
    route = respx.post(f"{BASE}/invoices").mock(return_value=httpx.Response(409))
    async with make_client(clock) as client:
        with pytest.raises(RetryableError) as info:
            await client.request("POST", "/invoices", json={})
    assert info.value.status == 409
    assert route.call_count == 1


@respx.mock
async def test_rate_limited_beyond_max_delay_goes_back_to_caller() -> None:
    clock = FakeClock()
    route = respx.get(f"{BASE}/things").mock(
        return_value=httpx.Response(429, headers={"Retry-After": "3600"})
    )
    async with make_client(clock) as client:
        with pytest.raises(RateLimitedError) as info:
            await client.request("GET", "/things")
    assert info.value.retry_after == 3600.0
    assert route.call_count == 1


@respx.mock
async def test_429_pauses_the_whole_budget() -> None:
    clock = FakeClock()
    budget = RateBudget("b", per_minute=None, clock=clock, sleep=clock.sleep)
    respx.get(f"{BASE}/a").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "12"}), httpx.Response(200)]
    )
    respx.get(f"{BASE}/b").mock(return_value=httpx.Response(200))
    no_retry = RetryPolicy(max_attempts=1, sleep=clock.sleep)
    async with make_client(clock, budget=budget, retry=no_retry) as client:
        with pytest.raises(RateLimitedError):
            await client.request("GET", "/a")
        start = clock.now
        await client.request("GET", "/b")  # another caller of the same budget waits too
    assert clock.now - start == pytest.approx(12.0)


@respx.mock
async def test_logs_carry_no_secrets(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    tokens = RecordingTokens(["sekret-access-1", "sekret-access-2"])
    respx.get(url__startswith=f"{BASE}/oauth").mock(
        side_effect=[httpx.Response(401), httpx.Response(500), httpx.Response(200)]
    )
    caplog.set_level(logging.DEBUG, logger="rebill.http")
    async with make_client(clock, tokens=tokens) as client:
        await client.request(
            "GET", "/oauth/callback?code=sekret-code&client_secret=sekret-cs", params={"x": 1}
        )
    text = caplog.text
    assert "sekret" not in text
    assert "test:conn-1 GET" in text
    assert len([r for r in caplog.records if r.name == "rebill.http"]) == 3


@respx.mock
async def test_default_headers_and_base_url() -> None:
    clock = FakeClock()
    route = respx.get(f"{BASE}/v3/x").mock(return_value=httpx.Response(200))
    async with make_client(clock, default_headers={"Accept": "application/json"}) as client:
        await client.request("GET", "/v3/x", headers={"X-Extra": "1"})
    sent = route.calls.last.request
    assert sent.headers["Accept"] == "application/json"
    assert sent.headers["X-Extra"] == "1"
    assert "Authorization" not in sent.headers


@respx.mock
async def test_error_parser_that_fails_falls_back_to_default() -> None:
    clock = FakeClock()

    def parser(response: httpx.Response) -> ConnectorError | None:
        return RejectedError(response.json()["missing"])  # KeyError / JSON error

    respx.get(f"{BASE}/x").mock(return_value=httpx.Response(422, text="<html>oops</html>"))
    async with make_client(clock, error_parser=parser) as client:
        with pytest.raises(RejectedError) as info:
            await client.request("GET", "/x")
    assert info.value.status == 422
    assert info.value.errors == ()


@respx.mock
async def test_401_is_auth_expired_whatever_the_parser_says() -> None:
    clock = FakeClock()
    respx.get(f"{BASE}/x").mock(return_value=httpx.Response(401, json={"Fault": {}}))
    async with make_client(
        clock, error_parser=lambda r: RejectedError("AuthenticationFailed", status=401)
    ) as client:
        with pytest.raises(AuthExpiredError, match="AuthenticationFailed"):
            await client.request("GET", "/x")


@respx.mock
async def test_token_source_failure_is_retried_like_any_retryable() -> None:
    clock = FakeClock()

    class Flaky(RecordingTokens):
        calls = 0

        async def access_token(self) -> str:
            self.calls += 1
            if self.calls == 1:
                raise RetryableError("token endpoint down")
            return await super().access_token()

    tokens = Flaky(["t"])
    route = respx.get(f"{BASE}/x").mock(return_value=httpx.Response(200))
    async with make_client(clock, tokens=tokens) as client:
        await client.request("GET", "/x")
    assert route.call_count == 1
    assert route.calls.last.request.headers["Authorization"] == "Bearer t"


@respx.mock
async def test_httpx_own_logs_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    respx.post(url__startswith=f"{BASE}/token").mock(return_value=httpx.Response(200))
    caplog.set_level(logging.INFO)
    async with make_client(clock) as client:
        await client.request("POST", "/token?code=sekret-code", data={"client_secret": "sekret"})
    assert "HTTP Request" in caplog.text  # httpx logged the request ...
    assert "sekret" not in caplog.text  # ... without the code


@respx.mock
async def test_per_request_timeout_reaches_httpx() -> None:
    clock = FakeClock()
    seen: list[object] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions.get("timeout"))
        return httpx.Response(200)

    respx.get(f"{BASE}/x").mock(side_effect=handler)
    async with make_client(clock) as client:
        await client.request("GET", "/x")
        await client.request("GET", "/x", timeout=httpx.Timeout(120.0))
    assert seen[0] == httpx.Timeout(30.0, connect=10.0).as_dict()
    assert seen[1] == httpx.Timeout(120.0).as_dict()


@respx.mock
async def test_xero_headers_throttle_through_the_client() -> None:
    clock = FakeClock()
    budget = RateBudget("xero:t", per_minute=60, per_day=5000, clock=clock, sleep=clock.sleep)
    respx.get(f"{BASE}/Invoices").mock(
        return_value=httpx.Response(
            200, headers={"X-MinLimit-Remaining": "0", "X-DayLimit-Remaining": "4000"}
        )
    )
    async with make_client(clock, budget=budget) as client:
        await client.request("GET", "/Invoices")
        start = clock.now
        await client.request("GET", "/Invoices")
    assert clock.now - start == pytest.approx(60.0)


@respx.mock
async def test_day_limit_spent_raises_rate_limited_without_sending() -> None:
    clock = FakeClock()
    budget = RateBudget("xero:t", per_minute=60, per_day=2, clock=clock, sleep=clock.sleep)
    route = respx.get(f"{BASE}/Invoices").mock(return_value=httpx.Response(200))
    async with make_client(clock, budget=budget) as client:
        await client.request("GET", "/Invoices")
        await client.request("GET", "/Invoices")
        with pytest.raises(RateLimitedError) as info:
            await client.request("GET", "/Invoices")
    assert route.call_count == 2
    assert info.value.retry_after is not None
    assert info.value.retry_after > 86_000


@respx.mock
async def test_base_url_with_a_path_prefix() -> None:
    clock = FakeClock()
    route = respx.get("https://api.xero.test/api.xro/2.0/Invoices").mock(
        return_value=httpx.Response(200)
    )
    client = HttpClient(
        "https://api.xero.test/api.xro/2.0",
        "xero:t",
        retry=RetryPolicy(sleep=clock.sleep),
    )
    async with client:
        await client.request("GET", "/Invoices", params={"page": 2})
    assert route.calls.last.request.url.params["page"] == "2"


def test_client_validates_base_url() -> None:
    with pytest.raises(ValueError, match="base_url"):
        HttpClient("", "x")


async def test_attempt_deadline_bounds_a_slow_answer() -> None:
    clock = FakeClock()

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200)

    client = HttpClient(
        BASE,
        "slow",
        retry=RetryPolicy(sleep=clock.sleep),
        transport=httpx.MockTransport(slow),
        attempt_deadline=0.05,
    )
    async with client:
        with pytest.raises(RetryableError) as info:
            await client.request("POST", "/invoices", json={})
    assert info.value.uncertain is True
    with pytest.raises(ValueError, match="attempt_deadline"):
        HttpClient(BASE, "x", attempt_deadline=0)
