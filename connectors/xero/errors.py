"""Every shape of Xero failure → one of the five `ConnectorError` outcomes, with a message a
partner can act on and the remote's complaints as `FieldError`s.

Shapes (Xero Accounting API):
- 400 ``{"ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation exception
  occurred", "Elements": [{..., "ValidationErrors": [{"Message": "..."}], "LineItems": [{...,
  "ValidationErrors": [...]}]}]}`` → `RejectedError`, one `FieldError` per message.
- 400 with another ``Type`` (``PostDataInvalidException``, ``QueryParseException``, ...) →
  `RejectedError` with Xero's ``Message``.
- 200 with ``summarizeErrors=false``: elements with ``"StatusAttributeString": "ERROR"`` →
  `element_error` (the connector calls it per element).
- 401 ``{"Title": "Unauthorized", "Status": 401, "Detail": "TokenExpired: token expired at
  ..."}`` (still refused after a refresh) → `AuthExpiredError`.
- 403 ``{"Title": "Forbidden", "Detail": "AuthorizationUnsuccessful"}`` (tenant disconnected,
  wrong tenant id, missing scope) → `AuthExpiredError`: only the partner reconnecting fixes it.
- 404 (often a plain-text body) → `NotFoundError`.
- 429 with ``Retry-After`` and ``X-Rate-Limit-Problem: minute|day|concurrent|appminute`` →
  `RateLimitedError` saying which limit.
- 5xx (``Organisation is offline``, 503 maintenance) → `RetryableError`.
Bodies are never copied whole into messages: only Xero's own messages and detail words.
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
from connectors.xero.payloads import loads

__all__ = ["HINTS", "element_error", "field_errors", "parse_error"]

_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Substrings of Xero's validation messages → what the partner should change.
HINTS: tuple[tuple[str, str], ...] = (
    ("account code", "check account_codes / default_account_code in [partner.connections.xero]"),
    ("taxtype", "check tax_type / no_tax_type in [partner.connections.xero]"),
    ("tax type", "check tax_type / no_tax_type in [partner.connections.xero]"),
    ("tax rate", "check tax_type / no_tax_type in [partner.connections.xero]"),
    ("tracking", "check tracking in [partner.connections.xero]"),
    ("item code", "check item_codes in [partner.connections.xero]"),
    ("must be unique", "a record with this number or name already exists in Xero"),
    ("already assigned", "a record with this number or name already exists in Xero"),
    ("currency", "enable this currency (multi-currency) in the Xero organisation"),
    ("lock date", "the date is before the organisation's lock date in Xero"),
)

_LIMITS = {
    "minute": "the per-minute limit (60 calls) for this organisation",
    "day": "the daily limit (5,000 calls) for this organisation",
    "concurrent": "the limit of 5 calls at once for this organisation",
    "appminute": "Xero's app-wide per-minute limit",
}


def _hint(message: str) -> str | None:
    lowered = message.lower()
    return next((hint for needle, hint in HINTS if needle in lowered), None)


def _body(response: httpx.Response) -> Any:
    try:
        return loads(response.content) if response.content else None
    except ValueError:
        return None


def field_errors(element: Mapping[str, Any], path: str) -> list[FieldError]:
    """The element's own ValidationErrors, then its lines' (``Invoices[2].LineItems[0]``)."""
    errors = [
        FieldError(message=str(item.get("Message", "")).strip(), field=path, code="Validation")
        for item in element.get("ValidationErrors") or ()
        if isinstance(item, Mapping)
    ]
    for index, line in enumerate(element.get("LineItems") or ()):
        if not isinstance(line, Mapping):
            continue
        for item in line.get("ValidationErrors") or ():
            if isinstance(item, Mapping):
                errors.append(
                    FieldError(
                        message=str(item.get("Message", "")).strip(),
                        field=f"{path}.LineItems[{index}]",
                        code="Validation",
                    )
                )
    return [error for error in errors if error.message]


def _compose(what: str, errors: Sequence[FieldError], fallback: str) -> str:
    messages = list(dict.fromkeys(error.message for error in errors)) or [fallback]
    text = f"Xero rejected {what}: {'; '.join(messages)}"
    hints = list(dict.fromkeys(h for h in (_hint(m) for m in messages) if h is not None))
    if hints:
        text += f" ({'; '.join(hints)})"
    return text


def element_error(
    element: Mapping[str, Any], *, what: str, path: str, status: int | None = 200
) -> RejectedError:
    """One rejected element of a ``summarizeErrors=false`` answer."""
    errors = field_errors(element, path)
    return RejectedError(
        _compose(what, errors, "no reason given"), errors=tuple(errors), status=status
    )


def _what(response: httpx.Response) -> str:
    return f"{response.request.method} {response.request.url.path}"


def parse_error(response: httpx.Response) -> ConnectorError | None:
    """The `error_parser` given to `HttpClient`: a precise outcome for Xero's bodies, None
    when the client's default classification says it as well."""
    status = response.status_code
    body = _body(response)
    data: Mapping[str, Any] = body if isinstance(body, Mapping) else {}
    if status == 429:
        problem = response.headers.get("X-Rate-Limit-Problem", "").strip().lower()
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        limit = _LIMITS.get(problem, "a Xero rate limit")
        wait = f"; retry in {retry_after:.0f} s" if retry_after is not None else ""
        return RateLimitedError(f"Xero: {limit} was reached{wait}", retry_after=retry_after)
    if status == 401:
        detail = str(data.get("Detail") or "the access token was refused")
        reason = detail.split(":", 1)[0]
        return AuthExpiredError(
            f"Xero refused the access token ({reason}); reconnect Xero if this persists",
            status=401,
        )
    if status == 403:
        detail = str(data.get("Detail") or data.get("Title") or "Forbidden")
        return AuthExpiredError(
            f"Xero refused access to the organisation ({detail}): it may have disconnected "
            "Rebill, or the connected user lost access; reconnect Xero",
            status=403,
        )
    if status in (404, 410):
        return NotFoundError(f"Xero has no such record ({_what(response)})", status=status)
    if status >= 500:
        detail = str(data.get("Message") or data.get("Detail") or response.reason_phrase)
        uncertain = status == 504 and response.request.method in _UNSAFE
        return RetryableError(
            f"Xero is unavailable (HTTP {status}: {detail}); will retry",
            status=status,
            uncertain=uncertain,
        )
    if 400 <= status < 500:
        return _rejection(response, data)
    return None


def _rejection(response: httpx.Response, data: Mapping[str, Any]) -> RejectedError:
    kind = str(data.get("Type") or "")
    message = str(data.get("Message") or data.get("Detail") or response.reason_phrase)
    errors: list[FieldError] = []
    elements = [e for e in data.get("Elements") or () if isinstance(e, Mapping)]
    for index, element in enumerate(elements):
        errors.extend(field_errors(element, _element_path(response, index)))
    if not errors:
        errors.append(FieldError(message=message, field=None, code=kind or None))
    what = _subject(response, elements[0] if len(elements) == 1 else None)
    return RejectedError(
        _compose(what, errors, message), errors=tuple(errors), status=response.status_code
    )


_KINDS = {
    "invoices": ("Invoices", "the invoice", "InvoiceNumber"),
    "contacts": ("Contacts", "the contact", "Name"),
    "items": ("Items", "the item", "Code"),
    "creditnotes": ("CreditNotes", "the credit note", "CreditNoteNumber"),
}


def _kind(response: httpx.Response) -> tuple[str, str, str] | None:
    segments = [s for s in response.request.url.path.lower().split("/") if s]
    for segment in reversed(segments):
        if segment in _KINDS:
            return _KINDS[segment]
    return None


def _subject(response: httpx.Response, element: Mapping[str, Any] | None) -> str:
    """ "the invoice INV-7", "the contact Acme Ltd", "the request"."""
    kind = _kind(response)
    if kind is None:
        return "the request"
    if response.request.url.path.lower().endswith("/allocations"):
        return "the credit note allocation"
    _, noun, key = kind
    label = element.get(key) if element is not None else None
    return f"{noun} {label}" if label else noun


def _element_path(response: httpx.Response, index: int) -> str:
    kind = _kind(response)
    return f"{kind[0] if kind else 'Elements'}[{index}]"
