"""`HttpClient`: one `httpx.AsyncClient` per connection plus the small parts around it
(`TokenSource` for bearer auth, `RateBudget`, `RetryPolicy`, `classify_*`). Every connector
sends through it, so timeouts, rate limits, retries, token refresh, failure outcomes and
secret-free logs behave the same for QuickBooks, Xero, FreshBooks and Stripe.

`request` answers a 2xx `httpx.Response` or raises a `ConnectorError` subclass."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Self

import httpx

from connectors.base import AuthExpiredError, ConnectorError, RateLimitedError, RetryableError
from connectors.http.auth import TokenSource, bearer_headers
from connectors.http.budget import RateBudget
from connectors.http.classify import classify_exception, classify_response, parse_retry_after
from connectors.http.logs import install_httpx_redaction, logger, redact
from connectors.http.retry import RetryPolicy

__all__ = ["ErrorParser", "HttpClient"]

ErrorParser = Callable[[httpx.Response], ConnectorError | None]

# Pause applied to the budget on a 429 that names no Retry-After.
DEFAULT_429_PAUSE = 1.0

install_httpx_redaction()


class HttpClient:
    def __init__(
        self,
        base_url: str,
        name: str,
        auth: TokenSource | None = None,
        budget: RateBudget | None = None,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout | float = httpx.Timeout(30.0, connect=10.0),
        default_headers: Mapping[str, str] | None = None,
        error_parser: ErrorParser | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        attempt_deadline: float | None = 300.0,
    ) -> None:
        """`attempt_deadline`: the most one attempt may take in all (httpx's timeouts are per
        connect/read/write step, so a body dripping slowly would otherwise never time out)."""
        if not base_url:
            raise ValueError("base_url: must not be empty")
        if attempt_deadline is not None and attempt_deadline <= 0:
            raise ValueError("attempt_deadline: must be positive or None")
        self.attempt_deadline = attempt_deadline
        self.name = name
        self.auth = auth
        self.budget = budget
        self.retry = retry if retry is not None else RetryPolicy()
        self.error_parser = error_parser
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._client = httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout,
            headers=dict(default_headers or {}),
            transport=transport,
            follow_redirects=False,
        )

    @property
    def base_url(self) -> httpx.URL:
        return self._client.base_url

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        retry: bool = True,
        idempotent: bool | None = None,
        budgets: Iterable[RateBudget] = (),
        timeout: httpx.Timeout | float | None = None,
    ) -> httpx.Response:
        """Send until a 2xx, a permanent failure or the end of the retry policy.

        `retry=False`: one attempt (a 401 is still refreshed and resent once: the remote did
        not act on it). `idempotent=True`: a write whose outcome is uncertain may be resent
        (it carries an idempotency key the remote honours); None infers it from the method.
        `budgets`: extra budgets this request also consumes (QuickBooks' batch limit).
        `timeout`: this request's own timeout (a large batch), else the client's."""
        method = method.upper()
        extra = tuple(budgets)
        attempt = 0
        refreshed = False
        token: str | None = None
        while True:
            attempt += 1
            hint: float | None = None  # the remote's Retry-After, on any status
            try:
                if self.auth is not None and token is None:
                    token = await self.auth.access_token()
                response = await self._attempt(
                    attempt,
                    method,
                    path,
                    token,
                    extra,
                    params=params,
                    json=json,
                    content=content,
                    data=data,
                    headers=headers,
                    timeout=timeout if timeout is not None else self._timeout,
                )
                if response.is_success:
                    return response
                if response.status_code == 401 and self.auth is not None and token is not None:
                    if refreshed:
                        raise self._classify(response)
                    refreshed = True
                    attempt -= 1  # a refresh is not a retry
                    token = await self.auth.refresh_after_rejection(token)
                    continue
                hint = parse_retry_after(response.headers.get("Retry-After"))
                raise self._classify(response)
            except AuthExpiredError:
                raise
            except ConnectorError as error:
                if not retry or not self.retry.should_retry(
                    error, attempt, method=method, idempotent=idempotent, retry_after=hint
                ):
                    raise
                await self.retry.sleep(self.retry.delay(attempt, error, retry_after=hint))
                token = None  # ask again: the source may have refreshed meanwhile

    async def _attempt(
        self,
        attempt: int,
        method: str,
        path: str,
        token: str | None,
        extra: tuple[RateBudget, ...],
        **kwargs: Any,
    ) -> httpx.Response:
        request_headers: dict[str, str] = dict(kwargs.pop("headers") or {})
        if token is not None:
            request_headers.update(bearer_headers(token))
        async with contextlib.AsyncExitStack() as stack:
            # The narrower extra budgets first: a request waiting for the batch limit must
            # not sit on one of the connection's concurrency slots meanwhile.
            for budget in (*extra, self.budget):
                if budget is not None:
                    await stack.enter_async_context(budget.slot())
            started = time.perf_counter()
            try:
                async with asyncio.timeout(self.attempt_deadline):
                    response = await self._client.request(
                        method, path, headers=request_headers, **kwargs
                    )
            except httpx.HTTPError as exc:
                error = classify_exception(exc, name=self.name, method=method, path=path)
                self._log(method, path, type(exc).__name__, started, attempt)
                raise error from None
            except TimeoutError:
                self._log(method, path, "AttemptDeadline", started, attempt)
                raise RetryableError(
                    f"{self.name}: no complete answer within {self.attempt_deadline:.0f} s on "
                    f"{method} {redact(path)}: the remote may have received it",
                    uncertain=True,
                ) from None
            self._log(method, path, str(response.status_code), started, attempt)
            if self.budget is not None:
                self.budget.observe(response)
                if response.status_code == 429:
                    pause = parse_retry_after(response.headers.get("Retry-After"))
                    self.budget.pause(pause if pause is not None else DEFAULT_429_PAUSE)
            return response

    def _classify(self, response: httpx.Response) -> ConnectorError:
        error: ConnectorError | None = None
        if self.error_parser is not None:
            try:
                error = self.error_parser(response)
            except Exception as exc:  # a body the parser did not expect: default outcome
                logger.warning(
                    "%s: error parser failed on HTTP %s: %s",
                    self.name,
                    response.status_code,
                    type(exc).__name__,
                )
        if error is None:
            error = classify_response(response, name=self.name)
        if response.status_code == 401 and not isinstance(error, AuthExpiredError):
            # Whatever the body says, a refused token needs re-authorisation, not a data fix.
            error = AuthExpiredError(error.message, status=401)
        if isinstance(error, RateLimitedError) and error.retry_after is None:
            error.retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return error

    def _log(self, method: str, path: str, status: str, started: float, attempt: int) -> None:
        elapsed_ms = round((time.perf_counter() - started) * 1000)
        safe_path = redact(path)
        logger.info(
            "%s %s %s -> %s in %d ms (attempt %d)",
            self.name,
            method,
            safe_path,
            status,
            elapsed_ms,
            attempt,
            extra={
                "connector": self.name,
                "http_method": method,
                "http_path": safe_path,
                "http_status": status,
                "elapsed_ms": elapsed_ms,
                "attempt": attempt,
            },
        )
