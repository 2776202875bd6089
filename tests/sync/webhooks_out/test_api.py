"""`/v1/webhook-endpoints` and `/v1/webhook-deliveries`: create (secret once), list, get,
update, disable, rotate, deliveries with their answers, replay; refused fields are 422
problems naming the field."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from standardwebhooks import Webhook

from api.app import create_app
from billing.tenants.models import Scope
from billing.webhooks import EventType, emit
from billing.webhooks.delivery import deliver_due
from config.settings import get_settings
from connectors.connections.crypto import cipher_from_settings
from tests.billing.factories import make_key, make_partner
from tests.billing.webhooks.receiver import Receiver, running_receiver

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

URL = "/v1/webhook-endpoints"
DATA: dict[str, Any] = {
    "reconciliation_id": "1",
    "period": "2026-10",
    "differences": 0,
    "started_at": "2026-11-01T06:00:00+00:00",
    "finished_at": "2026-11-01T06:00:01+00:00",
}


@pytest.fixture
def api(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app()) as client:
        yield client


@pytest.fixture
def admin(session: Session) -> dict[str, str]:
    make_partner(session, "acme")
    make_partner(session, "other")
    session.commit()
    return {"Authorization": f"Bearer {make_key(session, 'acme', Scope.ADMIN)}"}


@pytest.fixture
def allowed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("REBILL_WEBHOOKS_ALLOW_PRIVATE_NETWORKS", "true")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _field_of(answer: Any) -> list[str]:
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    return [e["path"] for e in answer.json()["errors"]]


def test_create_list_get_update_and_disable(api: TestClient, admin: dict[str, str]) -> None:
    body = {"url": "https://hooks.example.com/rebill", "event_types": ["invoice.issued"]}
    created = api.post(URL, json=body, headers=admin)
    assert created.status_code == 201, created.text
    found = created.json()
    assert found["secret"].startswith("whsec_")
    assert found["enabled"] is True and found["event_types"] == ["invoice.issued"]
    one = api.get(f"{URL}/{found['id']}", headers=admin).json()
    assert "secret" not in one and one["url"] == body["url"]
    page = api.get(URL, headers=admin).json()
    assert [e["id"] for e in page["items"]] == [found["id"]] and page["next_cursor"] is None
    changed = api.patch(
        f"{URL}/{found['id']}",
        json={"event_types": ["invoice.issued", "invoice.paid"], "enabled": False},
        headers=admin,
    )
    assert changed.status_code == 200 and changed.json()["enabled"] is False
    assert changed.json()["event_types"] == ["invoice.issued", "invoice.paid"]
    api.patch(f"{URL}/{found['id']}", json={"enabled": True}, headers=admin)
    gone = api.delete(f"{URL}/{found['id']}", headers=admin)
    assert gone.status_code == 200 and gone.json()["enabled"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://hooks.example.com/x", "event_types": ["invoice.paid"]}, "body.url"),
        ({"url": "https://10.0.0.1/x", "event_types": ["invoice.paid"]}, "body.url"),
        ({"url": "https://[::1]/x", "event_types": ["invoice.paid"]}, "body.url"),
        ({"url": "https://169.254.169.254/x", "event_types": ["invoice.paid"]}, "body.url"),
        ({"url": "ftp://hooks.example.com/", "event_types": ["invoice.paid"]}, "body.url"),
        ({"url": "https://u:p@hooks.example.com/", "event_types": ["invoice.paid"]}, "body.url"),
        (
            {"url": "https://hooks.example.com/", "event_types": ["invoice.sent"]},
            "body.event_types",
        ),
        ({"url": "https://hooks.example.com/", "event_types": []}, "body.event_types"),
        ({"url": "https://hooks.example.com/"}, "body.event_types"),
    ],
)
def test_refused_fields_are_422_naming_the_field(
    api: TestClient, admin: dict[str, str], body: dict[str, Any], field: str
) -> None:
    assert field in _field_of(api.post(URL, json=body, headers=admin))


def test_a_bad_url_in_an_update_is_422_naming_the_field(
    api: TestClient, admin: dict[str, str]
) -> None:
    body = {"url": "https://hooks.example.com/rebill", "event_types": ["invoice.issued"]}
    found = api.post(URL, json=body, headers=admin).json()
    answer = api.patch(f"{URL}/{found['id']}", json={"url": "http://127.0.0.1/"}, headers=admin)
    assert _field_of(answer) == ["body.url"]


def test_another_partners_endpoint_is_404(
    api: TestClient, admin: dict[str, str], session: Session
) -> None:
    body = {"url": "https://hooks.example.com/rebill", "event_types": ["invoice.issued"]}
    found = api.post(URL, json=body, headers=admin).json()
    other = {"Authorization": f"Bearer {make_key(session, 'other', Scope.ADMIN)}"}
    assert api.get(f"{URL}/{found['id']}", headers=other).status_code == 404
    assert api.post(f"{URL}/{found['id']}/rotate-secret", headers=other).status_code == 404
    assert api.get(URL, headers=other).json()["items"] == []


def test_deliveries_with_answers_rotation_and_replay_over_real_http(
    api: TestClient,
    admin: dict[str, str],
    allowed: None,
    engine: Engine,
    session: Session,
) -> None:
    with running_receiver() as receiver:
        _roundtrip(api, admin, engine, session, receiver)


def _roundtrip(
    api: TestClient, admin: dict[str, str], engine: Engine, session: Session, rx: Receiver
) -> None:
    body = {"url": rx.url, "event_types": ["reconciliation.completed"]}
    created = api.post(URL, json=body, headers=admin)
    assert created.status_code == 201, created.text
    endpoint_id, old = created.json()["id"], created.json()["secret"]
    rotated = api.post(
        f"{URL}/{endpoint_id}/rotate-secret", json={"window_hours": 1}, headers=admin
    )
    assert rotated.status_code == 200
    new = rotated.json()["secret"]
    assert api.get(f"{URL}/{endpoint_id}", headers=admin).json()["rotating_until"] is not None
    emit(session, "acme", EventType.RECONCILIATION_COMPLETED, DATA, key="1")
    session.commit()
    rx.script = [410]
    box = cipher_from_settings()
    assert deliver_due(engine, box, now=datetime.now(UTC)).dead == 1
    [delivery] = api.get(f"{URL}/{endpoint_id}/deliveries", headers=admin).json()["items"]
    assert delivery["status"] == "dead" and delivery["last_status_code"] == 410
    assert delivery["last_response"].startswith("answer 410")
    assert delivery["payload"]["data"] == DATA
    assert delivery["webhook_id"] == rx.ids[0]
    Webhook(old).verify(rx.requests[0].body, rx.requests[0].headers)
    Webhook(new).verify(rx.requests[0].body, rx.requests[0].headers)
    # 410 disabled the endpoint: enable it again, then replay the dead delivery
    api.patch(f"{URL}/{endpoint_id}", json={"enabled": True}, headers=admin)
    rx.script = [204]
    replayed = api.post(f"/v1/webhook-deliveries/{delivery['id']}/replay", headers=admin)
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["status"] == "pending" and replayed.json()["replays"] == 1
    assert deliver_due(engine, box, now=datetime.now(UTC)).delivered == 1
    assert rx.ids == [delivery["webhook_id"]] * 2
    again = api.post(f"/v1/webhook-deliveries/{delivery['id']}/replay", headers=admin)
    assert again.status_code == 200  # a delivered one may be sent again too
    pending = api.post(f"/v1/webhook-deliveries/{delivery['id']}/replay", headers=admin)
    assert pending.status_code == 409
    assert api.post("/v1/webhook-deliveries/999999/replay", headers=admin).status_code == 404
    page = api.get(f"{URL}/{endpoint_id}/deliveries?status=pending", headers=admin).json()
    assert len(page["items"]) == 1
