"""Helpers for tests that check an event was emitted by the code path that causes it."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from sqlalchemy import select
from sqlmodel import Session, col

from billing.webhooks.events import EventType, envelope_schema
from billing.webhooks.models import WebhookDelivery, WebhookEvent
from billing.webhooks.service import create_endpoint
from connectors.connections.crypto import cipher_from_settings


def subscribe(session: Session, partner_id: str, *types: EventType) -> int:
    """An endpoint of the partner listening to `types` (all when none)."""
    endpoint, _ = create_endpoint(
        session,
        cipher_from_settings(),
        partner_id,
        url="https://hooks.example.com/rebill",
        event_types=[t.value for t in (types or tuple(EventType))],
    )
    session.commit()
    assert endpoint.id is not None
    return endpoint.id


def emitted(session: Session, event_type: EventType) -> list[dict[str, Any]]:
    """The bodies of the events of this type that have a delivery, oldest first; each checked
    against the type's JSON Schema."""
    session.rollback()
    rows = session.execute(
        select(WebhookEvent)
        .where(
            col(WebhookEvent.type) == event_type.value,
            col(WebhookEvent.id).in_(select(col(WebhookDelivery.event_id))),
        )
        .order_by(col(WebhookEvent.id))
    ).scalars()
    bodies = []
    for row in rows:
        body = json.loads(row.body)
        jsonschema.validate(body, envelope_schema(event_type))
        bodies.append(body)
    return bodies
