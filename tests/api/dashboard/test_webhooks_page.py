"""The Webhooks page: endpoints and recent deliveries (status, HTTP answer and its excerpt,
attempts, next attempt), add (secret shown once), rotate, disable, and a replay button that
sends the same webhook-id again; CSRF on every form; another partner's page is 404."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from standardwebhooks import Webhook

from billing.webhooks import EventType, emit
from billing.webhooks.delivery import deliver_due
from config.settings import get_settings
from connectors.connections.crypto import cipher_from_settings
from tests.api.dashboard.conftest import World, sign_in
from tests.billing.webhooks.receiver import Receiver, running_receiver
from workqueue import RetryPolicy

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PAGE = "/dashboard/p/acme/webhooks"
DATA = {
    "reconciliation_id": "1",
    "period": "2026-10",
    "differences": 0,
    "started_at": "2026-11-01T06:00:00+00:00",
    "finished_at": "2026-11-01T06:00:01+00:00",
}


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    monkeypatch.setenv("REBILL_WEBHOOKS_ALLOW_PRIVATE_NETWORKS", "true")
    get_settings.cache_clear()
    with running_receiver() as found:
        yield found
    get_settings.cache_clear()


def _secret(html: str) -> str:
    found = re.search(r'data-testid="secret-value">(whsec_[^<]+)<', html)
    assert found, "no secret on the page"
    return found.group(1)


def test_a_bad_url_is_refused_on_the_page(app_client: TestClient, world: World) -> None:
    csrf = sign_in(app_client, "ann@acme.example")
    page = app_client.get(PAGE)
    assert page.status_code == 200 and 'data-testid="no-endpoints"' in page.text
    answer = app_client.post(
        f"{PAGE}/endpoints",
        data={"csrf_token": csrf, "url": "http://10.0.0.1/x", "event_type": ["invoice.paid"]},
    )
    assert answer.status_code == 422
    assert "url: must start with https://" in answer.text
    assert 'data-testid="no-endpoints"' in answer.text
    forged = app_client.post(
        f"{PAGE}/endpoints",
        data={"csrf_token": "x", "url": "https://a.example/", "event_type": ["invoice.paid"]},
    )
    assert forged.status_code == 403


def test_add_deliver_replay_rotate_and_disable(
    app_client: TestClient,
    world: World,
    engine: Engine,
    session: Session,
    receiver: Receiver,
) -> None:
    csrf = sign_in(app_client, "ann@acme.example")
    added = app_client.post(
        f"{PAGE}/endpoints",
        data={
            "csrf_token": csrf,
            "url": receiver.url,
            "description": "our ERP",
            "event_type": ["reconciliation.completed", "invoice.paid"],
        },
    )
    assert added.status_code == 200, added.text
    secret = _secret(added.text)
    assert "our ERP" in added.text and "reconciliation.completed, invoice.paid" in added.text
    assert secret not in app_client.get(PAGE).text  # shown once

    emit(session, "acme", EventType.RECONCILIATION_COMPLETED, DATA, key="1")
    session.commit()
    receiver.script = [500]
    box = cipher_from_settings()
    once = RetryPolicy(max_attempts=1)
    assert deliver_due(engine, box, now=datetime.now(UTC), policy=once).dead == 1
    page = app_client.get(PAGE).text
    row = page.split('data-testid="delivery-1"')[1].split("</tr>")[0]
    assert "dead" in row and ">500<" in row and "answer 500" in row
    assert receiver.ids[0] in row and "Replay delivery 1" in row

    assert app_client.post(f"{PAGE}/deliveries/1/replay", data={}).status_code == 403
    replayed = app_client.post(f"{PAGE}/deliveries/1/replay", data={"csrf_token": csrf})
    assert replayed.status_code == 303
    notice = app_client.get(replayed.headers["location"]).text
    assert "Delivery 1 queued again" in notice
    receiver.script = [200]
    assert deliver_due(engine, box, now=datetime.now(UTC)).delivered == 1
    assert receiver.ids == [receiver.ids[0]] * 2
    Webhook(secret).verify(receiver.requests[1].body, receiver.requests[1].headers)
    row = app_client.get(PAGE).text.split('data-testid="delivery-1"')[1].split("</tr>")[0]
    assert "succeeded" in row and ">200<" in row and "replayed 1" in row

    rotated = app_client.post(f"{PAGE}/endpoints/1/rotate", data={"csrf_token": csrf})
    new = _secret(rotated.text)
    assert new != secret and "rotating until" in rotated.text
    disabled = app_client.post(
        f"{PAGE}/endpoints/1/enabled", data={"csrf_token": csrf, "enabled": "0"}
    )
    assert disabled.status_code == 303
    assert ">disabled<" in app_client.get(PAGE).text


def test_another_partners_webhooks_are_404(app_client: TestClient, world: World) -> None:
    csrf = sign_in(app_client, "gus@globex.example")
    assert app_client.get(PAGE).status_code == 404
    assert (
        app_client.post(f"{PAGE}/endpoints/1/rotate", data={"csrf_token": csrf}).status_code == 404
    )
