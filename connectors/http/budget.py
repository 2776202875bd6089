"""A rate budget per connection: never send more than the remote allows, rather than send and
be told off with a 429. One `RateBudget` is shared by every client of a connection (see
`RateBudget.shared`), so two connector instances for the same QuickBooks realm or Xero tenant
count against one budget.

Limits are sliding windows (a request counts for the 60 s / 24 h after it was sent) plus a
maximum of requests in flight. The remote's own view lowers what is left: Xero reports
`X-MinLimit-Remaining`, `X-DayLimit-Remaining` and `X-AppMinLimit-Remaining`; a 429's
Retry-After pauses every caller (`pause`). Waits longer than `max_wait` (a spent day limit)
raise `RateLimitedError(retry_after=...)` so the worker reschedules instead of sleeping.

A shared budget may be used from several event loops (threads that each run their own loop):
its counts are kept under a lock and a freed slot wakes its waiter on the waiter's own loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import ClassVar

import httpx

from connectors.base import RateLimitedError
from connectors.http.logs import logger
from connectors.http.retry import Sleep

__all__ = ["BudgetExhaustedError", "RateBudget"]

SECOND = 1.0
MINUTE = 60.0
DAY = 86_400.0


class BudgetExhaustedError(RateLimitedError):
    """Raised by `RateBudget.slot` itself (nothing was sent). Passing through the slot of
    another budget taken for the same request, it gives that budget its request back."""


class _Window:
    """At most `limit` requests in any `width` seconds: the send times still inside."""

    __slots__ = ("limit", "sent", "width")

    def __init__(self, width: float, limit: int) -> None:
        self.width = width
        self.limit = limit
        self.sent: deque[float] = deque()

    def wait(self, now: float) -> float:
        while self.sent and self.sent[0] <= now - self.width:
            self.sent.popleft()
        if len(self.sent) < self.limit:
            return 0.0
        return self.sent[len(self.sent) - self.limit] + self.width - now


class _RemoteCount:
    """What the remote said was left of its window of `width` seconds when we looked (`seen`),
    brought up to date: minus what we sent since, plus those of our earlier requests (`earlier`:
    their send times, oldest first) that have left the window by now. Without `earlier` nothing
    frees before `fallback`, when one request may go and look again (a probe; the next one
    `fallback_every` later, unless its answer brings a fresh count)."""

    __slots__ = ("earlier", "fallback", "fallback_every", "left", "seen", "sent_since", "width")

    def __init__(
        self,
        left: int,
        seen: float,
        width: float,
        fallback_every: float,
        earlier: tuple[float, ...] = (),
    ) -> None:
        self.left = left
        self.seen = seen
        self.width = width
        self.fallback_every = fallback_every
        self.fallback = seen + fallback_every
        self.earlier = earlier
        self.sent_since = 0

    def sent(self, now: float) -> None:
        self.sent_since += 1
        if now >= self.fallback:
            self.fallback = now + self.fallback_every  # that was the probe

    def stale(self, now: float) -> bool:
        return now >= self.seen + self.width

    def wait(self, now: float) -> float:
        expired = sum(1 for sent in self.earlier if sent + self.width <= now)
        left = self.left - self.sent_since + expired
        if left > 0:
            return 0.0
        index = expired - left  # the earlier request whose expiry frees one request
        if index < len(self.earlier):
            return self.earlier[index] + self.width - now
        return self.fallback - now


class RateBudget:
    _shared: ClassVar[dict[str, RateBudget]] = {}

    def __init__(
        self,
        name: str,
        per_minute: int | None,
        per_day: int | None = None,
        concurrent: int | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        max_wait: float = 120.0,
        remote_day_probe: float = 3600.0,
        per_second: int | None = None,
    ) -> None:
        for field, limit in (
            ("per_minute", per_minute),
            ("per_day", per_day),
            ("concurrent", concurrent),
            ("per_second", per_second),
        ):
            if limit is not None and limit < 1:
                raise ValueError(f"{field}: must be at least 1 or None, got {limit}")
        self.name = name
        self.per_minute = per_minute
        self.per_day = per_day
        self.per_second = per_second  # Stripe counts per second
        self.concurrent = concurrent
        self.max_wait = max_wait
        # When the remote says the day is spent we do not know when its window frees; probe
        # again after this long (the probe's 429 then carries a precise Retry-After).
        self.remote_day_probe = remote_day_probe
        self._clock = clock
        self._sleep = sleep
        self._windows = [
            _Window(width, limit)
            for width, limit in ((SECOND, per_second), (MINUTE, per_minute), (DAY, per_day))
            if limit is not None
        ]
        self._lock = threading.Lock()
        self._in_flight = 0  # holding a concurrency slot (sent, or waiting for a window)
        self._sent_in_flight = 0  # sent and not yet answered
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._paused_until = 0.0
        self._recent: deque[float] = deque()  # our sends of the last minute, whatever the limits
        # What the remote reports is left: this connection's minute and day, the app's minute.
        self._remote: dict[str, _RemoteCount] = {}
        self.max_in_flight = 0  # high-water mark, for tests and benchmarks

    # -- sharing ----------------------------------------------------------------------------
    @classmethod
    def shared(
        cls,
        key: str,
        per_minute: int | None = None,
        per_day: int | None = None,
        concurrent: int | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        max_wait: float = 120.0,
        remote_day_probe: float = 3600.0,
        per_second: int | None = None,
    ) -> RateBudget:
        """The one budget of `key` in this process ("xero:tenant abc"); created on first use
        with these limits, later calls get the same instance whatever limits they pass (every
        client of one connection counts against one budget)."""
        budget = cls._shared.get(key)
        if budget is None:
            budget = cls(
                key,
                per_minute,
                per_day,
                concurrent,
                clock=clock,
                sleep=sleep,
                max_wait=max_wait,
                remote_day_probe=remote_day_probe,
                per_second=per_second,
            )
            cls._shared[key] = budget
        return budget

    @classmethod
    def forget_shared(cls) -> None:
        """Drop every shared budget (tests; a process that re-reads its connections)."""
        cls._shared.clear()

    # -- what the remote tells us -------------------------------------------------------------
    def pause(self, seconds: float) -> None:
        """Nobody sends through this budget for `seconds` (a 429's Retry-After)."""
        if seconds > 0:
            with self._lock:
                self._paused_until = max(self._paused_until, self._clock() + seconds)

    def observe(self, response: httpx.Response) -> None:
        """Lower what is left to what the remote reports (Xero's remaining-headers).

        Requests still in flight (other than the one answered) may not be counted yet in the
        remote's figure, so they are taken off it. The connection's minute is modelled as a
        sliding window (our requests of the last minute free a request each as they age out);
        the app-wide minute and the day, shared with what we cannot see, free only after a
        full minute / after `remote_day_probe` (then a probe's 429 says exactly when)."""
        with self._lock:
            self._observe(response, self._clock())

    def _observe(self, response: httpx.Response, now: float) -> None:
        _prune(self._recent, now - MINUTE)
        uncounted = max(0, self._sent_in_flight - 1)
        for key, header, width, fallback_every in (
            ("minute", "X-MinLimit-Remaining", MINUTE, MINUTE),
            ("app", "X-AppMinLimit-Remaining", MINUTE, MINUTE),
            ("day", "X-DayLimit-Remaining", DAY, self.remote_day_probe),
        ):
            left = _int_header(response, header)
            if left is None:
                continue
            earlier = tuple(self._recent) if key == "minute" else ()
            self._remote[key] = _RemoteCount(left - uncounted, now, width, fallback_every, earlier)

    # -- taking a slot ------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait for a free concurrency slot and a free request in every window, then count one
        request as sent. Raises `RateLimitedError` when the wait would exceed `max_wait`."""
        await self._enter()
        try:
            while True:
                with self._lock:  # check and count in one step: no other caller in between
                    wait = self._wait_needed()
                    if wait <= 0:
                        sent_at = self._record()
                        self._sent_in_flight += 1
                        break
                if wait > self.max_wait:
                    logger.info("%s: rate budget spent, free again in %.0f s", self.name, wait)
                    raise BudgetExhaustedError(
                        f"{self.name}: rate limit reached, free again in {wait:.0f} s",
                        retry_after=wait,
                        status=None,
                    )
                logger.debug("%s: rate budget: waiting %.2f s", self.name, wait)
                await self._sleep(wait)
            try:
                yield
            except BudgetExhaustedError:
                with self._lock:
                    self._unrecord(sent_at)  # another budget refused: nothing went out
                raise
            finally:
                with self._lock:
                    self._sent_in_flight -= 1
        finally:
            self._leave()

    def _wait_needed(self) -> float:
        """Seconds until one more request fits (0 when it fits now)."""
        now = self._clock()
        waits = [self._paused_until - now, *(window.wait(now) for window in self._windows)]
        for key, count in list(self._remote.items()):
            if count.stale(now):
                del self._remote[key]
            else:
                waits.append(count.wait(now))
        return max(waits)

    def _record(self) -> float:
        now = self._clock()
        for window in self._windows:
            window.sent.append(now)
        _prune(self._recent, now - MINUTE)
        self._recent.append(now)
        for count in self._remote.values():
            count.sent(now)
        return now

    def _unrecord(self, sent_at: float) -> None:
        for sent in (*(window.sent for window in self._windows), self._recent):
            _remove_last(sent, sent_at)
        for count in self._remote.values():
            if count.seen <= sent_at and count.sent_since > 0:
                count.sent_since -= 1

    async def _enter(self) -> None:
        """Take a concurrency slot, first come first served."""
        with self._lock:
            free = self.concurrent is None or self._in_flight < self.concurrent
            if free and not self._waiters:
                self._in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self._in_flight)
                return
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
        try:
            await waiter  # _leave hands its slot over: _in_flight already counts us
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self._leave()  # we were handed a slot we will not use
            else:
                waiter.cancel()  # a wake-up already on its way passes the slot on
            raise
        with self._lock:
            self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def _leave(self) -> None:
        """Give the slot to the longest waiter still waiting, else free it."""
        with self._lock:
            while self._waiters:
                waiter = self._waiters.popleft()
                if waiter.done():
                    continue
                try:
                    waiter.get_loop().call_soon_threadsafe(self._wake, waiter)
                except RuntimeError:  # its loop is closed: nobody there to wake
                    continue
                return
            self._in_flight -= 1

    def _wake(self, waiter: asyncio.Future[None]) -> None:
        """On the waiter's loop: hand it the slot, or pass the slot on if it gave up."""
        if waiter.done():
            self._leave()
        else:
            waiter.set_result(None)


def _prune(window: deque[float], horizon: float) -> None:
    while window and window[0] <= horizon:
        window.popleft()


def _remove_last(window: deque[float], value: float) -> None:
    for index in range(len(window) - 1, -1, -1):
        if window[index] == value:
            del window[index]
            return


def _int_header(response: httpx.Response, name: str) -> int | None:
    raw = response.headers.get(name)
    if raw is None:
        return None
    try:
        return int(raw.strip())
    except ValueError:
        return None
