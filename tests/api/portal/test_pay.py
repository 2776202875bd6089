"""Paying from the portal through the Stripe fake's Checkout: the session is for exactly the
amount still due, a double click makes one session, and the payment arrives through the
existing webhook route, recorded once however the events come (both event types, each twice).
Saving a card through the setup-mode session. A paid invoice shows no pay button."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlmodel import Session, col

from api.app import create_app
from billing.invoicing.models import Invoice, InvoiceStatus
from billing.payments.manual import record_manual_payment
from billing.payments.models import Payment
from billing.portal import issue_link
from sandbox.stripe import FakeStripe, signed_delivery, stripe_fee
from sync.stripe import connect_account
from sync.stripe.models import ChargeStatus, StripeCharge, StripeCustomer
from sync.stripe.repository import account_for_partner
from tests.api.portal.conftest import TOML, World, build, email_of, link_in, path_of
from tests.billing.invoicing.builders import balance
from tests.fakes.stripe_served import STRIPE_BASE, served_stripe

BASE = STRIPE_BASE
SECRET = "whsec_portal_test"


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    with served_stripe() as fake:  # every request and answer against Stripe's OpenAPI
        yield fake


@pytest.fixture
def stripe_world(engine: Any, session: Session, fake: FakeStripe) -> World:
    last, earlier, other = build(session)
    connect_account(session, "acme", secret_key=fake.api_key, webhook_secret=SECRET, api_base=BASE)
    session.commit()
    return World(engine, last, earlier, other)


@pytest.fixture
def app_client(stripe_world: World) -> TestClient:
    return TestClient(create_app(), follow_redirects=False)


def deliver(client: TestClient, event: dict[str, Any]) -> None:
    payload, headers = signed_delivery(event, SECRET)
    answer = client.post("/webhooks/stripe", content=payload, headers=headers)
    assert answer.status_code == 200, answer.text


def payments(world: World) -> int:
    with world.session() as session:
        return int(session.execute(select(func.count()).select_from(Payment)).scalar_one())


def invoice(world: World) -> Invoice:
    with world.session() as session:
        found = session.get(Invoice, world.last.id)
        assert found is not None
        return found


def session_id(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_pay_through_checkout_is_recorded_once(
    app_client: TestClient, stripe_world: World, fake: FakeStripe
) -> None:
    world = stripe_world
    assert world.last.number is not None
    link = path_of(link_in(email_of(world.engine, world.last.number)))
    page = app_client.get(link)
    assert 'data-testid="pay"' in page.text and 'data-testid="instructions"' not in page.text
    assert 'data-testid="update-card"' not in page.text  # not charged automatically, no card
    pay = f"{link}/invoices/{world.last.id}/pay"
    first, second = app_client.post(pay), app_client.post(pay)  # a double click
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert first.headers["referrer-policy"] == "no-referrer"
    assert len(fake.sessions) == 1
    checkout = next(iter(fake.sessions.values()))
    assert checkout["mode"] == "payment"
    assert int(checkout["line_items"][0]["price_data"]["unit_amount"]) == world.last.total_minor
    assert checkout["metadata"]["rebill_invoice_id"] == str(world.last.id)

    completed = fake.complete_checkout(session_id(first.headers["location"]))
    succeeded = fake.events_of("payment_intent.succeeded")[-1]
    for event in (completed, succeeded, completed, succeeded):
        deliver(app_client, event)
    assert payments(world) == 1
    paid = invoice(world)
    assert paid.status is InvoiceStatus.PAID and paid.amount_paid_minor == world.last.total_minor
    with world.session() as session:  # one payment in the books: Stripe clearing = net once
        assert balance(session, "1050") == world.last.total_minor - stripe_fee(
            world.last.total_minor
        )

    after = app_client.get(f"{link}/invoices/{world.last.id}?checkout=success")
    assert 'data-testid="pay"' not in after.text and ">paid<" in after.text
    assert app_client.post(pay).headers["location"].endswith(f"/invoices/{world.last.id}")
    assert len(fake.sessions) == 1  # nothing to pay: no new session


def test_only_the_amount_still_due(
    app_client: TestClient, stripe_world: World, fake: FakeStripe
) -> None:
    world = stripe_world
    with world.session() as session:
        record_manual_payment(session, "acme", world.last.invoice_id, amount="1.00", reference="x")
        session.commit()
    due = invoice(world).amount_due_minor
    assert due == world.last.total_minor - 100
    link = path_of(link_in(email_of(world.engine, str(world.last.number))))
    assert app_client.post(f"{link}/invoices/{world.last.id}/pay").status_code == 303
    checkout = next(iter(fake.sessions.values()))
    assert int(checkout["line_items"][0]["price_data"]["unit_amount"]) == due


def test_update_the_saved_card(engine: Any, session: Session, fake: FakeStripe) -> None:
    """An automatically charged client saves (then sees) its card."""
    auto = TOML.replace(
        'tax = { name = "VAT", percent = "10" }',
        'tax = { name = "VAT", percent = "10" }\nauto_charge = true',
    )
    last, earlier, other = build(session, auto)
    assert last.auto_charge
    connect_account(session, "acme", secret_key=fake.api_key, webhook_secret=SECRET, api_base=BASE)
    session.commit()
    world = World(engine, last, earlier, other)
    app_client = TestClient(create_app(), follow_redirects=False)
    link = path_of(link_in(email_of(world.engine, str(world.last.number))))
    assert "No card saved." in app_client.get(link).text
    answer = app_client.post(f"{link}/card")
    assert answer.status_code == 303
    checkout = fake.sessions[session_id(answer.headers["location"])]
    assert checkout["mode"] == "setup"
    deliver(app_client, fake.complete_checkout(checkout["id"]))
    with world.session() as session:
        row = session.execute(
            select(StripeCustomer).where(col(StripeCustomer.client_id) == "c1")
        ).scalar_one()
        assert row.payment_method_id is not None and row.card_last4
    assert f"ending {row.card_last4}" in app_client.get(link).text


def test_a_fresh_link_the_same_day_still_opens_checkout(
    app_client: TestClient, stripe_world: World, fake: FakeStripe
) -> None:
    """The Stripe idempotency key includes the link: the same amount from another link (its
    own return URL) is a new session, not Stripe's idempotency error."""
    world = stripe_world
    first = path_of(link_in(email_of(world.engine, str(world.last.number))))
    with world.session() as session:
        fresh = issue_link(session, invoice(world))
        session.commit()
    second = path_of(fresh.url)
    for link in (first, second):
        answer = app_client.post(f"{link}/invoices/{world.last.id}/pay")
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("https://checkout.stripe.com/"), answer.headers
    assert len(fake.sessions) == 2


def test_no_checkout_while_the_saved_card_is_being_charged(
    app_client: TestClient, stripe_world: World, fake: FakeStripe
) -> None:
    """A worker holds the automatic charge (or Stripe is still deciding it): the page offers
    no Checkout and says the card is being charged, and a POST to pay opens no session. Once
    the charge is settled elsewhere, paying is offered again."""
    world = stripe_world
    account = fake_account(world)
    with world.session() as session:
        charge = StripeCharge(
            partner_id="acme",
            invoice_id=world.last.invoice_id,
            account_id=account,
            status=ChargeStatus.PROCESSING,
            amount_minor=world.last.total_minor,
            currency=world.last.currency,
        )
        session.add(charge)
        session.commit()
        charge_id = charge.id
    link = path_of(link_in(email_of(world.engine, str(world.last.number))))
    page = app_client.get(f"{link}/invoices/{world.last.id}")
    assert 'data-testid="charging"' in page.text and 'data-testid="pay"' not in page.text
    answer = app_client.post(f"{link}/invoices/{world.last.id}/pay")
    assert answer.status_code == 303 and "checkout.stripe" not in answer.headers["location"]
    assert fake.sessions == {}

    with world.session() as session:
        held = session.get(StripeCharge, charge_id)
        assert held is not None
        held.status = ChargeStatus.FAILED
        session.add(held)
        session.commit()
    page = app_client.get(f"{link}/invoices/{world.last.id}")
    assert 'data-testid="pay"' in page.text and 'data-testid="charging"' not in page.text


def fake_account(world: World) -> str:
    with world.session() as session:
        found = account_for_partner(session, "acme")
        assert found is not None
        return found.id
