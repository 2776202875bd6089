"""Every query of partner webhooks: endpoints, events, deliveries and their listings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, exists, select
from sqlmodel import Session, col

from .models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent

__all__ = [
    "deliveries",
    "delivery_of",
    "endpoint_enabled",
    "endpoint_of",
    "endpoints",
    "event_by_key",
    "event_of",
    "send_parts",
]


def endpoints(
    session: Session, partner_id: str, *, enabled_only: bool = False
) -> list[WebhookEndpoint]:
    query = select(WebhookEndpoint).where(col(WebhookEndpoint.partner_id) == partner_id)
    if enabled_only:
        query = query.where(col(WebhookEndpoint.enabled).is_(True))
    return list(session.execute(query.order_by(col(WebhookEndpoint.id))).scalars())


def endpoint_of(session: Session, partner_id: str, endpoint_id: int) -> WebhookEndpoint | None:
    found = session.get(WebhookEndpoint, endpoint_id)
    if found is None or found.partner_id != partner_id:
        return None
    return found


def event_by_key(session: Session, partner_id: str, event_key: str) -> WebhookEvent | None:
    return session.execute(
        select(WebhookEvent).where(
            col(WebhookEvent.partner_id) == partner_id, col(WebhookEvent.event_key) == event_key
        )
    ).scalar_one_or_none()


def event_of(session: Session, event_id: int) -> WebhookEvent | None:
    return session.get(WebhookEvent, event_id)


def delivery_of(session: Session, partner_id: str, delivery_id: int) -> WebhookDelivery | None:
    found = session.get(WebhookDelivery, delivery_id)
    if found is None or found.partner_id != partner_id:
        return None
    return found


def deliveries(
    session: Session,
    partner_id: str,
    *,
    endpoint_id: int | None = None,
    status: DeliveryStatus | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[tuple[WebhookDelivery, WebhookEvent]]:
    """Newest first, with their events (keyset paging on the delivery id: `before`)."""
    query = (
        select(WebhookDelivery, WebhookEvent)
        .join(WebhookEvent, col(WebhookEvent.id) == col(WebhookDelivery.event_id))
        .where(col(WebhookDelivery.partner_id) == partner_id)
        .order_by(col(WebhookDelivery.id).desc())
        .limit(limit)
    )
    if endpoint_id is not None:
        query = query.where(col(WebhookDelivery.endpoint_id) == endpoint_id)
    if status is not None:
        query = query.where(col(WebhookDelivery.status) == status)
    if before is not None:
        query = query.where(col(WebhookDelivery.id) < before)
    return [(row[0], row[1]) for row in session.execute(query)]


def endpoint_enabled() -> ColumnElement[bool]:
    """The delivery's endpoint is enabled (deliveries of a disabled endpoint wait)."""
    return exists().where(
        col(WebhookEndpoint.id) == col(WebhookDelivery.endpoint_id),
        col(WebhookEndpoint.enabled).is_(True),
    )


def send_parts(session: Session, delivery_id: int) -> tuple[Any, ...] | None:
    """(attempts, message id, body, url, secret_enc, previous_secret_enc, previous expiry,
    endpoint id) of one delivery: what a send needs."""
    row = session.execute(
        select(
            col(WebhookDelivery.attempts),
            col(WebhookEvent.message_id),
            col(WebhookEvent.body),
            col(WebhookEndpoint.url),
            col(WebhookEndpoint.secret_enc),
            col(WebhookEndpoint.previous_secret_enc),
            col(WebhookEndpoint.previous_secret_expires_at),
            col(WebhookEndpoint.id),
        )
        .join(WebhookEvent, col(WebhookEvent.id) == col(WebhookDelivery.event_id))
        .join(WebhookEndpoint, col(WebhookEndpoint.id) == col(WebhookDelivery.endpoint_id))
        .where(col(WebhookDelivery.id) == delivery_id)
    ).first()
    return None if row is None else tuple(row)


def ids_of(rows: Sequence[WebhookEndpoint]) -> list[int]:
    return [r.id for r in rows if r.id is not None]
