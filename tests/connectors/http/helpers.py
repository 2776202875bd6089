"""A fake clock whose `sleep` advances time instead of waiting, so backoff, Retry-After and rate
windows are exercised in milliseconds; and a token source that records what it was asked."""

from __future__ import annotations

import asyncio

from connectors.base import AuthExpiredError


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Advance to the moment this sleeper wakes; concurrent sleepers with the same wake
        time do not add up (time moves to the latest wake time, not the sum)."""
        self.sleeps.append(seconds)
        target = self.now + max(0.0, seconds)
        await asyncio.sleep(0)
        self.now = max(self.now, target)


class RecordingTokens:
    def __init__(self, tokens: list[str], *, refusable: bool = True) -> None:
        self.tokens = tokens
        self.index = 0
        self.refusable = refusable
        self.rejected: list[str] = []

    async def access_token(self) -> str:
        return self.tokens[self.index]

    async def refresh_after_rejection(self, rejected: str) -> str:
        self.rejected.append(rejected)
        if not self.refusable or self.index + 1 >= len(self.tokens):
            raise AuthExpiredError("refresh token invalid", status=400)
        self.index += 1
        return self.tokens[self.index]
