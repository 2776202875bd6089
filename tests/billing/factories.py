"""Tenants and events for metering tests: two partners, a few clients, the standard usage types."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from billing.tenants import service
from billing.tenants.models import Scope
from billing.tenants.schemas import ClientCreate, PartnerCreate, PartnerSettings, UsageTypeCreate

USAGE_TYPES = {
    # code: (unit, precision, wholesale rate)
    "voice_minutes": ("minute", 2, Decimal("0.0130")),
    "sms": ("message", 0, Decimal("0.0075")),
    "chat_conversations": ("conversation", 0, Decimal("0.02")),
    "email_automations": ("email", 0, Decimal("0.0004")),
    "workflow_runs": ("run", 3, Decimal("0.001")),
}


def make_partner(
    session: Session,
    partner_id: str,
    *,
    timezone: str = "UTC",
    clients: tuple[str, ...] = ("alpha", "beta"),
    client_timezone: str | None = None,
    late_event_days: int = 90,
    currency: str = "USD",
) -> None:
    service.create_partner(
        session,
        PartnerCreate(
            id=partner_id,
            name=partner_id.title(),
            currency=currency,
            timezone=timezone,
            settings=PartnerSettings(late_event_days=late_event_days),
        ),
    )
    for client in clients:
        service.create_client(
            session, partner_id, ClientCreate(id=client, name=client, timezone=client_timezone)
        )
    for code, (unit, precision, rate) in USAGE_TYPES.items():
        service.create_usage_type(
            session,
            partner_id,
            UsageTypeCreate(
                code=code, display_name=code, unit=unit, precision=precision, wholesale_rate=rate
            ),
        )
    session.commit()


def make_key(session: Session, partner_id: str | None, *scopes: Scope) -> str:
    key = service.create_api_key(session, partner_id, scopes).key
    session.commit()
    return key


def recent(hours: float = 1) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat()


def event(event_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": event_id,
        "client": "alpha",
        "usage_type": "sms",
        "quantity": "1",
        "occurred_at": recent(),
    }
    body.update(overrides)
    return body
