"""Emitting events and managing endpoints; the caller's unit of work commits.

`emit` runs in the transaction of the change it reports (an invoice issued, a payment
recorded, ...): the event and its deliveries exist if and only if that change commits, and
the worker (`billing.webhooks.delivery`) sends them later. An event is stored only when an
enabled endpoint of the partner subscribes to its type, so a partner without webhooks pays one
small read per event and nothing else.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlmodel import Session

from config.db_types import utcnow, uuid7
from workqueue import repository as queue

from . import repository as repo
from .events import PAYLOAD_VERSION, EventType
from .models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from .network import check_url
from .queue import WEBHOOK_QUEUE

__all__ = [
    "ROTATION_WINDOW",
    "EndpointError",
    "SecretBox",
    "create_endpoint",
    "emit",
    "emit_many",
    "event_body",
    "listening",
    "new_secret",
    "replay",
    "rotate_secret",
    "signing_secrets",
    "update_endpoint",
]

ROTATION_WINDOW = timedelta(hours=24)
"""How long the previous secret still signs after a rotation (receivers switch meanwhile)."""
_SECRET_BYTES = 32
"""Standard Webhooks: a random secret of at least 24 bytes (192 bits)."""


class SecretBox(Protocol):
    """Encrypts secrets at rest (the connections' `TokenCipher`, passed by the caller, so
    that key rotation re-encrypts `*_enc` columns of this table like every other)."""

    def encrypt(self, token: str) -> str: ...

    def decrypt(self, stored: str) -> str: ...


class EndpointError(ValueError):
    """A refused endpoint field: `field` names it (the API answers 422, the CLI exits 2)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def new_secret() -> str:
    """`whsec_` + base64 of 32 random bytes (the spec's serialisation of a symmetric key)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode("ascii")


def event_body(event_type: EventType, data: dict[str, Any], at: datetime) -> str:
    """The exact bytes (as text) that are signed and sent: minified JSON, as the spec advises."""
    envelope = {
        "type": event_type.value,
        "timestamp": at.isoformat().replace("+00:00", "Z"),
        "version": PAYLOAD_VERSION,
        "data": data,
    }
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)


def listening(session: Session, partner_id: str, event_type: EventType) -> bool:
    """Whether an enabled endpoint of the partner subscribes to `event_type`: a notice with no
    other channel (a margin alert when nobody gets the e-mail) is still worth recording."""
    return any(
        event_type.value in e.event_types
        for e in repo.endpoints(session, partner_id, enabled_only=True)
    )


def emit(
    session: Session,
    partner_id: str,
    event_type: EventType,
    data: dict[str, Any],
    *,
    key: str,
    now: datetime | None = None,
) -> WebhookEvent | None:
    """Queue one event for every enabled endpoint that subscribes to its type. `key` names
    the change (`invoice.issued:42`): emitting the same key again adds nothing. None when no
    endpoint listens."""
    found = emit_many(session, partner_id, event_type, [(key, data)], now=now)
    return found[0] if found else None


def emit_many(
    session: Session,
    partner_id: str,
    event_type: EventType,
    items: Iterable[tuple[str, dict[str, Any]]],
    *,
    now: datetime | None = None,
) -> list[WebhookEvent]:
    """`emit` for many changes of one type (a bulk issue): the endpoints are read once."""
    listening = [
        e
        for e in repo.endpoints(session, partner_id, enabled_only=True)
        if event_type.value in e.event_types and e.id is not None
    ]
    if not listening:
        return []
    moment = now or utcnow()
    events: list[WebhookEvent] = []
    for key, data in items:
        event = _event(session, partner_id, event_type, key, data, moment)
        assert event.id is not None
        for endpoint in listening:
            assert endpoint.id is not None
            queue.enqueue(
                session,
                WebhookDelivery(
                    partner_id=partner_id,
                    event_id=event.id,
                    endpoint_id=endpoint.id,
                    status=DeliveryStatus.PENDING,
                    next_attempt_at=moment,
                    created_at=moment,
                    updated_at=moment,
                ),
            )
        events.append(event)
    return events


def _event(
    session: Session,
    partner_id: str,
    event_type: EventType,
    key: str,
    data: dict[str, Any],
    moment: datetime,
) -> WebhookEvent:
    event_key = f"{event_type.value}:{key}"[:300]
    existing = repo.event_by_key(session, partner_id, event_key)
    if existing is not None:
        return existing
    event = WebhookEvent(
        partner_id=partner_id,
        event_key=event_key,
        message_id=f"msg_{uuid7().hex}",
        type=event_type.value,
        version=PAYLOAD_VERSION,
        body=event_body(event_type, data, moment),
        data=data,
        created_at=moment,
    )
    if queue.enqueue(session, event):
        return event
    found = repo.event_by_key(session, partner_id, event_key)
    assert found is not None
    return found


def _event_types(values: Sequence[str]) -> list[str]:
    known = {t.value for t in EventType}
    if not values:
        raise EndpointError("event_types", "name at least one event type")
    unknown = [v for v in values if v not in known]
    if unknown:
        raise EndpointError(
            "event_types", f"unknown {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    return list(dict.fromkeys(values))


def _url(url: str, *, allow_private: bool) -> str:
    problem = check_url(url, allow_private=allow_private)
    if problem is not None:
        raise EndpointError("url", problem)
    return url


def create_endpoint(
    session: Session,
    box: SecretBox,
    partner_id: str,
    *,
    url: str,
    event_types: Sequence[str],
    description: str = "",
    allow_private: bool = False,
) -> tuple[WebhookEndpoint, str]:
    """The new endpoint and its secret, in clear (shown once; only its encryption is stored)."""
    secret = new_secret()
    endpoint = WebhookEndpoint(
        partner_id=partner_id,
        url=_url(url, allow_private=allow_private),
        description=description[:500],
        event_types=_event_types(event_types),
        secret_enc=box.encrypt(secret),
    )
    session.add(endpoint)
    session.flush()
    return endpoint, secret


def update_endpoint(
    session: Session,
    endpoint: WebhookEndpoint,
    *,
    url: str | None = None,
    event_types: Sequence[str] | None = None,
    enabled: bool | None = None,
    description: str | None = None,
    allow_private: bool = False,
    now: datetime | None = None,
) -> WebhookEndpoint:
    if url is not None:
        endpoint.url = _url(url, allow_private=allow_private)
    if event_types is not None:
        endpoint.event_types = _event_types(event_types)
    if enabled is not None:
        endpoint.enabled = enabled
    if description is not None:
        endpoint.description = description[:500]
    endpoint.updated_at = now or utcnow()
    session.add(endpoint)
    session.flush()
    return endpoint


def rotate_secret(
    session: Session,
    box: SecretBox,
    endpoint: WebhookEndpoint,
    *,
    window: timedelta = ROTATION_WINDOW,
    now: datetime | None = None,
) -> str:
    """A new secret (returned in clear, once); the current one keeps signing beside it until
    `now + window`, so receivers can switch without losing a delivery (zero-downtime rotation,
    Standard Webhooks "Webhook headers")."""
    moment = now or utcnow()
    secret = new_secret()
    endpoint.previous_secret_enc = endpoint.secret_enc
    endpoint.previous_secret_expires_at = moment + window
    endpoint.secret_enc = box.encrypt(secret)
    endpoint.updated_at = moment
    session.add(endpoint)
    session.flush()
    return secret


def signing_secrets(
    box: SecretBox,
    secret_enc: str,
    previous_enc: str | None,
    previous_expires_at: datetime | None,
    now: datetime,
) -> list[str]:
    """The secrets a delivery at `now` is signed with: the current one, and the previous one
    while its rotation window lasts."""
    found = [box.decrypt(secret_enc)]
    if previous_enc and previous_expires_at is not None and now < previous_expires_at:
        found.append(box.decrypt(previous_enc))
    return found


def replay(
    session: Session, partner_id: str, delivery_id: int, *, now: datetime | None = None
) -> bool:
    """Send a dead (or delivered) delivery again, due now with a fresh attempt budget: the same
    `webhook-id` and the same body, which is how receivers recognise a repeat. False when it is
    not this partner's or is still waiting to be sent."""
    delivery = repo.delivery_of(session, partner_id, delivery_id)
    if delivery is None or delivery.id is None:
        return False
    revived = queue.retry(
        session,
        WEBHOOK_QUEUE,
        now or utcnow(),
        ids=[delivery.id],
        statuses=(DeliveryStatus.DEAD, DeliveryStatus.SUCCEEDED),
    )
    if revived:
        delivery.replays += 1
        session.add(delivery)
        session.flush()
        session.refresh(delivery)
    return revived == 1
