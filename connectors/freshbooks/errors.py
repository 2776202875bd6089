"""Every shape of FreshBooks failure → one of the five `ConnectorError` outcomes, with a
message a partner can act on and FreshBooks' complaints as `FieldError`s.

Shapes (FreshBooks Accounting API):
- 4xx (usually 422 or 400) ``{"response": {"errors": [{"errno": 2001, "field": "customerid",
  "message": "...", "object": "invoice", "value": "..."}]}}`` → `RejectedError`, one
  `FieldError` per entry with field ``invoice.customerid`` and code ``errno``. The same
  envelope inside a 200 is treated the same way (`envelope_error`).
- 404, or errno 1012 ("not found") → `NotFoundError`.
- 401 ``{"error": "invalid_token", "error_description": "..."}`` (still refused after a
  refresh) → `AuthExpiredError`; 403 (the connected user lost access to the business) too.
- 429 → `RateLimitedError` with Retry-After when sent.
- 5xx → `RetryableError` (uncertain for a 502/504 on a write: the request may have landed).
Bodies are never copied whole into messages: only FreshBooks' own messages and field names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from connectors.base import (
    AuthExpiredError,
    ConnectorError,
    FieldError,
    NotFoundError,
    RateLimitedError,
    RejectedError,
    RetryableError,
)
from connectors.http import parse_retry_after

__all__ = ["HINTS", "NOT_FOUND_ERRNO", "envelope_error", "field_errors", "parse_error"]

NOT_FOUND_ERRNO = 1012
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_RETRYABLE_4XX = frozenset({408, 409, 425})

# Substrings of FreshBooks' messages or fields → what the partner should change.
HINTS: tuple[tuple[str, str], ...] = (
    ("customerid", "the client is missing in FreshBooks; sync the client again"),
    ("clientid", "the client is missing in FreshBooks; sync the client again"),
    ("invoice_number", "an invoice with this number already exists in FreshBooks"),
    ("currency", "enable this currency in FreshBooks (Settings → Currencies)"),
    ("email", "correct the client's e-mail address"),
    ("item", "check item_names in [partner.connections.freshbooks]"),
)


def _body(response: httpx.Response) -> Any:
    try:
        return response.json() if response.content else None
    except ValueError:
        return None


def field_errors(errors: Sequence[Any]) -> list[FieldError]:
    """FreshBooks' ``errors`` entries as `FieldError`s (``invoice.lines`` style fields)."""
    found: list[FieldError] = []
    for entry in errors:
        if not isinstance(entry, Mapping):
            continue
        message = str(entry.get("message") or "").strip()
        if not message:
            continue
        field = entry.get("field")
        obj = entry.get("object")
        path = ".".join(str(p) for p in (obj, field) if p) or None
        errno = entry.get("errno")
        found.append(FieldError(message=message, field=path, code=str(errno) if errno else None))
    return found


def _hint(errors: Sequence[FieldError]) -> str | None:
    for error in errors:
        text = f"{error.field or ''} {error.message}".lower()
        for needle, hint in HINTS:
            if needle in text:
                return hint
    return None


def _compose(what: str, errors: Sequence[FieldError]) -> str:
    parts = list(
        dict.fromkeys(
            f"{error.message} (field {error.field})" if error.field else error.message
            for error in errors
        )
    )
    text = f"FreshBooks rejected {what}: {'; '.join(parts) or 'no reason given'}"
    hint = _hint(errors)
    return f"{text}; {hint}" if hint else text


def _errors_of(body: Any) -> list[Any] | None:
    if not isinstance(body, Mapping):
        return None
    response = body.get("response")
    if isinstance(response, Mapping) and isinstance(response.get("errors"), list):
        return list(response["errors"])
    if isinstance(body.get("errors"), list):
        return list(body["errors"])
    return None


def envelope_error(body: Any, *, what: str, status: int | None = 200) -> ConnectorError | None:
    """The error an answer's envelope carries, if any (FreshBooks sometimes says 200)."""
    errors = _errors_of(body)
    if not errors:
        return None
    parsed = field_errors(errors)
    codes = {
        entry.get("errno") for entry in errors if isinstance(entry, Mapping) and entry.get("errno")
    }
    if NOT_FOUND_ERRNO in codes or str(NOT_FOUND_ERRNO) in codes:
        return NotFoundError(f"FreshBooks has no such record ({what})", status=status)
    return RejectedError(_compose(what, parsed), errors=tuple(parsed), status=status)


def _what(response: httpx.Response) -> str:
    segments = [s for s in response.request.url.path.split("/") if s]
    nouns = {
        "invoices": "the invoice",
        "clients": "the client",
        "items": "the item",
        "payments": "the payment",
        "credit_notes": "the credit note",
        "callbacks": "the webhook callback",
    }
    for segment in reversed(segments):
        if segment in nouns:
            return nouns[segment]
    return "the request"


def parse_error(response: httpx.Response) -> ConnectorError | None:
    """The `error_parser` given to `HttpClient`; None leaves the default classification."""
    status = response.status_code
    body = _body(response)
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        wait = f"; retry in {retry_after:.0f} s" if retry_after is not None else ""
        return RateLimitedError(
            f"FreshBooks: rate limit reached for this account{wait}", retry_after=retry_after
        )
    if status == 401:
        detail = ""
        if isinstance(body, Mapping):
            detail = str(body.get("error_description") or body.get("error") or "")
        return AuthExpiredError(
            f"FreshBooks refused the access token ({detail or 'unauthorized'}); "
            "reconnect FreshBooks if this persists",
            status=401,
        )
    if status == 403:
        said = field_errors(_errors_of(body) or [])
        detail = f" ({said[0].message})" if said else ""
        return AuthExpiredError(
            f"FreshBooks refused access to the business{detail}: the connected user may have "
            "lost access, or the app lacks a scope; reconnect FreshBooks",
            status=403,
        )
    if status in (404, 410):
        return NotFoundError(
            f"FreshBooks has no such record ({response.request.method} "
            f"{response.request.url.path})",
            status=status,
        )
    if status >= 500:
        uncertain = status in (502, 504) and response.request.method in _UNSAFE
        return RetryableError(
            f"FreshBooks is unavailable (HTTP {status}); will retry",
            status=status,
            uncertain=uncertain,
        )
    if status in _RETRYABLE_4XX:
        return None  # the client's default: retryable (timeout, conflict, too early)
    if 400 <= status < 500:
        error = envelope_error(body, what=_what(response), status=status)
        if error is not None:
            return error
        return RejectedError(
            f"FreshBooks rejected {_what(response)} (HTTP {status} {response.reason_phrase})",
            errors=(FieldError(message=response.reason_phrase or f"HTTP {status}"),),
            status=status,
        )
    return None
