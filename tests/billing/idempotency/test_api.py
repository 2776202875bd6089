"""`Idempotency-Key` through the API: replays, refusals, partners, expiry, failures, races."""

from __future__ import annotations

import json
import threading
import uuid
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session

from api.app import create_app
from billing.idempotency import guard as guard_module
from billing.idempotency import service as idempotency
from billing.idempotency.repository import IdempotencyRepository
from billing.tenants import endpoints as tenant_endpoints
from billing.tenants.models import Scope
from billing.tenants.repository import TenantRepository
from tests.billing.factories import make_key, make_partner

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CLIENT = {"id": "zeta", "name": "Zeta Ltd"}


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(guard_module, "utcnow", fake)
    return fake


@pytest.fixture
def api(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def keys(session: Session) -> dict[str, dict[str, str]]:
    make_partner(session, "acme")
    make_partner(session, "globex")
    session.commit()
    return {
        p: {"Authorization": f"Bearer {make_key(session, p, Scope.ADMIN)}"}
        for p in ("acme", "globex")
    }


def with_key(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


def clients(engine: Engine, partner_id: str) -> list[str]:
    with Session(engine) as session:
        return [c.id for c in TenantRepository(session).clients(partner_id)]


def kept(engine: Engine, partner_id: str) -> int:
    with Session(engine) as session:
        return IdempotencyRepository(session).count(partner_id)


def test_a_retry_gets_the_first_answer_and_creates_nothing(
    api: TestClient, engine: Engine, keys: dict[str, dict[str, str]], clock: Clock
) -> None:
    headers = with_key(keys["acme"], "k-1")
    first = api.post("/v1/clients", json=CLIENT, headers=headers)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    before = clients(engine, "acme")
    clock.now += timedelta(hours=23, minutes=59)
    # The same object, serialised differently, is the same request.
    again = api.post(
        "/v1/clients",
        content=b'{ "name": "Zeta Ltd", "id": "zeta" }',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert clients(engine, "acme") == before and before.count("zeta") == 1
    # Without the header the route behaves as before: the id is taken.
    assert api.post("/v1/clients", json=CLIENT, headers=keys["acme"]).status_code == 409


def test_the_same_key_for_another_request_is_refused(
    api: TestClient, engine: Engine, keys: dict[str, dict[str, str]], clock: Clock
) -> None:
    headers = with_key(keys["acme"], "k-2")
    assert api.post("/v1/clients", json=CLIENT, headers=headers).status_code == 201
    other_body = api.post("/v1/clients", json={**CLIENT, "id": "eta"}, headers=headers)
    assert other_body.status_code == 422
    assert "Idempotency-Key" in other_body.json()["detail"]
    other_path = api.post(
        "/v1/usage-types",
        json={"code": "sms", "display_name": "SMS", "unit": "message"},
        headers=headers,
    )
    assert other_path.status_code == 422
    assert "POST /v1/clients" in other_path.json()["detail"]
    assert "eta" not in clients(engine, "acme")


def test_a_4xx_first_answer_is_kept_and_replayed(
    api: TestClient, engine: Engine, keys: dict[str, dict[str, str]], clock: Clock
) -> None:
    headers = with_key(keys["acme"], "k-3")
    taken = {"id": "alpha", "name": "Alpha again"}  # make_partner created "alpha"
    first = api.post("/v1/clients", json=taken, headers=headers)
    assert first.status_code == 409
    assert kept(engine, "acme") == 1
    again = api.post("/v1/clients", json=taken, headers=headers)
    assert (again.status_code, again.json()) == (409, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"


def test_a_5xx_is_not_kept_and_a_retry_runs(
    api: TestClient,
    engine: Engine,
    keys: dict[str, dict[str, str]],
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = tenant_endpoints.service.create_client

    def broken(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)  # the client is written, then the request fails
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(tenant_endpoints.service, "create_client", broken)
    headers = with_key(keys["acme"], "k-4")
    assert api.post("/v1/clients", json=CLIENT, headers=headers).status_code == 500
    assert kept(engine, "acme") == 0 and "zeta" not in clients(engine, "acme")
    monkeypatch.setattr(tenant_endpoints.service, "create_client", real)
    retry = api.post("/v1/clients", json=CLIENT, headers=headers)
    assert retry.status_code == 201 and "idempotent-replayed" not in retry.headers
    assert clients(engine, "acme").count("zeta") == 1


def test_two_partners_use_one_key_independently(
    api: TestClient, engine: Engine, keys: dict[str, dict[str, str]], clock: Clock
) -> None:
    for partner in ("acme", "globex"):
        answer = api.post("/v1/clients", json=CLIENT, headers=with_key(keys[partner], "same"))
        assert answer.status_code == 201 and "idempotent-replayed" not in answer.headers
        assert "zeta" in clients(engine, partner)
    assert kept(engine, "acme") == kept(engine, "globex") == 1


def test_an_expired_key_runs_the_request_anew(
    api: TestClient, engine: Engine, keys: dict[str, dict[str, str]], clock: Clock
) -> None:
    headers = with_key(keys["acme"], "k-5")
    assert api.post("/v1/clients", json=CLIENT, headers=headers).status_code == 201
    clock.now += idempotency.WINDOW
    fresh = api.post("/v1/clients", json={**CLIENT, "id": "eta"}, headers=headers)
    assert fresh.status_code == 201 and fresh.json()["id"] == "eta"
    assert "idempotent-replayed" not in fresh.headers
    assert {"zeta", "eta"} <= set(clients(engine, "acme"))
    # and the key now holds the new request's answer
    again = api.post("/v1/clients", json={**CLIENT, "id": "eta"}, headers=headers)
    assert again.content == fresh.content and again.headers["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize(
    ("key", "why"),
    [("x" * 256, "256 characters"), ("clé", "printable ASCII"), ("a\tb", "printable ASCII")],
)
def test_a_key_that_cannot_be_stored_is_refused(
    api: TestClient, engine: Engine, keys: dict[str, dict[str, str]], key: str, why: str
) -> None:
    headers: dict[str, str | bytes] = {**keys["acme"], "Idempotency-Key": key.encode()}
    answer = api.post("/v1/clients", json=CLIENT, headers=headers)
    assert answer.status_code == 400
    assert "Idempotency-Key" in answer.json()["detail"] and why in answer.json()["detail"]
    assert "zeta" not in clients(engine, "acme")


def test_a_key_of_255_characters_is_fine(
    api: TestClient, keys: dict[str, dict[str, str]], clock: Clock
) -> None:
    headers = with_key(keys["acme"], "k" * 255)
    assert api.post("/v1/clients", json=CLIENT, headers=headers).status_code == 201
    assert (
        api.post("/v1/clients", json=CLIENT, headers=headers).headers["Idempotent-Replayed"]
        == "true"
    )


def test_an_invalid_body_is_not_kept(
    api: TestClient, engine: Engine, keys: dict[str, dict[str, str]], clock: Clock
) -> None:
    """Stripe keeps nothing for a request that fails validation: the route never began."""
    headers = with_key(keys["acme"], "k-6")
    assert api.post("/v1/clients", json={"id": "zeta"}, headers=headers).status_code == 422
    assert kept(engine, "acme") == 0
    assert api.post("/v1/clients", json=CLIENT, headers=headers).status_code == 201


def test_a_concurrent_retry_is_told_the_first_is_in_progress(
    api: TestClient,
    engine: Engine,
    keys: dict[str, dict[str, str]],
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first request is held inside the route by the test (no sleeps): the second,
    with the same key, must not run the route too."""
    real = tenant_endpoints.service.create_client
    inside, go_on = threading.Event(), threading.Event()
    runs: list[str] = []

    def held(*args: Any, **kwargs: Any) -> Any:
        runs.append("run")
        inside.set()
        assert go_on.wait(timeout=60)
        return real(*args, **kwargs)

    monkeypatch.setattr(tenant_endpoints.service, "create_client", held)
    headers = with_key(keys["acme"], "k-7")
    answers: dict[str, Any] = {}
    first = threading.Thread(
        target=lambda: answers.update(first=api.post("/v1/clients", json=CLIENT, headers=headers))
    )
    first.start()
    try:
        assert inside.wait(timeout=60)
        second = api.post("/v1/clients", json=CLIENT, headers=headers)
        assert second.status_code == 409
        assert "in progress" in second.json()["detail"]
    finally:
        go_on.set()
        first.join(timeout=60)
    assert answers["first"].status_code == 201
    assert runs == ["run"] and clients(engine, "acme").count("zeta") == 1
    replay = api.post("/v1/clients", json=CLIENT, headers=headers)
    assert replay.content == answers["first"].content


def test_the_header_is_documented_on_every_creating_route(api: TestClient) -> None:
    spec = api.get("/openapi.json").json()
    creating = [
        "/v1/clients",
        "/v1/usage-types",
        "/v1/invoices/{key}/payments",
        "/v1/invoices/{key}/credit-notes",
        "/v1/invoices/{key}/portal-links",
    ]
    for path in creating:
        params = spec["paths"][path]["post"].get("parameters", [])
        [header] = [p for p in params if p["name"] == "Idempotency-Key"]
        assert header["in"] == "header" and not header.get("required", False)
        assert "24 hours" in header["description"]
        answers = spec["paths"][path]["post"]["responses"]
        assert "application/problem+json" in answers["409"]["content"]  # same key, running
        assert "another request" in answers["422"]["description"]  # same key, other request
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            if (path, method) in {(p, "post") for p in creating}:
                continue
            names = [p["name"] for p in operation.get("parameters", [])]
            assert "Idempotency-Key" not in names, (method, path)


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.sampled_from(["same", "same-respaced", "other-body", "later"]), min_size=1, max_size=8
    )
)
def test_any_sequence_of_retries_creates_one_client(
    api: TestClient, engine: Engine, keys: dict[str, dict[str, str]], clock: Clock, steps: list[str]
) -> None:
    """Whatever a client retries, and whenever within the window: one client, every
    success the same answer, every other request under the key refused."""
    name = f"c-{uuid.uuid4().hex[:12]}"
    headers = with_key(keys["acme"], name)
    body = {"id": name, "name": "Retried"}
    successes = []
    for step in ["same", *steps]:
        if step == "later":
            clock.now += timedelta(hours=2)  # 16 hours at most: within the window
            continue
        if step == "other-body":
            answer = api.post("/v1/clients", json={**body, "name": "Else"}, headers=headers)
            assert answer.status_code == 422
            continue
        content = json.dumps(body, indent=1 if step == "same-respaced" else None)
        answer = api.post(
            "/v1/clients",
            content=content,
            headers={**headers, "Content-Type": "application/json"},
        )
        assert answer.status_code == 201
        successes.append(answer.content)
    assert len(set(successes)) == 1
    assert clients(engine, "acme").count(name) == 1
