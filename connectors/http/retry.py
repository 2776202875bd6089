"""When and how long to wait before another attempt: exponential backoff with full jitter
(spreads the retries of many workers hitting one remote), never shorter than the remote's
`Retry-After`, and never a blind repeat of a write whose first try may have been committed.

Only `RetryableError` and `RateLimitedError` are retried. A `RetryableError` with
`uncertain=True` (timeout or reset after sending) is repeated automatically only for safe
methods or when the caller says the request is idempotent (it carries an idempotency key the
remote honours); otherwise it goes back to the sync worker, which looks the object up first.
A 409 is retryable for the caller (refetch, then resend) but resending the same body gives the
same conflict, so the client does not repeat it by itself."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

from connectors.base import ConnectorError, RateLimitedError, RetryableError
from connectors.http.classify import UNSAFE_METHODS

__all__ = ["RetryPolicy", "Sleep"]

Sleep = Callable[[float], Awaitable[None]]


class RetryPolicy:
    def __init__(
        self,
        max_attempts: int = 5,
        base_delay: float = 0.5,
        max_delay: float = 60.0,
        *,
        jitter: bool = True,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts: must be at least 1")
        if base_delay < 0 or max_delay < 0:
            raise ValueError("base_delay/max_delay: must not be negative")
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.jitter = jitter
        self.sleep = sleep
        self.rng = rng if rng is not None else random.Random()  # noqa: S311 (not crypto)

    def backoff(self, attempt: int) -> float:
        """The delay after failed attempt number `attempt` (1-based), before Retry-After."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return self.rng.uniform(0.0, ceiling) if self.jitter else ceiling

    def delay(
        self, attempt: int, error: ConnectorError, *, retry_after: float | None = None
    ) -> float:
        """Backoff, or the remote's Retry-After (the error's, or `retry_after` read from any
        response, a 503 too) when that is longer."""
        wait = self.backoff(attempt)
        hints = [retry_after, getattr(error, "retry_after", None)]
        for hint in hints:
            if isinstance(hint, int | float) and hint > wait:
                wait = float(hint)
        return wait

    def should_retry(
        self,
        error: ConnectorError,
        attempt: int,
        *,
        method: str,
        idempotent: bool | None,
        retry_after: float | None = None,
    ) -> bool:
        """Whether failed attempt number `attempt` deserves another one. A remote asking for
        more patience than `max_delay` (a spent day limit) goes back to the worker, which
        reschedules the row instead of holding a connection for hours."""
        if attempt >= self.max_attempts:
            return False
        if not isinstance(error, RetryableError | RateLimitedError) or error.status == 409:
            return False
        for hint in (retry_after, getattr(error, "retry_after", None)):
            if isinstance(hint, int | float) and hint > self.max_delay:
                return False
        if isinstance(error, RateLimitedError):
            return True
        if error.uncertain:
            safe = idempotent if idempotent is not None else method.upper() not in UNSAFE_METHODS
            return safe
        return True
