"""Webhooks: signatures, each event once, out of order, refunds, disputes, payouts."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlmodel import col

from api.webhooks import router as webhooks_router
from billing.invoicing.models import InvoiceStatus
from billing.payments.models import Dispute, Payment, Payout, Refund
from connectors.stripe import signature_header
from sandbox.stripe import signed_delivery, stripe_fee
from sync.stripe import EventStatus, StripeEvent, charge_due_invoices, receive_delivery
from tests.billing.invoicing.builders import balance
from tests.sync.stripe.conftest import SECRET, T0, World


def _count(world: World, model: Any) -> int:
    with world.session() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def _paid(world: World) -> dict[str, Any]:
    """Charge the invoice; return the `payment_intent.succeeded` event Stripe sent."""
    world.save_card()
    charge_due_invoices(world.engine, now=T0)
    return world.fake.events_of("payment_intent.succeeded")[-1]


def _charge_id(world: World) -> str:
    return str(world.fake.intents_for_invoice(world.invoice_id)[0]["latest_charge"])


# ---- signatures --------------------------------------------------------------------------------


def test_signatures_valid_wrong_secret_stale_and_tampered(world: World) -> None:
    event = world.fake.pay_out(5000)
    payload, headers = signed_delivery(event, SECRET)
    good = headers["Stripe-Signature"]
    wrong = signature_header(payload, "whsec_someone_else")
    stale = signature_header(payload, SECRET, timestamp=int(time.time()) - 301)
    tampered = payload.replace(b"5000", b"9000")
    assert receive_delivery(world.engine, payload, wrong).status_code == 400
    stale_result = receive_delivery(world.engine, payload, stale)
    assert stale_result.status_code == 400 and "tolerance" in stale_result.detail
    assert receive_delivery(world.engine, tampered, good).status_code == 400
    assert receive_delivery(world.engine, payload, None).status_code == 400
    assert _count(world, StripeEvent) == 0 and _count(world, Payout) == 0
    assert receive_delivery(world.engine, payload, good).status_code == 200
    assert _count(world, Payout) == 1


def test_the_http_route_answers_400_for_a_bad_signature(world: World) -> None:
    app = FastAPI()
    app.include_router(webhooks_router)
    client = TestClient(app)
    event = world.fake.pay_out(700)
    payload, headers = signed_delivery(event, SECRET)
    bad = client.post(
        "/webhooks/stripe",
        content=payload,
        headers={**headers, "Stripe-Signature": signature_header(payload, "whsec_x")},
    )
    assert bad.status_code == 400
    ok = client.post("/webhooks/stripe", content=payload, headers=headers)
    assert ok.status_code == 200 and ok.json()["event"] == event["id"]
    again = client.post("/webhooks/stripe", content=payload, headers=headers)
    assert again.status_code == 200 and "duplicate" in again.json()["detail"]
    assert client.get("/webhooks/stripe/return?result=success").status_code == 200


# ---- each event once, in any order ---------------------------------------------------------------


def test_a_payment_is_recorded_once_however_often_it_is_delivered(world: World) -> None:
    world.save_card()
    world.fake.fail_next("500", path_contains="/v1/charges/")  # the fee cannot be read yet
    report = charge_due_invoices(world.engine, now=T0)
    assert report.outcomes["awaiting"] == 1 and _count(world, Payment) == 0
    event = world.fake.events_of("payment_intent.succeeded")[-1]
    for _ in range(3):
        assert world.deliver(event).status_code == 200
    assert _count(world, Payment) == 1
    assert world.invoice().status is InvoiceStatus.PAID
    assert world.charge().status.value == "succeeded"
    with world.session() as session:
        stored = session.execute(select(StripeEvent)).scalars().all()
        assert [(e.event_id, e.status) for e in stored] == [(event["id"], EventStatus.PROCESSED)]


def test_the_webhook_alone_records_a_payment_the_charge_path_never_saw(world: World) -> None:
    world.save_card()
    world.fake.fail_next("timeout_after_commit", path_contains="payment_intents")
    charge_due_invoices(world.engine, now=T0)  # Stripe charged; we do not know
    event = world.fake.events_of("payment_intent.succeeded")[-1]
    assert world.deliver(event).status_code == 200
    assert world.invoice().status is InvoiceStatus.PAID
    # The repeat of the uncertain attempt finds the invoice paid and charges nothing.
    charge_due_invoices(world.engine, now=T0 + timedelta(minutes=5))
    assert len(world.fake.intents) == 1 and _count(world, Payment) == 1
    with world.session() as session:
        assert balance(session, "6100") == stripe_fee(world.total_minor)


def test_a_refund_before_its_payment_event_records_both_once(world: World) -> None:
    world.save_card()
    world.fake.fail_next("timeout_after_commit", path_contains="payment_intents")
    charge_due_invoices(world.engine, now=T0)  # we never learnt of the success
    succeeded = world.fake.events_of("payment_intent.succeeded")[-1]
    refunded = world.fake.refund_charge(_charge_id(world), 1000)
    assert world.deliver(refunded).status_code == 200  # refund first: payment fetched
    assert _count(world, Payment) == 1 and _count(world, Refund) == 1
    assert world.deliver(succeeded).status_code == 200  # then the late success
    assert world.deliver(refunded).status_code == 200  # and a redelivery
    assert _count(world, Payment) == 1 and _count(world, Refund) == 1
    invoice = world.invoice()
    assert invoice.amount_paid_minor == world.total_minor - 1000


def test_refunds_post_a_credit_note_and_money_out(world: World) -> None:
    _paid(world)
    fee = stripe_fee(world.total_minor)
    first = world.fake.refund_charge(_charge_id(world), 559)
    assert world.deliver(first).status_code == 200
    second = world.fake.refund_charge(_charge_id(world))  # the rest
    assert world.deliver(second).status_code == 200
    with world.session() as session:
        refunds = session.execute(select(Refund).order_by(col(Refund.id))).scalars().all()
        assert [r.amount_minor for r in refunds] == [559, world.total_minor - 559]
        assert all(r.credit_note_id is not None for r in refunds)
        assert balance(session, "1050") == -fee  # all money back out of Stripe clearing
    assert world.invoice().amount_paid_minor == 0


def test_dispute_opened_then_won(world: World) -> None:
    _paid(world)
    created = world.fake.open_dispute(_charge_id(world))
    assert world.deliver(created).status_code == 200
    with world.session() as session:
        dispute = session.execute(select(Dispute)).scalar_one()
        assert (dispute.amount_minor, dispute.fee_minor) == (world.total_minor, 1500)
        assert dispute.status == "needs_response"
    assert world.invoice().amount_due_minor == world.total_minor
    closed = world.fake.close_dispute(str(created["data"]["object"]["id"]), "won")
    assert world.deliver(closed).status_code == 200
    with world.session() as session:
        assert session.execute(select(Dispute)).scalar_one().status == "won"
    assert world.invoice().amount_due_minor == 0


def test_dispute_closed_event_arriving_before_created(world: World) -> None:
    _paid(world)
    created = world.fake.open_dispute(_charge_id(world))
    lost = world.fake.close_dispute(str(created["data"]["object"]["id"]), "lost")
    assert world.deliver(lost).status_code == 200
    assert world.deliver(created).status_code == 200  # stale: changes nothing
    with world.session() as session:
        assert session.execute(select(Dispute)).scalar_one().status == "lost"
    assert world.invoice().amount_due_minor == world.total_minor


def test_payout_moves_clearing_to_bank(world: World) -> None:
    _paid(world)
    net = world.total_minor - stripe_fee(world.total_minor)
    event = world.fake.pay_out(net)
    assert world.deliver(event).status_code == 200
    assert world.deliver(event).status_code == 200
    with world.session() as session:
        assert balance(session, "1050") == 0
        assert balance(session, "1000") == net
    assert _count(world, Payout) == 1


def test_events_not_about_our_invoices_are_ignored(world: World) -> None:
    world.save_card()
    customer = next(iter(world.fake.customers))
    method = world.fake.add_card(customer)
    from connectors.stripe import StripeCredentials, StripeGateway

    gateway = StripeGateway(
        StripeCredentials("other", world.fake.api_key, api_base=world.fake.base_url)
    )
    gateway.charge_off_session(
        customer_id=customer,
        payment_method_id=method,
        amount_minor=999,
        currency="usd",
        description="something else",
        metadata={"order": "42"},
        key="other-1",
    )
    gateway.close()
    event = world.fake.events_of("payment_intent.succeeded")[-1]
    result = world.deliver(event)
    assert result.status_code == 200 and result.detail.startswith("ignored")
    unknown = {"id": "evt_unknown", "type": "customer.updated", "data": {"object": {"id": "c"}}}
    assert world.deliver(unknown).detail.startswith("ignored")
    assert _count(world, Payment) == 0


def test_stripe_unreachable_answers_503_and_a_redelivery_applies(world: World) -> None:
    _paid(world)
    refunded = world.fake.refund_charge(_charge_id(world), 100)
    world.fake.fail_next("500", path_contains="/v1/refunds")
    assert world.deliver(refunded).status_code == 503
    with world.session() as session:
        stored = session.execute(
            select(StripeEvent).where(col(StripeEvent.event_id) == refunded["id"])
        ).scalar_one()
        assert stored.status is EventStatus.FAILED and stored.last_error
    assert world.deliver(refunded).status_code == 200
    assert _count(world, Refund) == 1


def test_a_malformed_body_with_a_valid_signature_is_refused(world: World) -> None:
    payload = b'{"not": "an event"}'
    result = receive_delivery(world.engine, payload, signature_header(payload, SECRET))
    assert result.status_code == 400 and "not a Stripe event" in result.detail


def test_a_payment_for_a_voided_invoice_is_not_booked_and_the_partner_is_told(
    world: World,
) -> None:
    from billing.invoicing.service import void_invoice
    from sync.stripe import ChargeStatus

    world.save_card("pm_card_authenticationRequired")
    charge_due_invoices(world.engine, now=T0)
    row = world.charge()
    assert row.status is ChargeStatus.REQUIRES_ACTION and row.action_url
    with world.session() as session:
        void_invoice(session, "acme", world.invoice_id, "issued by mistake")
        session.commit()
    world.fake.complete_checkout(row.action_url.rsplit("/", 1)[1])  # the client pays anyway
    succeeded = world.fake.events_of("payment_intent.succeeded")[-1]
    result = world.deliver(succeeded)
    assert result.status_code == 200 and result.detail.startswith("not applied")
    assert _count(world, Payment) == 0
    with world.session() as session:
        stored = session.execute(
            select(StripeEvent).where(col(StripeEvent.event_id) == succeeded["id"])
        ).scalar_one()
        assert stored.status is EventStatus.FAILED and "void" in (stored.last_error or "")
    alerts = [m for m in world.mails() if m.kind == "stripe_alert_partner"]
    assert len(alerts) == 1 and alerts[0].to_address == "finance@acme.example"


def test_a_signed_body_too_deep_to_parse_is_400(world: World) -> None:
    """Correctly signed, nested 100,000 deep: refused with the reason, not a crash."""
    payload = b'{"id": "evt_deep", "type": "x", "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    result = receive_delivery(world.engine, payload, signature_header(payload, SECRET))
    assert result.status_code == 400
    assert result.detail == "body: nested too deeply to be a Stripe event"
    assert _count(world, StripeEvent) == 0
