"""Signed deliveries to a real receiver on loopback: verified with the Standard Webhooks
reference library, retried on failure with a fake clock, dead, replayed once with the same
webhook-id; private addresses refused without a connection."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col
from standardwebhooks import Webhook, WebhookVerificationError

from billing.webhooks import EventType, emit
from billing.webhooks.delivery import deliver_due
from billing.webhooks.events import envelope_schema
from billing.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from billing.webhooks.queue import BACKOFF, MAX_ATTEMPTS
from billing.webhooks.service import SecretBox, create_endpoint, replay, rotate_secret
from tests.billing.webhooks.receiver import Receiver, free_port

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
DATA: dict[str, Any] = {
    "reconciliation_id": "7",
    "period": "2026-10",
    "differences": 2,
    "started_at": "2026-11-01T09:00:00+00:00",
    "finished_at": "2026-11-01T09:00:05+00:00",
}


def endpoint(
    session: Session, box: SecretBox, url: str, types: tuple[str, ...] = ()
) -> tuple[WebhookEndpoint, str]:
    found, secret = create_endpoint(
        session,
        box,
        "acme",
        url=url,
        event_types=list(types or [t.value for t in EventType]),
        allow_private=True,
    )
    session.commit()
    return found, secret


def fire(session: Session, key: str = "7") -> None:
    emit(session, "acme", EventType.RECONCILIATION_COMPLETED, DATA, key=key, now=NOW)
    session.commit()


def deliveries(session: Session) -> list[WebhookDelivery]:
    session.rollback()  # a fresh snapshot: the worker wrote in sessions of its own
    session.expire_all()
    return list(
        session.execute(select(WebhookDelivery).order_by(col(WebhookDelivery.id))).scalars()
    )


def run(engine: Engine, box: SecretBox, now: datetime = NOW, **kwargs: Any) -> Any:
    return deliver_due(
        engine, box, now=now, allow_private=True, timeout=timedelta(seconds=2), **kwargs
    )


def test_a_delivery_is_signed_and_verifies_with_the_reference_library(
    engine: Engine, session: Session, partner: str, box: SecretBox, receiver: Receiver
) -> None:
    _, secret = endpoint(session, box, receiver.url)
    fire(session)
    report = run(engine, box)
    assert report.delivered == 1
    [request] = receiver.requests
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["type"] == "reconciliation.completed"
    assert payload["data"] == DATA
    assert payload["version"] == 1
    jsonschema.validate(payload, envelope_schema(EventType.RECONCILIATION_COMPLETED))
    assert request.headers["webhook-id"].startswith("msg_")
    assert request.headers["content-type"] == "application/json"
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 44).verify(request.body, request.headers)
    [row] = deliveries(session)
    assert row.status == DeliveryStatus.SUCCEEDED
    assert row.last_status_code == 200
    assert row.last_response is not None and len(row.last_response) == 1024
    assert run(engine, box, NOW + timedelta(days=9)).attempted == 0  # never twice


def _until_dead(engine: Engine, session: Session, box: SecretBox, **kwargs: Any) -> int:
    """Run the worker at each delivery's next attempt time until it is dead; attempts made."""
    now = NOW
    made = 0
    for _ in range(MAX_ATTEMPTS + 2):
        report = run(engine, box, now, **kwargs)
        made += report.attempted
        [row] = deliveries(session)
        if row.status == DeliveryStatus.DEAD:
            return made
        assert row.status == DeliveryStatus.FAILED
        assert row.next_attempt_at is not None
        step = BACKOFF[row.attempts - 1]
        wait = row.next_attempt_at - now
        assert step <= wait <= step * 1.1 + timedelta(seconds=1)  # the schedule, with jitter
        assert run(engine, box, row.next_attempt_at - timedelta(seconds=1), **kwargs).attempted == 0
        now = row.next_attempt_at
    raise AssertionError("never dead")


def test_a_failing_receiver_gets_retries_then_a_dead_delivery_that_replays_once(
    engine: Engine, session: Session, partner: str, box: SecretBox, receiver: Receiver
) -> None:
    _, secret = endpoint(session, box, receiver.url)
    fire(session)
    receiver.script = [500]
    assert _until_dead(engine, session, box) == MAX_ATTEMPTS
    assert len(receiver.requests) == MAX_ATTEMPTS
    [row] = deliveries(session)
    assert row.last_status_code == 500 and row.last_error == "HTTP 500"
    assert row.last_response is not None and row.last_response.startswith("answer 500")
    assert run(engine, box, NOW + timedelta(days=30)).attempted == 0  # dead stays dead
    receiver.script = [200]
    assert replay(session, "acme", row.id or 0, now=NOW + timedelta(days=4))
    session.commit()
    assert run(engine, box, NOW + timedelta(days=4)).delivered == 1
    assert run(engine, box, NOW + timedelta(days=40)).attempted == 0
    assert len(receiver.requests) == MAX_ATTEMPTS + 1  # exactly one more request
    assert len(set(receiver.ids)) == 1  # the same webhook-id every time
    bodies = {r.body for r in receiver.requests}
    assert len(bodies) == 1  # and the same payload
    Webhook(secret).verify(receiver.requests[-1].body, receiver.requests[-1].headers)
    [row] = deliveries(session)
    assert row.status == DeliveryStatus.SUCCEEDED and row.replays == 1


def test_connection_refused_is_retried_then_dead(
    engine: Engine, session: Session, partner: str, box: SecretBox
) -> None:
    endpoint(session, box, f"http://127.0.0.1:{free_port()}/hook")
    fire(session)
    assert _until_dead(engine, session, box) == MAX_ATTEMPTS
    [row] = deliveries(session)
    assert row.last_error is not None and row.last_error.startswith("connection failed")
    assert row.last_status_code is None


def test_a_host_that_does_not_resolve_is_retried_not_refused(
    engine: Engine, session: Session, partner: str, box: SecretBox
) -> None:
    """DNS failures pass (a lapsed record, a resolver down): the delivery waits for its next
    attempt instead of going dead at once like a private address."""
    endpoint(session, box, "https://hooks.does-not-exist.invalid/hook")  # RFC 6761: never resolves
    fire(session)
    report = run(engine, box)
    assert (report.dead, report.retrying) == (0, 1)
    [row] = deliveries(session)
    assert row.status is not DeliveryStatus.DEAD
    assert row.last_error is not None and "does not resolve" in row.last_error
    assert row.next_attempt_at is not None and row.next_attempt_at > NOW


def test_a_receiver_that_does_not_answer_in_time_is_retried(
    engine: Engine, session: Session, partner: str, box: SecretBox, receiver: Receiver
) -> None:
    endpoint(session, box, receiver.url)
    fire(session)
    receiver.script = ["stall"]
    report = deliver_due(
        engine,
        box,
        now=NOW,
        allow_private=True,
        timeout=timedelta(milliseconds=300),
        connect_timeout=timedelta(seconds=1),
    )
    assert report.retrying == 1
    [row] = deliveries(session)
    assert row.status == DeliveryStatus.FAILED
    assert row.last_error is not None and row.last_error.startswith("timed out")
    receiver.release.set()


def test_retry_after_of_a_503_is_honoured(
    engine: Engine, session: Session, partner: str, box: SecretBox, receiver: Receiver
) -> None:
    endpoint(session, box, receiver.url)
    fire(session)
    receiver.script = [503]
    receiver.retry_after = "7200"
    run(engine, box)
    [row] = deliveries(session)
    assert row.next_attempt_at is not None
    assert row.next_attempt_at - NOW >= timedelta(seconds=7200)


def test_redirects_are_not_followed(
    engine: Engine, session: Session, partner: str, box: SecretBox, receiver: Receiver
) -> None:
    endpoint(session, box, receiver.url)
    fire(session)
    receiver.script = [307]
    assert run(engine, box).retrying == 1
    assert len(receiver.requests) == 1
    [row] = deliveries(session)
    assert row.last_status_code == 307
    assert row.last_error is not None and "redirects are not followed" in row.last_error


def test_410_gone_kills_the_delivery_and_disables_the_endpoint(
    engine: Engine, session: Session, partner: str, box: SecretBox, receiver: Receiver
) -> None:
    found, _ = endpoint(session, box, receiver.url)
    fire(session)
    receiver.script = [410]
    assert run(engine, box).dead == 1
    session.rollback()
    session.expire_all()
    assert session.get(WebhookEndpoint, found.id).enabled is False  # type: ignore[union-attr]
    fire(session, key="8")  # a disabled endpoint hears of nothing new
    assert len(deliveries(session)) == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/hook",
        "http://localhost:9/hook",
        "http://224.0.0.1/hook",
        "http://[::ffff:192.168.1.1]/hook",
    ],
)
def test_private_addresses_are_refused_without_opening_a_connection(
    engine: Engine,
    session: Session,
    partner: str,
    box: SecretBox,
    monkeypatch: pytest.MonkeyPatch,
    url: str,
) -> None:
    endpoint(session, box, url)  # stored with the allowance; the worker runs without it
    fire(session)

    def no_connection(*args: object, **kwargs: object) -> None:
        raise AssertionError("a connection was opened")

    monkeypatch.setattr(socket.socket, "connect", no_connection)
    monkeypatch.setattr(socket, "create_connection", no_connection)
    report = deliver_due(engine, box, now=NOW, allow_private=False)
    assert report.dead == 1
    [row] = deliveries(session)
    assert row.last_error is not None and row.last_error.startswith("refused destination")
    assert "not a public address" in row.last_error


def test_one_delivery_per_event_and_endpoint(
    engine: Engine, session: Session, partner: str, box: SecretBox, receiver: Receiver
) -> None:
    endpoint(session, box, receiver.url)
    fire(session)
    fire(session)  # the same event key again
    assert len(deliveries(session)) == 1
    endpoint(session, box, receiver.url + "/second")
    fire(session)  # the new endpoint gets the existing event; the first still one
    fire(session, key="8")
    rows = deliveries(session)
    assert len(rows) == 4
    assert len({(r.event_id, r.endpoint_id) for r in rows}) == 4
    run(engine, box)
    ids = receiver.ids
    assert len(ids) == 4 and len(set(ids)) == 2  # one id per event, shared by its endpoints


def test_an_endpoint_hears_only_the_types_it_subscribed_to(
    engine: Engine, session: Session, partner: str, box: SecretBox, receiver: Receiver
) -> None:
    endpoint(session, box, receiver.url, ("invoice.issued",))
    fire(session)
    assert deliveries(session) == []


def test_rotation_signs_with_both_secrets_during_the_window_then_only_the_new(
    engine: Engine, session: Session, partner: str, box: SecretBox, receiver: Receiver
) -> None:
    found, old = endpoint(session, box, receiver.url)
    new = rotate_secret(session, box, found, window=timedelta(hours=1))
    session.commit()
    fire(session)
    run(engine, box)
    request = receiver.requests[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(request.body, request.headers)
    Webhook(new).verify(request.body, request.headers)
    found.previous_secret_expires_at = datetime.now(UTC) - timedelta(seconds=1)
    session.add(found)
    session.commit()
    fire(session, key="after")
    run(engine, box)
    request = receiver.requests[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    Webhook(new).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(request.body, request.headers)


def test_the_stored_secret_is_encrypted(session: Session, partner: str, box: SecretBox) -> None:
    found, secret = endpoint(session, box, "https://hooks.example.com/rebill")
    assert secret.startswith("whsec_")
    assert secret not in found.secret_enc
    assert box.decrypt(found.secret_enc) == secret
    body = json.dumps(found.model_dump(mode="json"))
    assert secret not in body
