"""Default mapping of remote failures onto the five `ConnectorError` outcomes, so every
connector fails the same way and the sync worker's policy is written once. Connectors refine
4xx bodies with their own `error_parser` (QuickBooks `Fault`, Xero `ValidationException`);
what is here needs no knowledge of any remote.

Messages are short and safe to show a partner: status, reason, method and a redacted path,
never a body (bodies may echo tokens or personal data)."""

from __future__ import annotations

import email.utils
import math
from datetime import UTC, datetime

import httpx

from connectors.base import (
    AuthExpiredError,
    ConnectorError,
    NotFoundError,
    RateLimitedError,
    RejectedError,
    RetryableError,
)
from connectors.http.logs import redact

__all__ = [
    "UNSAFE_METHODS",
    "classify_exception",
    "classify_response",
    "parse_retry_after",
]

# Methods whose repetition may create or change something twice.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_RETRYABLE_4XX = frozenset({408, 409, 425})


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP-date); None when
    absent or unreadable. A date in the past gives 0."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


def _where(response: httpx.Response) -> str:
    request = response.request
    return f"{request.method} {redact(request.url.path)}"


def classify_response(response: httpx.Response, *, name: str = "remote") -> ConnectorError:
    """The outcome of a non-2xx response (401 here means: still refused after a refresh)."""
    status = response.status_code
    reason = response.reason_phrase or "error"
    message = f"{name}: HTTP {status} {reason} on {_where(response)}"
    if status == 429:
        return RateLimitedError(
            message, retry_after=parse_retry_after(response.headers.get("Retry-After"))
        )
    if status >= 500 or status in _RETRYABLE_4XX:
        # A gateway timeout on a write may hide a commit behind the gateway.
        uncertain = status == 504 and response.request.method in UNSAFE_METHODS
        return RetryableError(message, status=status, uncertain=uncertain)
    if status == 401:
        return AuthExpiredError(f"{message}: the access token was refused", status=status)
    if status in (404, 410):
        return NotFoundError(message, status=status)
    if status == 403:
        return RejectedError(f"{message}: not permitted", status=status)
    if 300 <= status < 400:
        return RejectedError(f"{message}: unexpected redirect", status=status)
    return RejectedError(message, status=status)


# Failures before the request left: the remote cannot have seen it.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Failures after (part of) the request left: it may have been committed remotely.
_MAYBE_SENT = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
)
# Our own mistakes: repeating them changes nothing.
_OUR_FAULT = (
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
    httpx.InvalidURL,
    httpx.TooManyRedirects,
    httpx.DecodingError,
)


def classify_exception(
    exc: Exception, *, name: str = "remote", method: str = "", path: str = ""
) -> ConnectorError:
    """The outcome of an exception raised while sending (httpx transport errors)."""
    if isinstance(exc, ConnectorError):
        return exc
    where = f" on {method} {redact(path)}" if method else ""
    kind = type(exc).__name__
    if isinstance(exc, _NOT_SENT):
        return RetryableError(f"{name}: {kind}{where}: not sent", status=None, uncertain=False)
    if isinstance(exc, _MAYBE_SENT):
        return RetryableError(
            f"{name}: {kind}{where}: the remote may have received it", status=None, uncertain=True
        )
    if isinstance(exc, _OUR_FAULT):
        return RejectedError(f"{name}: {kind}{where}", status=None)
    # Any other transport failure (proxy, TLS, ...): assume the worst about delivery.
    return RetryableError(f"{name}: {kind}{where}", status=None, uncertain=True)
