"""QuickBooks `Fault` bodies → the five `ConnectorError` outcomes, with field errors and a
message a partner can act on.

QuickBooks answers failures as ``{"Fault": {"Error": [{"Message", "Detail", "code",
"element"}], "type": "ValidationFault"}}`` (HTTP 400, also per element inside `/batch`);
authentication failures come lower-cased (``{"fault": {"error": [...], "type":
"AUTHENTICATION"}}``, HTTP 401). The code decides the outcome, not the HTTP status alone:
Object Not Found (610) is a 400 that means not-found, a stale SyncToken (5010) is a 400 worth
another try after re-reading, throttling is a 429 "ThrottleExceeded".

The connector treats two rejections specially: a duplicate DocNumber (6140) means the invoice
exists already (look it up), a duplicate DisplayName or Item name (6240) means the customer or
item exists (look it up).
"""

from __future__ import annotations

import json
import re
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

__all__ = [
    "DUPLICATE_NAME",
    "DUPLICATE_NUMBER",
    "OBJECT_NOT_FOUND",
    "STALE_OBJECT",
    "error_from_fault",
    "has_code",
    "parse_fault",
]

STALE_OBJECT = "5010"
DUPLICATE_NUMBER = "6140"
DUPLICATE_NAME = "6240"
OBJECT_NOT_FOUND = "610"
_AUTH_CODES = frozenset({"3100", "3200", "003100", "003200", "120"})
_THROTTLE_CODES = frozenset({"3001", "003001", "003002", "3002"})
_SYSTEM_CODES = frozenset({"10000", "500"})
_PERMISSION_CODES = frozenset({"100", "5020"})

# What each known code means for the partner (the remote's own Detail follows it).
_HINTS: Mapping[str, str] = {
    "2010": "a field QuickBooks does not accept (name or value); report it to Rebill support",
    "2020": "a required field is missing",
    "2030": "a field has an invalid Id",
    "2050": "a name or text is too long or contains characters QuickBooks refuses (':' ...)",
    "2500": "it refers to a QuickBooks object that does not exist or is inactive: check the "
    "connection's mapping (`connections check`) and reactivate or re-map it",
    "4000": "QuickBooks could not read our query; report it to Rebill support",
    "4001": "QuickBooks could not read our query; report it to Rebill support",
    "5010": "the object changed in QuickBooks since we read it; it will be re-read and retried",
    "5020": "the connected QuickBooks user lacks permission: reconnect with an admin user",
    "100": "QuickBooks refused access to this company: reconnect with an admin user",
    "610": "the object no longer exists in QuickBooks (deleted or made inactive)",
    "6000": "QuickBooks' business rules refused it",
    "6070": "a line's amount is not its quantity times unit price",
    "6140": "the document number is already used in QuickBooks",
    "6190": "the QuickBooks subscription is not active (trial ended or cancelled)",
    "6210": "the date falls in a period closed in QuickBooks: reopen it or change the closing date",
    "6240": "the name is already used by another customer, vendor, employee or item",
    "6430": "the multicurrency setting does not allow this currency: enable multicurrency "
    "or add the currency in QuickBooks",
}
_REQUIRED = re.compile(r"Required parameter ([\w.\[\]]+) is missing", re.IGNORECASE)


def _ci(obj: Mapping[str, Any], key: str) -> Any:
    """QuickBooks spells the same keys in two cases (Fault/fault, Error/error, Message/...)."""
    if key in obj:
        return obj[key]
    lower = key.lower()
    for k, v in obj.items():
        if isinstance(k, str) and k.lower() == lower:
            return v
    return None


def _field_errors(errors: Sequence[Mapping[str, Any]]) -> list[FieldError]:
    out: list[FieldError] = []
    for err in errors:
        message = str(_ci(err, "Message") or "").strip()
        detail = str(_ci(err, "Detail") or "").strip()
        code = str(_ci(err, "code") or "").strip() or None
        element = str(_ci(err, "element") or "").strip() or None
        if element is None and (m := _REQUIRED.search(detail)):
            element = m.group(1)
        text = detail if detail.lower().startswith(message.lower()) else f"{message}: {detail}"
        out.append(FieldError(message=text.strip(": ") or "error", field=element, code=code))
    return out


def has_code(error: ConnectorError, code: str) -> bool:
    """Whether a rejection carries this QuickBooks error code."""
    return isinstance(error, RejectedError) and any(e.code == code for e in error.errors)


def _errors_of(fault: Mapping[str, Any]) -> list[FieldError]:
    raw = _ci(fault, "Error")
    return _field_errors(
        [e for e in raw if isinstance(e, Mapping)] if isinstance(raw, list) else []
    )


def _summary(what: str, kind: str, errors: Sequence[FieldError]) -> str:
    """The message people read: the object, the hint for the first known code, the first error
    and its field."""
    first = errors[0] if errors else FieldError(message=kind or "unknown error")
    hint = next((_HINTS[e.code] for e in errors if e.code and e.code in _HINTS), None)
    summary = f"QuickBooks refused the {what}"
    if hint:
        summary += f": {hint}"
    summary += f" ({first.message}"
    return summary + (f"; field {first.field})" if first.field else ")")


def _is_auth(status: int | None, kind: str, codes: set[str]) -> bool:
    return status == 401 or kind.startswith("authentication") or bool(codes & _AUTH_CODES)


def _is_throttle(status: int | None, kind: str, codes: set[str]) -> bool:
    return status == 429 or "throttle" in kind or bool(codes & _THROTTLE_CODES)


def _is_system(status: int | None, kind: str, codes: set[str]) -> bool:
    return kind == "systemfault" or bool(codes & _SYSTEM_CODES) or (status or 0) >= 500


def _is_permission(status: int | None, kind: str, codes: set[str]) -> bool:
    return kind == "authorizationfault" or bool(codes & _PERMISSION_CODES) or status == 403


def error_from_fault(
    fault: Mapping[str, Any], *, status: int | None, what: str = "request"
) -> ConnectorError:
    """One Fault object (the value of "Fault") → the outcome; `what` names the object in the
    message ("invoice INV-7"). The checks run in this order: a fault that is both (an auth
    code on a 500) is the first outcome that matches."""
    kind = str(_ci(fault, "type") or "").strip()
    errors = _errors_of(fault)
    codes = {e.code for e in errors if e.code}
    summary = _summary(what, kind, errors)
    lowered = kind.lower()
    if _is_auth(status, lowered, codes):
        return AuthExpiredError(
            f"QuickBooks refused the access token for the {what}: reconnect the company",
            status=status or 401,
        )
    if _is_throttle(status, lowered, codes):
        return RateLimitedError(
            f"QuickBooks throttled the {what} (too many requests for this company)",
            status=status or 429,
        )
    if STALE_OBJECT in codes:
        # 409: a conflict the caller resolves by re-reading; the same body would fail again.
        return RetryableError(summary, status=409)
    if OBJECT_NOT_FOUND in codes or status == 404:
        return NotFoundError(summary, status=status or 404)
    if _is_system(status, lowered, codes):
        return RetryableError(
            f"QuickBooks had an internal error on the {what}; it will be retried",
            status=status or 500,
        )
    if _is_permission(status, lowered, codes):
        return RejectedError(summary, errors=errors, status=status or 403)
    return RejectedError(summary, errors=errors, status=status or 400)


def parse_fault(response: httpx.Response, *, what: str | None = None) -> ConnectorError | None:
    """The `HttpClient` error parser: a Fault body → its outcome; None for anything else (an
    HTML gateway page), which the client classifies by status."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    if not isinstance(body, Mapping):
        return None
    fault = _ci(body, "Fault")
    if not isinstance(fault, Mapping):
        return None
    if what is None:
        what = _what(response)
    return error_from_fault(fault, status=response.status_code, what=what)


def _what(response: httpx.Response) -> str:
    """ "invoice", "batch", "query"... from the request path, for the message."""
    try:
        path = response.request.url.path
    except RuntimeError:  # a response built without its request (tests)
        return "request"
    parts = [p for p in path.split("/") if p]
    entity = parts[3] if len(parts) > 3 and parts[:2] == ["v3", "company"] else "request"
    return f"{entity} request" if entity in {"query", "batch"} else entity
