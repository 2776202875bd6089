"""FreshBooks webhook callbacks, as pure functions (the HTTP route calls these).

How FreshBooks calls us: it POSTs a form (``application/x-www-form-urlencoded``) such as
``name=invoice.update&object_id=1234567&account_id=6BApk&business_id=6543&identity_id=1234
&user_id=1``.

- Registration: after ``POST /events/account/{account_id}/events/callbacks`` with
  ``{"callback": {"event": "invoice.update", "uri": ".../webhooks/freshbooks"}}``, FreshBooks
  posts ``name=callback.verify`` with ``object_id`` = the callback id and a ``verifier``. The
  callback stays inactive until that verifier is sent back with ``PUT /events/account/
  {account_id}/events/callbacks/{callback_id}`` and ``{"callback": {"verifier": "..."}}``
  (`verification_request` builds it). The verifier is then the callback's secret: store it.
- Every later event carries ``X-FreshBooks-Hmac-SHA256``: the base64 HMAC-SHA256, keyed with
  the verifier, of the form fields serialised as a JSON object in the order sent (FreshBooks'
  own description: ``json.dumps`` of the form data). `verify_signature` checks that, and the
  plain raw body as well, in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from config.text import printable, text_problem

__all__ = [
    "SIGNATURE_HEADER",
    "VERIFY_EVENT",
    "VerificationRequest",
    "WebhookError",
    "WebhookEvent",
    "parse_event",
    "sign",
    "verification_request",
    "verify_signature",
]

SIGNATURE_HEADER = "X-FreshBooks-Hmac-SHA256"
VERIFY_EVENT = "callback.verify"
_MAX_BODY = 64 * 1024


class WebhookError(ValueError):
    """A callback we cannot accept; `field` names what is wrong."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    name: str  # "invoice.update", "payment.create", "callback.verify", ...
    object_id: str  # the changed object's id (the callback id for callback.verify)
    account_id: str
    fields: Mapping[str, str] = field(default_factory=dict)  # every form field, in order

    @property
    def kind(self) -> str:
        """The object kind ("invoice", "payment", "client", ...): what read-back fetches."""
        return self.name.split(".", 1)[0]

    @property
    def is_verification(self) -> bool:
        return self.name == VERIFY_EVENT

    @property
    def verifier(self) -> str | None:
        return self.fields.get("verifier") or None


@dataclass(frozen=True, slots=True)
class VerificationRequest:
    method: str
    path: str
    body: Mapping[str, object]


def parse_event(body: bytes | str) -> WebhookEvent:
    """The form FreshBooks posted; `WebhookError` naming the missing or bad field."""
    raw = body if isinstance(body, bytes) else body.encode()
    if len(raw) > _MAX_BODY:
        raise WebhookError("body", f"larger than {_MAX_BODY} bytes")
    try:
        text = raw.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookError("body", "not a URL-encoded form") from exc
    fields = dict(pairs)
    for key, value in fields.items():
        problem = text_problem(key) or text_problem(value)
        if problem is not None:
            raise WebhookError(printable(key), problem)
    for required in ("name", "object_id", "account_id"):
        if not fields.get(required):
            raise WebhookError(required, "missing from the callback")
    name = fields["name"]
    if "." not in name:
        raise WebhookError("name", f"{name!r} is not an event name like 'invoice.update'")
    if name == VERIFY_EVENT and not fields.get("verifier"):
        raise WebhookError("verifier", "missing from the verification callback")
    return WebhookEvent(
        name=name, object_id=fields["object_id"], account_id=fields["account_id"], fields=fields
    )


def _digest(verifier: str, message: bytes) -> str:
    mac = hmac.new(verifier.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def sign(verifier: str, fields: Mapping[str, str]) -> str:
    """What FreshBooks sends in `SIGNATURE_HEADER` for these form fields."""
    return _digest(verifier, json.dumps({k: str(v) for k, v in fields.items()}).encode())


def verify_signature(verifier: str, body: bytes, signature: str | None) -> bool:
    """Whether `signature` is FreshBooks' for this body under the callback's verifier."""
    if not verifier or not signature:
        return False
    try:
        fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        return False
    given = signature.strip()
    candidates = (sign(verifier, fields), _digest(verifier, body))
    # Both compared, always: the time taken does not say which form matched.
    matches = [hmac.compare_digest(given, candidate) for candidate in candidates]
    return any(matches)


def verification_request(event: WebhookEvent) -> VerificationRequest:
    """The request that activates the callback FreshBooks asked us to verify."""
    if not event.is_verification or event.verifier is None:
        raise WebhookError("name", f"{event.name!r} is not a callback verification")
    return VerificationRequest(
        method="PUT",
        path=f"/events/account/{event.account_id}/events/callbacks/{event.object_id}",
        body={"callback": {"verifier": event.verifier}},
    )
