"""Shared plumbing of the stateful fakes of remote APIs (QuickBooks, Xero, FreshBooks, ...).

A fake is a `FakeRemote` subclass that implements `dispatch(request) -> httpx.Response` with
the remote's real body shapes. This base does what every remote has in common, in the order a
real service would: log the request, apply an injected failure (`fail_next`), check the bearer
token (401 with `auth_error_response`), check the rate limits (429 with Retry-After from
`rate_limit_response`), then dispatch; and replays idempotent requests (`replay` / `remember`).

Use it as a respx side effect (``respx_mock.route(host=...).mock(side_effect=fake.handle)``),
through `transport.FakeTransport` (an `httpx.AsyncBaseTransport`, which also measures
concurrency and can add latency), or on loopback through an ASGI adapter.

Time is `fake.now()`: the monotonic clock plus whatever `advance(seconds)` added, so tests can
step over a rate-limit window without sleeping.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

__all__ = [
    "ContractCheck",
    "ContractViolationError",
    "FailureKind",
    "FakeRemote",
    "LoggedRequest",
    "RateLimit",
    "json_response",
]

FailureKind = Literal["500", "timeout_after_commit", "reset", "429", "401"]
#: A check against the provider's own description (tests plug these in): called with
#: (request, None) for every request the fake receives, then with (request, answer) for every
#: answer the fake gives from its own rules; it answers the violations it found, in words.
ContractCheck = Callable[["httpx.Request", "httpx.Response | None"], list[str]]


class ContractViolationError(AssertionError):
    """A request the real remote would refuse, or an answer it would never give."""


FAILURE_KINDS: frozenset[str] = frozenset({"500", "timeout_after_commit", "reset", "429", "401"})


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    """A JSON response the way remotes send them (content type set, UTF-8 body)."""
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


@dataclass
class LoggedRequest:
    """One request as the fake saw it (after any injected failure was decided)."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    body: Any  # parsed JSON, or the raw text, or None
    status: int | None = None  # what the fake answered; None when it raised (reset/timeout)
    failure: str | None = None  # the injected failure applied to this request, if any

    @property
    def is_write(self) -> bool:
        return self.method in {"POST", "PUT", "PATCH", "DELETE"}


@dataclass
class _Failure:
    kind: str
    remaining: int
    path_contains: str | None
    method: str | None = None


@dataclass
class RateLimit:
    """A sliding-window limit: at most `per_window` requests per `window` seconds, and at
    most `concurrent` in flight (only measurable through `FakeTransport`)."""

    per_window: int | None = None
    window: float = 60.0
    concurrent: int | None = None
    stamps: deque[float] = field(default_factory=deque)
    in_flight: int = 0


class FakeRemote:
    """Base class of the fakes; subclasses implement `dispatch` and the error body shapes."""

    #: Requests to paths containing one of these need no bearer token (OAuth endpoints).
    public_paths: tuple[str, ...] = ()
    #: The remote's production URL; `tests/fakes/server.py` rebuilds request URLs on it.
    default_base_url: str = "https://fake.test"

    def __init__(self, *, require_auth: bool = True, base_url: str | None = None) -> None:
        self.base_url = base_url or self.default_base_url
        self.requests: list[LoggedRequest] = []
        self.require_auth = require_auth
        self._lock = threading.RLock()
        self._failures: list[_Failure] = []
        self._skew = 0.0
        self._token_counter = itertools.count(1)
        self.valid_tokens: set[str] = set()
        self.expired_tokens: set[str] = set()
        self.initial_token = self.issue_token()
        self.limits: dict[str, RateLimit] = {}
        self._replays: dict[str, tuple[str, int, dict[str, str], bytes]] = {}
        self.checks: list[ContractCheck] = []
        self.violations: list[str] = []
        self.strict_contract = True  # raise `ContractViolationError` at the first violation

    # ---- time -------------------------------------------------------------------------------
    def now(self) -> float:
        return time.monotonic() + self._skew

    def advance(self, seconds: float) -> None:
        """Move the fake's clock forward (rate-limit windows, token lifetimes)."""
        self._skew += seconds

    # ---- tokens -----------------------------------------------------------------------------
    def issue_token(self) -> str:
        """A new valid access token (what a refresh at the remote's token endpoint gives)."""
        token = f"fake-access-{next(self._token_counter)}"
        self.valid_tokens.add(token)
        return token

    def expire_tokens(self) -> None:
        """Every access token issued so far is now expired: the next call answers 401."""
        self.expired_tokens |= self.valid_tokens
        self.valid_tokens.clear()

    def token_of(self, request: httpx.Request) -> str | None:
        header: str = request.headers.get("Authorization", "")
        if not header.lower().startswith("bearer "):
            return None
        return header[7:].strip()

    # ---- failure injection ------------------------------------------------------------------
    def fail_next(
        self,
        kind: FailureKind | str,
        count: int = 1,
        path_contains: str | None = None,
        *,
        method: str | None = None,
    ) -> None:
        """The next `count` requests (whose URL path contains `path_contains`, compared
        without case, and whose method is `method`, when given) fail: "500" answers a server
        error; "429" a rate-limit answer with Retry-After; "401" an auth failure; "reset"
        raises `httpx.RemoteProtocolError` before the fake applies the request;
        "timeout_after_commit" applies the request, then raises `httpx.ReadTimeout` (the
        uncertain outcome: the remote has it, the client does not know)."""
        if kind not in FAILURE_KINDS:
            raise ValueError(f"kind: unknown failure {kind!r}; one of {sorted(FAILURE_KINDS)}")
        if count < 1:
            raise ValueError("count: must be at least 1")
        with self._lock:
            self._failures.append(
                _Failure(str(kind), count, path_contains, method.upper() if method else None)
            )

    def _take_failure(self, request: httpx.Request) -> str | None:
        path = request.url.path.lower()
        for failure in self._failures:
            if failure.path_contains is not None and failure.path_contains.lower() not in path:
                continue
            if failure.method is not None and failure.method != request.method:
                continue
            failure.remaining -= 1
            if failure.remaining == 0:
                self._failures.remove(failure)
            return failure.kind
        return None

    @property
    def pending_failures(self) -> int:
        return sum(f.remaining for f in self._failures)

    # ---- rate limits ------------------------------------------------------------------------
    def set_rate_limit(
        self,
        per_minute: int | None = None,
        *,
        concurrent: int | None = None,
        bucket: str = "default",
        window: float = 60.0,
    ) -> None:
        """Limit requests counted against `bucket` (see `buckets_of`); None lifts a limit."""
        with self._lock:
            limit = self.limits.setdefault(bucket, RateLimit())
            limit.per_window = per_minute
            limit.concurrent = concurrent
            limit.window = window

    def buckets_of(self, request: httpx.Request) -> Iterable[str]:
        """The rate-limit buckets a request counts against; subclasses add per-tenant or
        per-endpoint buckets (QuickBooks' batch limit)."""
        return ("default",)

    def _check_rate(self, request: httpx.Request) -> float | None:
        """Seconds to wait when a bucket is exhausted, else None (and the request counts)."""
        now = self.now()
        limits = [self.limits[b] for b in self.buckets_of(request) if b in self.limits]
        for limit in limits:
            while limit.stamps and limit.stamps[0] <= now - limit.window:
                limit.stamps.popleft()
            if limit.per_window is not None and len(limit.stamps) >= limit.per_window:
                return max(limit.stamps[0] + limit.window - now, 0.001)
            if limit.concurrent is not None and limit.in_flight > limit.concurrent:
                return 1.0
        for limit in limits:
            limit.stamps.append(now)
        return None

    def enter(self, request: httpx.Request) -> None:
        """Count a request in flight (called by `FakeTransport` around `handle`)."""
        with self._lock:
            for bucket in self.buckets_of(request):
                self.limits.setdefault(bucket, RateLimit()).in_flight += 1

    def leave(self, request: httpx.Request) -> None:
        with self._lock:
            for bucket in self.buckets_of(request):
                self.limits[bucket].in_flight -= 1

    # ---- idempotent replay ------------------------------------------------------------------
    @staticmethod
    def fingerprint(request: httpx.Request) -> str:
        return hashlib.sha256(
            request.method.encode() + request.url.path.encode() + request.content
        ).hexdigest()

    def replay(self, key: str, request: httpx.Request) -> httpx.Response | None:
        """The stored response of an earlier request with this idempotency key, or None.
        A different request under the same key gets the first answer anyway (as QuickBooks
        does); subclasses that must refuse it compare `fingerprint` themselves."""
        stored = self._replays.get(key)
        if stored is None:
            return None
        _, status, headers, content = stored
        return httpx.Response(status, headers=headers, content=content)

    def remember(self, key: str, request: httpx.Request, response: httpx.Response) -> None:
        if 200 <= response.status_code < 300:
            self._replays[key] = (
                self.fingerprint(request),
                response.status_code,
                dict(response.headers),
                response.content,
            )

    # ---- error shapes (override with the remote's) ------------------------------------------
    def auth_error_response(self, request: httpx.Request) -> httpx.Response:
        return json_response(401, {"error": "invalid_token"})

    def rate_limit_response(self, request: httpx.Request, retry_after: float) -> httpx.Response:
        return json_response(
            429, {"error": "rate limited"}, {"Retry-After": str(max(1, round(retry_after)))}
        )

    def server_error_response(self, request: httpx.Request) -> httpx.Response:
        return json_response(500, {"error": "internal error"})

    # ---- the entry point --------------------------------------------------------------------
    def dispatch(self, request: httpx.Request) -> httpx.Response:
        raise NotImplementedError

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request as the remote would (respx side effect signature)."""
        with self._lock:
            entry = self._log(request)
            path = request.url.path
            kind = self._take_failure(request)
            entry.failure = kind
            self._check(request, None)
            if kind == "reset":
                raise httpx.RemoteProtocolError("connection reset by fake", request=request)
            if kind == "500":
                return self._answer(entry, self.server_error_response(request))
            if kind == "429":
                return self._answer(entry, self.rate_limit_response(request, 1.0))
            if kind == "401":
                return self._answer(entry, self.auth_error_response(request))
            public = any(p in path for p in self.public_paths)
            if self.require_auth and not public and self.token_of(request) not in self.valid_tokens:
                return self._answer(entry, self.auth_error_response(request))
            wait = None if public else self._check_rate(request)
            if wait is not None:
                return self._answer(entry, self.rate_limit_response(request, wait))
            response = self.dispatch(request)
            self._check(request, response)
            self._answer(entry, response)
            if kind == "timeout_after_commit":
                entry.status = None
                raise httpx.ReadTimeout("timed out after the fake committed", request=request)
            return response

    def _check(self, request: httpx.Request, response: httpx.Response | None) -> None:
        found: list[str] = []
        for check in self.checks:
            found += check(request, response)
        if found:
            self.violations += found
            if self.strict_contract:
                raise ContractViolationError("; ".join(found))

    def _log(self, request: httpx.Request) -> LoggedRequest:
        content = request.content
        body: Any = None
        if content:
            try:
                body = json.loads(content)
            except ValueError:
                body = content.decode(errors="replace")
        entry = LoggedRequest(
            method=request.method,
            path=request.url.path,
            params=dict(request.url.params),
            headers=dict(request.headers),
            body=body,
        )
        self.requests.append(entry)
        return entry

    @staticmethod
    def _answer(entry: LoggedRequest, response: httpx.Response) -> httpx.Response:
        entry.status = response.status_code
        return response

    # ---- inspection -------------------------------------------------------------------------
    def requests_to(self, path_contains: str, method: str | None = None) -> list[LoggedRequest]:
        return [
            r
            for r in self.requests
            if path_contains in r.path and (method is None or r.method == method)
        ]

    def invoices_by_number(self, number: str) -> list[dict[str, Any]]:
        """Every stored invoice (voided ones included) with this number, in remote shape."""
        raise NotImplementedError
