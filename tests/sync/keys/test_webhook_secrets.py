"""Webhook signing secrets are stored credentials like the others: `secrets rotate`
re-encrypts them (both of an endpoint in a rotation window), and deliveries still verify."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session
from standardwebhooks import Webhook
from typer.testing import CliRunner

from billing.webhooks import EventType, emit
from billing.webhooks.delivery import deliver_due
from billing.webhooks.models import WebhookEndpoint
from billing.webhooks.service import create_endpoint, rotate_secret
from connectors.connections.crypto import cipher_from_settings
from main import app
from sync.keys.rotation import encrypted_tables
from tests.billing.factories import make_partner
from tests.billing.webhooks.receiver import running_receiver


def test_webhook_secret_columns_are_rotated() -> None:
    found = {(spec.name, column.name) for spec in encrypted_tables() for column in spec.columns}
    assert {
        ("webhook_endpoint", "secret_enc"),
        ("webhook_endpoint", "previous_secret_enc"),
    } <= found


def test_after_a_key_rotation_deliveries_still_verify(engine: Engine, session: Session) -> None:
    make_partner(session, "acme")
    with running_receiver() as receiver:
        endpoint, old = create_endpoint(
            session,
            cipher_from_settings(),
            "acme",
            url=receiver.url,
            event_types=["reconciliation.completed"],
            allow_private=True,
        )
        new = rotate_secret(session, cipher_from_settings(), endpoint, window=timedelta(hours=1))
        session.commit()
        stored = (endpoint.secret_enc, endpoint.previous_secret_enc)
        result = CliRunner().invoke(app, ["secrets", "rotate"])
        assert result.exit_code == 0, result.output
        session.expire_all()
        row = session.get(WebhookEndpoint, endpoint.id)
        assert row is not None and (row.secret_enc, row.previous_secret_enc) != stored
        data = {
            "reconciliation_id": "1",
            "period": "2026-10",
            "differences": 0,
            "started_at": "2026-11-01T06:00:00+00:00",
            "finished_at": None,
        }
        emit(session, "acme", EventType.RECONCILIATION_COMPLETED, data, key="1")
        session.commit()
        report = deliver_due(
            engine, cipher_from_settings(), now=datetime.now(UTC), allow_private=True
        )
        assert report.delivered == 1
        request = receiver.requests[0]
        Webhook(old).verify(request.body, request.headers)
        Webhook(new).verify(request.body, request.headers)
