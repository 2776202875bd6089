"""RateBudget: sliding windows and concurrency are never exceeded, the remote's remaining
counts lower what is left, a 429 pauses every caller, a spent day raises instead of sleeping."""

from __future__ import annotations

import asyncio
import random
from collections import deque

import httpx
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.base import RateLimitedError
from connectors.http import BudgetExhaustedError, HttpClient, RateBudget, RetryPolicy
from tests.connectors.http.helpers import FakeClock

pytestmark = pytest.mark.anyio


def max_in_window(times: list[float], width: float) -> int:
    """The most requests sent within any half-open window [t, t + width) (to a microsecond:
    the clock is float seconds, and `a - b >= 60` and `b <= a - 60` round differently)."""
    ordered = sorted(times)
    best = 0
    start = 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= width - 1e-6:
            start += 1
        best = max(best, end - start + 1)
    return best


async def run_callers(budget: RateBudget, clock: FakeClock, callers: int, each: int) -> list[float]:
    sent: list[float] = []
    in_flight = 0
    peak = 0

    async def caller() -> None:
        nonlocal in_flight, peak
        for _ in range(each):
            async with budget.slot():
                in_flight += 1
                peak = max(peak, in_flight)
                sent.append(clock.now)
                await clock.sleep(0.05)  # the request takes a while
                await asyncio.sleep(0)
                in_flight -= 1

    await asyncio.gather(*(caller() for _ in range(callers)))
    assert peak <= (budget.concurrent or peak)
    assert budget.max_in_flight == peak
    return sent


async def test_per_minute_and_concurrency_never_exceeded() -> None:
    clock = FakeClock()
    budget = RateBudget("qbo", per_minute=20, concurrent=3, clock=clock, sleep=clock.sleep)
    sent = await run_callers(budget, clock, callers=8, each=10)
    assert len(sent) == 80
    assert max_in_window(sent, 60.0) == 20
    assert budget.max_in_flight == 3
    # Four minutes' worth of requests take (almost) four minutes, not much more.
    assert sent[-1] - sent[0] < 4 * 60.0


async def test_day_limit_exhausted_raises_with_retry_after() -> None:
    clock = FakeClock()
    budget = RateBudget("xero", per_minute=60, per_day=5, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        async with budget.slot():
            pass
        clock.now += 1.0
    with pytest.raises(RateLimitedError) as info:
        async with budget.slot():
            pass
    assert info.value.retry_after == pytest.approx(86_400.0 - 5.0)
    assert budget._in_flight == 0  # the failed wait gave its slot back
    clock.now += info.value.retry_after or 0
    async with budget.slot():
        pass


async def test_pause_makes_every_caller_wait() -> None:
    clock = FakeClock()
    budget = RateBudget("x", per_minute=None, concurrent=None, clock=clock, sleep=clock.sleep)
    budget.pause(9.0)
    start = clock.now

    async def one() -> float:
        async with budget.slot():
            return clock.now

    times = await asyncio.gather(one(), one(), one())
    assert all(t - start >= 9.0 for t in times)


async def test_pause_longer_than_max_wait_raises() -> None:
    clock = FakeClock()
    budget = RateBudget("x", per_minute=None, clock=clock, sleep=clock.sleep, max_wait=30.0)
    budget.pause(600.0)
    with pytest.raises(RateLimitedError) as info:
        async with budget.slot():
            pass
    assert info.value.retry_after == pytest.approx(600.0)


async def test_xero_minute_remaining_header_throttles() -> None:
    clock = FakeClock()
    budget = RateBudget("xero", per_minute=60, per_day=5000, clock=clock, sleep=clock.sleep)
    budget.observe(httpx.Response(200, headers={"X-MinLimit-Remaining": "2"}))
    start = clock.now
    times = []
    for _ in range(3):
        async with budget.slot():
            times.append(clock.now - start)
    assert times[:2] == [0.0, 0.0]
    assert times[2] == pytest.approx(60.0)


async def test_xero_app_minute_remaining_lowers_too() -> None:
    clock = FakeClock()
    budget = RateBudget("xero", per_minute=60, clock=clock, sleep=clock.sleep)
    budget.observe(
        httpx.Response(200, headers={"X-MinLimit-Remaining": "40", "X-AppMinLimit-Remaining": "0"})
    )
    start = clock.now
    async with budget.slot():
        assert clock.now - start == pytest.approx(60.0)


async def test_xero_day_remaining_zero_raises_and_probes_later() -> None:
    clock = FakeClock()
    budget = RateBudget(
        "xero", per_minute=60, per_day=5000, clock=clock, sleep=clock.sleep, max_wait=60.0
    )
    budget.observe(httpx.Response(200, headers={"X-DayLimit-Remaining": "0"}))
    with pytest.raises(RateLimitedError) as info:
        async with budget.slot():
            pass
    assert info.value.retry_after == pytest.approx(3600.0)
    clock.now += 3600.0
    async with budget.slot():  # one probe is allowed ...
        pass
    with pytest.raises(RateLimitedError) as again:  # ... and no more until the next hour
        async with budget.slot():
            pass
    assert again.value.retry_after == pytest.approx(3600.0)
    budget.observe(httpx.Response(200, headers={"X-DayLimit-Remaining": "10"}))
    async with budget.slot():  # a fresh count from the remote opens the budget again
        pass


async def test_unreadable_headers_are_ignored() -> None:
    clock = FakeClock()
    budget = RateBudget("xero", per_minute=60, clock=clock, sleep=clock.sleep)
    budget.observe(httpx.Response(200, headers={"X-MinLimit-Remaining": "lots"}))
    async with budget.slot():
        assert clock.sleeps == []


def test_shared_returns_one_instance_per_key() -> None:
    RateBudget.forget_shared()
    a = RateBudget.shared("xero:tenant abc", per_minute=60, per_day=5000, concurrent=5)
    b = RateBudget.shared("xero:tenant abc", per_minute=999)
    c = RateBudget.shared("xero:tenant def", per_minute=60)
    assert a is b
    assert a is not c
    assert b.per_minute == 60
    RateBudget.forget_shared()


def test_bad_limits_name_the_field() -> None:
    with pytest.raises(ValueError, match="concurrent"):
        RateBudget("x", per_minute=10, concurrent=0)


async def test_cancelled_waiter_does_not_leak_a_slot() -> None:
    clock = FakeClock()
    budget = RateBudget("x", per_minute=None, concurrent=1, clock=clock, sleep=clock.sleep)
    release = asyncio.Event()

    async def holder() -> None:
        async with budget.slot():
            await release.wait()

    async def waiter() -> None:
        async with budget.slot():
            pass

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)
    second = asyncio.create_task(waiter())
    await asyncio.sleep(0)
    second.cancel()
    release.set()
    await first
    with pytest.raises(asyncio.CancelledError):
        await second
    assert budget._in_flight == 0
    async with budget.slot():
        assert budget._in_flight == 1


async def test_client_respects_budget_and_extra_budgets() -> None:
    """Through the client: a realm budget (10 concurrent, 500/min) and the batch endpoint's own
    40/min; slow responses keep requests in flight."""
    clock = FakeClock()
    realm = RateBudget("qbo:realm 1", per_minute=500, concurrent=10, clock=clock, sleep=clock.sleep)
    batch = RateBudget("qbo:realm 1:batch", per_minute=40, clock=clock, sleep=clock.sleep)
    sent: list[float] = []
    batch_sent: list[float] = []
    in_flight = 0
    peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        sent.append(clock.now)
        if request.url.path.endswith("/batch"):
            batch_sent.append(clock.now)
        await clock.sleep(0.2)
        in_flight -= 1
        return httpx.Response(200, json={})

    client = HttpClient(
        "https://qbo.test",
        "qbo:conn",
        budget=realm,
        retry=RetryPolicy(sleep=clock.sleep, rng=random.Random(1)),
        transport=httpx.MockTransport(handler),
    )
    async with client:

        async def reads() -> None:
            for _ in range(60):
                await client.request("GET", "/v3/company/1/query")

        async def batches() -> None:
            for _ in range(50):
                await client.request("POST", "/v3/company/1/batch", json={}, budgets=(batch,))

        await asyncio.gather(*(reads() for _ in range(12)), batches(), batches())
    assert len(sent) == 12 * 60 + 100
    assert peak <= 10
    assert max_in_window(sent, 60.0) <= 500
    assert max_in_window(batch_sent, 60.0) <= 40


@settings(max_examples=30, deadline=None)
@given(
    per_minute=st.integers(1, 12),
    concurrent=st.integers(1, 5),
    callers=st.integers(1, 6),
    durations=st.lists(st.floats(0.0, 20.0), min_size=1, max_size=5),
)
def test_budget_property_never_over_limits(
    per_minute: int, concurrent: int, callers: int, durations: list[float]
) -> None:
    """Whatever the limits, callers and request durations, no minute window and no moment ever
    holds more than the budget allows."""

    async def scenario() -> None:
        clock = FakeClock()
        budget = RateBudget(
            "p", per_minute=per_minute, concurrent=concurrent, clock=clock, sleep=clock.sleep
        )
        sent: list[float] = []

        async def caller(offset: int) -> None:
            for i, duration in enumerate(durations * 2):
                async with budget.slot():
                    sent.append(clock.now)
                    await clock.sleep(duration if (i + offset) % 2 else duration / 3)

        await asyncio.gather(*(caller(n) for n in range(callers)))
        assert len(sent) == callers * len(durations) * 2
        assert max_in_window(sent, 60.0) <= per_minute
        assert budget.max_in_flight <= concurrent

    asyncio.run(scenario())


async def test_per_second_window() -> None:
    clock = FakeClock()
    budget = RateBudget("stripe", per_minute=None, per_second=5, clock=clock, sleep=clock.sleep)
    sent = []
    for _ in range(12):
        async with budget.slot():
            sent.append(clock.now)
    assert max_in_window(sent, 1.0) == 5
    assert sent[-1] - sent[0] == pytest.approx(2.0)


async def test_remote_minute_count_frees_as_our_requests_age_out() -> None:
    """A remote with a sliding 60/min window that reports what is left, and no local minute
    limit: the budget alone keeps us under it (no 429) and loses little throughput (slots free
    as our own requests age out, not a full minute after the last answer)."""
    clock = FakeClock()
    budget = RateBudget("xero:t", per_minute=None, concurrent=5, clock=clock, sleep=clock.sleep)
    accepted: deque[float] = deque()
    refused = 0

    async def remote(request: httpx.Request) -> httpx.Response:
        nonlocal refused
        await clock.sleep(1.0)
        while accepted and accepted[0] <= clock.now - 60.0:
            accepted.popleft()
        if len(accepted) >= 60:
            refused += 1
            return httpx.Response(429, headers={"Retry-After": "5"})
        accepted.append(clock.now)
        return httpx.Response(200, headers={"X-MinLimit-Remaining": str(60 - len(accepted))})

    client = HttpClient(
        "https://xero.test",
        "xero:t",
        budget=budget,
        retry=RetryPolicy(sleep=clock.sleep, rng=random.Random(3)),
        transport=httpx.MockTransport(remote),
    )
    start = clock.now
    async with client:

        async def worker() -> None:
            for _ in range(36):
                await client.request("GET", "/Invoices")

        await asyncio.gather(*(worker() for _ in range(5)))
    assert refused == 0
    # 180 requests at 60/min, 12 s per burst of 60: the third burst starts soon after 120 s
    # (waiting a full minute after each "0 left" would take about 156 s).
    assert clock.now - start < 137.0


async def test_slot_handed_to_a_waiter_that_gives_up_passes_on() -> None:
    budget = RateBudget("x", per_minute=None, concurrent=1)
    entered = asyncio.Event()
    release = asyncio.Event()
    order: list[str] = []

    async def holder() -> None:
        async with budget.slot():
            entered.set()
            await release.wait()

    async def waiter(name: str) -> None:
        async with budget.slot():
            order.append(name)

    first = asyncio.create_task(holder())
    await entered.wait()
    quitter = asyncio.create_task(waiter("quitter"))
    patient = asyncio.create_task(waiter("patient"))
    await asyncio.sleep(0)
    release.set()
    await first  # its slot is now on its way to the quitter ...
    quitter.cancel()  # ... which gives up before the hand-over lands
    await patient
    with pytest.raises(asyncio.CancelledError):
        await quitter
    assert order == ["patient"]
    assert budget._in_flight == 0


def test_shared_budget_across_threads_and_loops() -> None:
    """Two threads, each with its own event loop, share one budget of 3 concurrent."""
    import threading

    budget = RateBudget("x", per_minute=None, concurrent=3)
    lock = threading.Lock()
    in_flight = 0
    peak = 0

    async def work() -> None:
        nonlocal in_flight, peak

        async def one() -> None:
            nonlocal in_flight, peak
            async with budget.slot():
                with lock:
                    in_flight += 1
                    peak = max(peak, in_flight)
                await asyncio.sleep(0.002)
                with lock:
                    in_flight -= 1

        await asyncio.gather(*(one() for _ in range(20)))

    threads = [threading.Thread(target=asyncio.run, args=(work(),)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads)
    assert peak <= 3
    assert budget._in_flight == 0


@respx.mock
async def test_refusal_by_one_budget_gives_the_others_their_request_back() -> None:
    clock = FakeClock()
    batch = RateBudget("batch", per_minute=2, clock=clock, sleep=clock.sleep)
    realm = RateBudget("realm", per_minute=100, clock=clock, sleep=clock.sleep, max_wait=10.0)
    respx.post("https://qbo.test/batch").mock(return_value=httpx.Response(200))
    client = HttpClient(
        "https://qbo.test", "qbo", budget=realm, retry=RetryPolicy(sleep=clock.sleep)
    )
    async with client:
        realm.pause(100.0)  # longer than the retry policy waits: back to the caller
        for _ in range(3):
            with pytest.raises(BudgetExhaustedError) as info:
                await client.request("POST", "/batch", json={}, budgets=(batch,))
            assert isinstance(info.value, RateLimitedError)
        assert list(batch._windows[0].sent) == []
        clock.now += 100.0
        await client.request("POST", "/batch", json={}, budgets=(batch,))
        await client.request("POST", "/batch", json={}, budgets=(batch,))
    assert clock.sleeps == []
