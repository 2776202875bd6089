"""FreshBooks webhooks: the pure signature and verification helpers, then `receive` against the
database and the fake (a verifier is stored only once FreshBooks accepted it; events need its
signature), and the `/webhooks/freshbooks` route."""

from __future__ import annotations

import warnings
from urllib.parse import urlencode

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from billing.tenants.models import Partner
from connectors.connections.crypto import TokenCipher
from connectors.connections.models import Connection, ConnectionStatus, Provider
from connectors.freshbooks.callbacks import CallbackVerifier, receive
from connectors.freshbooks.models import FreshBooksCallback
from connectors.freshbooks.webhooks import (
    WebhookError,
    WebhookEvent,
    parse_event,
    sign,
    verification_request,
    verify_signature,
)
from sandbox.freshbooks import FakeFreshBooks
from sandbox.transport import FakeTokens
from tests.connectors.test_freshbooks import ACCOUNT, make_connector

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

EVENT = {
    "name": "invoice.update",
    "object_id": "1234567",
    "account_id": ACCOUNT,
    "business_id": "6543",
    "identity_id": "1234",
    "user_id": "1",
}


def form(fields: dict[str, str]) -> bytes:
    return urlencode(fields).encode()


# --- pure helpers --------------------------------------------------------------------------


def test_signature_is_base64_hmac_of_the_form_as_json() -> None:
    body = form(EVENT)
    good = sign("s3cret", EVENT)
    assert verify_signature("s3cret", body, good)
    assert not verify_signature("other", body, good)  # wrong verifier
    tampered = form({**EVENT, "object_id": "7654321"})
    assert not verify_signature("s3cret", tampered, good)
    assert not verify_signature("s3cret", body, None)
    assert not verify_signature("", body, good)


def test_a_signature_over_the_raw_body_is_accepted_too() -> None:
    import base64
    import hashlib
    import hmac

    body = form(EVENT)
    raw = base64.b64encode(hmac.new(b"s3cret", body, hashlib.sha256).digest()).decode()
    assert verify_signature("s3cret", body, raw)


def test_parse_event_and_what_it_names() -> None:
    event = parse_event(form(EVENT))
    assert (event.name, event.kind, event.object_id, event.account_id) == (
        "invoice.update",
        "invoice",
        "1234567",
        ACCOUNT,
    )
    assert not event.is_verification and event.verifier is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"", "name"),
        (form({"name": "invoice.update", "object_id": "1"}), "account_id"),
        (form({"name": "nodot", "object_id": "1", "account_id": "a"}), "name"),
        (form({"name": "callback.verify", "object_id": "9", "account_id": "a"}), "verifier"),
        (b"\xff\xfe", "body"),
        (form({"name": "invoice.update", "object_id": "1", "account_id": "a\x00"}), "account_id"),
    ],
)
def test_bad_callbacks_name_the_field(body: bytes, field: str) -> None:
    with pytest.raises(WebhookError) as info:
        parse_event(body)
    assert info.value.field == field


def test_verification_request_sends_the_verifier_back() -> None:
    event = parse_event(
        form({"name": "callback.verify", "object_id": "9", "account_id": "acc", "verifier": "v"})
    )
    request = verification_request(event)
    assert (request.method, request.path) == ("PUT", "/events/account/acc/events/callbacks/9")
    assert request.body == {"callback": {"verifier": "v"}}
    with pytest.raises(WebhookError):
        verification_request(WebhookEvent("invoice.create", "1", "acc"))


# --- receive, against the database and the fake --------------------------------------------


@pytest.fixture
def fake() -> FakeFreshBooks:
    fake = FakeFreshBooks(ACCOUNT)
    fake.callbacks[9] = {
        "callbackid": 9,
        "event": "invoice.update",
        "uri": "u",
        "verified": False,
        "verifier": "s3cret",
    }
    return fake


@pytest.fixture
def connection(engine: Engine) -> str:
    with Session(engine) as session:
        session.add(
            Partner(id="acme", name="Acme", currency="USD", timezone="UTC", invoice_prefix="ACME")
        )
        session.commit()
        row = Connection(
            partner_id="acme",
            name="books",
            provider=Provider.FRESHBOOKS,
            status=ConnectionStatus.ACTIVE,
            remote_tenant=ACCOUNT,
        )
        session.add(row)
        session.commit()
        return row.id


CIPHER = TokenCipher("test-secret")


def opener(fake: FakeFreshBooks, opened: list[str]) -> object:
    def open_connector(connection_id: str) -> CallbackVerifier:
        opened.append(connection_id)
        return make_connector(fake, FakeTokens(fake))

    return open_connector


def verify_body(verifier: str) -> bytes:
    return form(
        {
            "name": "callback.verify",
            "object_id": "9",
            "account_id": ACCOUNT,
            "verifier": verifier,
            "user_id": "1",
        }
    )


@pytest.mark.anyio
async def test_verification_then_signed_events(
    engine: Engine, connection: str, fake: FakeFreshBooks
) -> None:
    opened: list[str] = []
    seen: list[tuple[str, str]] = []
    result = await receive(
        engine,
        verify_body("s3cret"),
        None,
        open_connector=opener(fake, opened),  # type: ignore[arg-type]
        cipher=CIPHER,
    )
    assert (result.status_code, result.detail) == (200, "verified")
    assert opened == [connection] and fake.callbacks[9]["verified"] is True
    with Session(engine) as session:
        row = session.get(FreshBooksCallback, (ACCOUNT, "9"))
        assert row is not None and row.verified_at is not None
        assert "s3cret" not in row.verifier_enc and CIPHER.decrypt(row.verifier_enc) == "s3cret"

    def on_event(connection_id: str, event: WebhookEvent) -> None:
        seen.append((connection_id, event.name))

    body = form(EVENT)
    ok = await receive(engine, body, sign("s3cret", EVENT), on_event=on_event, cipher=CIPHER)
    assert ok.status_code == 200 and seen == [(connection, "invoice.update")]
    bad = await receive(engine, body, sign("nope", EVENT), on_event=on_event, cipher=CIPHER)
    assert bad.status_code == 401 and "does not match" in bad.detail
    missing = await receive(engine, body, None, on_event=on_event, cipher=CIPHER)
    assert missing.status_code == 401 and len(seen) == 1


@pytest.mark.anyio
async def test_a_forged_verifier_is_refused_by_freshbooks_and_not_stored(
    engine: Engine, connection: str, fake: FakeFreshBooks
) -> None:
    result = await receive(
        engine,
        verify_body("forged"),
        None,
        open_connector=opener(fake, []),  # type: ignore[arg-type]
        cipher=CIPHER,
    )
    assert result.status_code == 502 and "verifier" in result.detail
    with Session(engine) as session:
        assert session.get(FreshBooksCallback, (ACCOUNT, "9")) is None
    assert fake.callbacks[9]["verified"] is False


@pytest.mark.anyio
async def test_events_before_any_verification_and_unknown_accounts(
    engine: Engine, connection: str
) -> None:
    early = await receive(engine, form(EVENT), sign("s3cret", EVENT), cipher=CIPHER)
    assert early.status_code == 401 and "no verified" in early.detail
    other = {**EVENT, "account_id": "someone-else"}
    unknown = await receive(engine, form(other), sign("s3cret", other), cipher=CIPHER)
    assert unknown.status_code == 404
    junk = await receive(engine, b"name=x", None, cipher=CIPHER)
    assert junk.status_code == 400


def test_the_route_answers_with_receive(engine: Engine, connection: str) -> None:
    from api.app import create_app

    with TestClient(create_app()) as client:
        bad = client.post("/webhooks/freshbooks", content=b"not a form")
        assert bad.status_code == 400
        unsigned = client.post(
            "/webhooks/freshbooks",
            content=form(EVENT),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert unsigned.status_code == 401
        assert unsigned.json()["event"] == "invoice.update"
