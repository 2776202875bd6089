"""QuickBooks and Xero webhooks in: signatures (right, wrong secret, tampered body, missing,
unconfigured secret → 401), Xero's intent-to-receive handshake (200 with an empty body), and a
signed notification reading back the payments of exactly the connections it names, after the
answer; end to end, a payment entered in QuickBooks lands once in our ledger."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import warnings
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, update
from sqlmodel import Session, select

from api.webhooks import router as webhooks_router
from billing.payments.models import Payment
from config.settings import get_settings
from connectors.connections.models import Connection
from sync import readback_webhooks as hooks
from sync.readback import ReadbackReport, pull_payments
from tests.sync.payments_world import QBO, REALM, TENANT, XERO, make_world

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

VERIFIER, XERO_KEY = "qbo-verifier-token", "xero-webhook-key"


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("REBILL_QUICKBOOKS_WEBHOOK_VERIFIER", VERIFIER)
    monkeypatch.setenv("REBILL_XERO_WEBHOOK_KEY", XERO_KEY)
    get_settings.cache_clear()
    app = FastAPI()
    app.include_router(webhooks_router)
    with TestClient(app) as test_client:
        yield test_client
    get_settings.cache_clear()


@pytest.fixture
def pulled(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    def record(engine: Engine, connection_id: str) -> ReadbackReport:
        calls.append(connection_id)
        return ReadbackReport(connection_id)

    monkeypatch.setattr(hooks, "pull_payments", record)
    return calls


def set_tenant(session: Session, connection_id: str, provider: str, tenant: str) -> None:
    session.execute(
        update(Connection)  # type: ignore[arg-type]
        .where(Connection.id == connection_id)  # type: ignore[arg-type]
        .values(remote_tenant=tenant, provider=provider)
    )
    session.commit()


def qbo_body(realm: str, entity: str = "Payment") -> bytes:
    note = {
        "realmId": realm,
        "dataChangeEvent": {
            "entities": [
                {
                    "name": entity,
                    "id": "99",
                    "operation": "Create",
                    "lastUpdated": "2026-11-05T10:00:00Z",
                }
            ]
        },
    }
    return json.dumps({"eventNotifications": [note]}).encode()


def xero_body(tenant: str | None) -> bytes:
    events = (
        []
        if tenant is None
        else [
            {
                "resourceUrl": "https://api.xero.com/api.xro/2.0/Invoices/x",
                "resourceId": "x",
                "tenantId": tenant,
                "tenantType": "ORGANISATION",
                "eventCategory": "INVOICE",
                "eventType": "UPDATE",
                "eventDateUtc": "2026-11-05T10:00:00Z",
            }
        ]
    )
    return json.dumps(
        {"events": events, "firstEventSequence": 1, "lastEventSequence": 1, "entropy": "ZX9"}
    ).encode()


def test_signatures_are_hmac_sha256_base64_of_the_raw_body() -> None:
    body = b'{"events":[]}'
    expected = base64.b64encode(hmac.new(b"k", body, hashlib.sha256).digest()).decode()
    assert hooks.sign(body, "k") == expected
    assert hooks.signature_ok(body, hooks.sign(body, "k"), "k")
    assert not hooks.signature_ok(body + b" ", hooks.sign(body, "k"), "k")
    assert not hooks.signature_ok(body, hooks.sign(body, "k"), "")  # unconfigured: never
    assert not hooks.signature_ok(body, None, "k")


def test_xero_intent_to_receive(client: TestClient, pulled: list[str]) -> None:
    body = xero_body(None)
    good = client.post(
        "/webhooks/xero", content=body, headers={"x-xero-signature": hooks.sign(body, XERO_KEY)}
    )
    assert good.status_code == 200 and good.content == b""
    wrong = client.post(
        "/webhooks/xero", content=body, headers={"x-xero-signature": hooks.sign(body, "other")}
    )
    assert wrong.status_code == 401 and wrong.content == b""
    tampered = client.post(
        "/webhooks/xero",
        content=body.replace(b"ZX9", b"ZX8"),
        headers={"x-xero-signature": hooks.sign(body, XERO_KEY)},
    )
    assert tampered.status_code == 401
    assert client.post("/webhooks/xero", content=body).status_code == 401
    assert pulled == []


def test_xero_events_read_back_the_named_organisation_only(
    client: TestClient, pulled: list[str], engine: Engine, session: Session
) -> None:
    world = make_world(engine, session)
    set_tenant(session, XERO, "xero", TENANT)
    set_tenant(session, QBO, "quickbooks", REALM)
    body = xero_body(TENANT)
    answer = client.post(
        "/webhooks/xero", content=body, headers={"x-xero-signature": hooks.sign(body, XERO_KEY)}
    )
    assert answer.status_code == 200 and answer.content == b""
    assert pulled == [XERO]
    other = xero_body("someone-else")
    client.post(
        "/webhooks/xero", content=other, headers={"x-xero-signature": hooks.sign(other, XERO_KEY)}
    )
    assert pulled == [XERO] and world.invoices


def test_quickbooks_signature_and_entities(
    client: TestClient, pulled: list[str], engine: Engine, session: Session
) -> None:
    make_world(engine, session)
    set_tenant(session, QBO, "quickbooks", REALM)
    body = qbo_body(REALM)
    bad = client.post(
        "/webhooks/quickbooks", content=body, headers={"intuit-signature": hooks.sign(body, "nope")}
    )
    assert bad.status_code == 401 and pulled == []
    customer_only = qbo_body(REALM, "Customer")
    client.post(
        "/webhooks/quickbooks",
        content=customer_only,
        headers={"intuit-signature": hooks.sign(customer_only, VERIFIER)},
    )
    assert pulled == []  # nothing about money changed
    good = client.post(
        "/webhooks/quickbooks",
        content=body,
        headers={"intuit-signature": hooks.sign(body, VERIFIER)},
    )
    assert good.status_code == 200 and pulled == [QBO]
    junk = b"not json"
    assert (
        client.post(
            "/webhooks/quickbooks",
            content=junk,
            headers={"intuit-signature": hooks.sign(junk, VERIFIER)},
        ).status_code
        == 400
    )


def test_a_quickbooks_notification_records_the_payment_once(
    client: TestClient, engine: Engine, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(engine, session)
    set_tenant(session, QBO, "quickbooks", REALM)

    def through_fakes(engine: Engine, connection_id: str) -> ReadbackReport:
        return pull_payments(
            engine,
            connection_id,
            date(2026, 1, 1),
            until=date(2027, 12, 31),
            open_remote=world.open_remote,
        )

    monkeypatch.setattr(hooks, "pull_payments", through_fakes)
    with world.remotes():
        world.drain()
        [remote] = world.qbo.invoices_by_number(str(world.invoices[0].number))
        world.qbo.pay(remote["Id"], Decimal("7.00"))
        body = qbo_body(REALM)
        for _ in range(2):  # QuickBooks may deliver twice
            answer = client.post(
                "/webhooks/quickbooks",
                content=body,
                headers={"intuit-signature": hooks.sign(body, VERIFIER)},
            )
            assert answer.status_code == 200
    session.expire_all()
    assert [p.amount_minor for p in session.exec(select(Payment))] == [700]


@pytest.mark.parametrize(
    ("hook", "header", "secret"),
    [
        ("/webhooks/quickbooks", "intuit-signature", VERIFIER),
        ("/webhooks/xero", "x-xero-signature", XERO_KEY),
    ],
)
def test_a_signed_body_too_deep_to_parse_is_400(
    client: TestClient, pulled: list[str], hook: str, header: str, secret: str
) -> None:
    body = b'{"events": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    answer = client.post(hook, content=body, headers={header: hooks.sign(body, secret)})
    assert answer.status_code == 400
    assert "body: not JSON" in answer.json()["detail"] and "nested too deeply" in answer.text
    assert pulled == []
