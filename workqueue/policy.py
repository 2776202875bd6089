"""When to try a failed item again: one policy for every queue.

Exponential backoff with jitter, capped, never sooner than the provider's `retry_after`, dead
after `max_attempts`. Jitter spreads items that failed together (an outage) so they do not
all come back in the same second. The shape is the sync outbox's (2 s doubling to an hour,
between half and all of the step); a queue with a schedule of its own (the mail outbox's
1 min, 5 min, 30 min, 2 h) gives `steps` instead of the exponential, and its jitter band.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

__all__ = ["RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    """`delay(n)` is the wait after failed attempt number n (1-based): the step
    (`steps[n-1]`, the last step repeating, or `base * factor**(n-1)` capped at `cap`) times
    a random factor in [`jitter_low`, `jitter_high`], and at least `retry_after`."""

    max_attempts: int = 8
    base: timedelta = timedelta(seconds=2)
    factor: float = 2.0
    cap: timedelta = timedelta(hours=1)
    steps: tuple[timedelta, ...] = ()
    jitter_low: float = 0.5
    jitter_high: float = 1.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts: must be at least 1")
        if not 0 < self.jitter_low <= self.jitter_high:
            raise ValueError("jitter_low: must be positive and at most jitter_high")
        if self.factor < 1:
            raise ValueError("factor: must be at least 1 (waits never shrink)")
        if self.base <= timedelta(0) or self.cap < self.base:
            raise ValueError("base: must be positive and at most cap")

    def step(self, attempts: int) -> float:
        """The wait in seconds before jitter; never decreases with `attempts`, never above cap
        (or the last step)."""
        n = max(1, attempts)
        if self.steps:
            return self.steps[min(n, len(self.steps)) - 1].total_seconds()
        cap = self.cap.total_seconds()
        exponent = min(n - 1, 64)  # 2**64 * base is far past any cap; keeps floats finite
        return min(cap, self.base.total_seconds() * self.factor**exponent)

    def delay(
        self, attempts: int, retry_after: float | None = None, rng: random.Random | None = None
    ) -> timedelta:
        """The wait after failed attempt `attempts`, jittered, never shorter than
        `retry_after` seconds (the provider said when it will take the request again)."""
        ceiling = self.step(attempts)
        chooser = rng or random.Random()  # noqa: S311 - jitter, not secrets
        seconds = chooser.uniform(ceiling * self.jitter_low, ceiling * self.jitter_high)
        if retry_after is not None:
            seconds = max(seconds, retry_after)
        return timedelta(seconds=seconds)

    def exhausted(self, attempts: int) -> bool:
        """Whether an item that has made `attempts` attempts has no attempt left."""
        return attempts >= self.max_attempts
