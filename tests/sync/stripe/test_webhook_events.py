"""`payment.failed` and `payment.succeeded` from the Stripe charging path."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from billing.webhooks import EventType
from sync.stripe import charge_due_invoices
from tests.billing.webhooks.emitted import emitted, subscribe
from tests.sync.stripe.conftest import PARTNER, T0, World


def test_a_declined_charge_emits_payment_failed_then_a_good_card_payment_succeeded(
    world: World,
) -> None:
    with Session(world.engine) as session:
        subscribe(session, PARTNER)
    world.save_card("pm_card_chargeDeclinedInsufficientFunds")
    assert charge_due_invoices(world.engine, now=T0).outcomes["declined"] == 1
    with Session(world.engine) as session:
        [failed] = emitted(session, EventType.PAYMENT_FAILED)
        assert emitted(session, EventType.PAYMENT_SUCCEEDED) == []
    data = failed["data"]
    assert data["invoice_id"] == str(world.invoice_id)
    assert data["amount_minor"] == world.total_minor and data["attempt"] == 1
    assert data["reason"] == "insufficient_funds"
    assert data["next_attempt_at"] is not None and data["external_id"]
    charge_due_invoices(world.engine, now=T0 + timedelta(days=3, hours=1))  # the retry, declined
    with Session(world.engine) as session:
        assert len(emitted(session, EventType.PAYMENT_FAILED)) == 2  # one per attempt
    world.save_card("pm_card_visa")
    outcomes = [
        charge_due_invoices(world.engine, now=T0 + timedelta(days=day)).outcomes["succeeded"]
        for day in range(4, 30)
    ]
    assert sum(outcomes) == 1
    with Session(world.engine) as session:
        [succeeded] = emitted(session, EventType.PAYMENT_SUCCEEDED)
        [paid] = emitted(session, EventType.INVOICE_PAID)
    assert succeeded["data"]["amount_minor"] == world.total_minor
    assert succeeded["data"]["source"] == "stripe"
    assert paid["data"]["invoice_id"] == str(world.invoice_id)
