"""Charging an auto-charge invoice: success, declines, requires_action, dunning, unknown outcomes."""

from __future__ import annotations

from datetime import timedelta

from billing.invoicing.models import InvoiceStatus
from billing.payments import payments_for_invoice
from sandbox.stripe import stripe_fee
from sync.stripe import ChargeStatus, charge_due_invoices
from tests.billing.invoicing.builders import balance
from tests.sync.stripe.conftest import PARTNER, T0, World


def _payments(world: World) -> list[object]:
    with world.session() as session:
        return list(payments_for_invoice(session, PARTNER, world.invoice_id))


def test_success_charges_the_invoice_total_and_records_the_payment_once(world: World) -> None:
    world.save_card()
    report = charge_due_invoices(world.engine, now=T0)
    assert report.queued == 1 and report.outcomes["succeeded"] == 1
    intents = world.fake.intents_for_invoice(world.invoice_id)
    assert len(intents) == 1
    assert intents[0]["amount"] == world.total_minor == 3559  # (20.00 + 12.35) + 10% VAT 3.24
    assert intents[0]["currency"] == "usd"
    sent = world.fake.requests_to("/v1/payment_intents", "POST")[0]
    assert sent.headers["idempotency-key"].endswith(f":charge:{world.invoice_id}:1")
    invoice = world.invoice()
    assert invoice.status is InvoiceStatus.PAID and invoice.amount_due_minor == 0
    payments = _payments(world)
    assert len(payments) == 1
    fee = stripe_fee(world.total_minor)
    assert payments[0].fee_minor == fee
    with world.session() as session:
        assert balance(session, "1050") == world.total_minor - fee  # Stripe clearing, net
        assert balance(session, "6100") == fee  # payment fees
        assert balance(session, "1200") == 2000  # only c2's invoice (not auto-charge) is left
    row = world.charge()
    assert row.status is ChargeStatus.SUCCEEDED and row.attempts == 1
    # The webhook for the same success arrives afterwards: nothing new.
    event = world.fake.events_of("payment_intent.succeeded")[0]
    assert world.deliver(event).status_code == 200
    assert len(_payments(world)) == 1
    # Nothing more is due.
    assert sum(charge_due_invoices(world.engine, now=T0 + timedelta(days=9)).outcomes.values()) == 0
    assert len(world.fake.intents) == 1


def test_no_card_is_a_failed_attempt_with_a_link_to_save_one(world: World) -> None:
    report = charge_due_invoices(world.engine, now=T0)
    assert report.outcomes["declined"] == 1
    row = world.charge()
    assert row.last_decline_code == "no_payment_method"
    assert world.fake.intents == {}  # nothing to charge without a card


def _decline_first(world: World, card: str) -> None:
    world.save_card(card)
    report = charge_due_invoices(world.engine, now=T0)
    assert report.outcomes["declined"] == 1


def test_insufficient_funds_schedules_a_retry_and_tells_client_and_partner(world: World) -> None:
    _decline_first(world, "pm_card_chargeDeclinedInsufficientFunds")
    row = world.charge()
    assert row.status is ChargeStatus.RETRY_SCHEDULED
    assert row.last_decline_code == "insufficient_funds"
    assert row.next_attempt_at == T0 + timedelta(days=3)
    mails = world.mails()
    to = {m.to_address: m for m in mails}
    client, partner = to["one@example.com"], to["finance@acme.example"]
    client_text = world.text(client)
    assert "insufficient funds" in client_text and "checkout.stripe.com" in client_text
    assert "2026" in client_text or str((T0 + timedelta(days=3)).year) in client_text
    assert "insufficient funds" in world.text(partner)
    assert world.invoice().status is InvoiceStatus.ISSUED


def test_dunning_retries_on_the_schedule_then_fails_and_tells_the_partner(world: World) -> None:
    _decline_first(world, "pm_card_chargeDeclined")
    assert world.charge().last_decline_code == "generic_decline"
    for day, expected in ((2, 0), (3, 1), (4, 0), (5, 1), (6, 0)):
        report = charge_due_invoices(world.engine, now=T0 + timedelta(days=day))
        assert sum(report.outcomes.values()) == expected, day
    assert world.charge().next_attempt_at == T0 + timedelta(days=7)
    report = charge_due_invoices(world.engine, now=T0 + timedelta(days=7))
    assert report.outcomes["failed"] == 1
    row = world.charge()
    assert row.status is ChargeStatus.FAILED and row.attempts == 4
    assert row.next_attempt_at is None
    keys = [r.headers["idempotency-key"] for r in world.fake.requests_to("/v1/payment_intents")]
    assert [k.rsplit(":", 1)[1] for k in keys] == ["1", "2", "3", "4"]
    kinds = [m.kind for m in world.mails()]
    assert (
        kinds.count("stripe_declined_client") == 3 and kinds.count("stripe_declined_partner") == 3
    )
    assert kinds.count("stripe_failed_client") == 1 and kinds.count("stripe_failed_partner") == 1
    assert len(_payments(world)) == 0
    assert charge_due_invoices(world.engine, now=T0 + timedelta(days=30)).outcomes.total() == 0


def test_partner_dunning_days_are_used(world: World) -> None:
    with world.session() as session:
        from billing.tenants.models import Partner

        partner = session.get(Partner, PARTNER)
        assert partner is not None
        partner.settings = {**partner.settings, "dunning_days": [1, 2]}
        session.add(partner)
        session.commit()
    _decline_first(world, "pm_card_chargeDeclined")
    assert world.charge().next_attempt_at == T0 + timedelta(days=1)
    charge_due_invoices(world.engine, now=T0 + timedelta(days=1))
    assert world.charge().next_attempt_at == T0 + timedelta(days=2)
    charge_due_invoices(world.engine, now=T0 + timedelta(days=2))
    assert world.charge().status is ChargeStatus.FAILED


def test_authentication_required_emails_the_client_a_link_and_stops_retrying(world: World) -> None:
    world.save_card("pm_card_authenticationRequired")
    report = charge_due_invoices(world.engine, now=T0)
    assert report.outcomes["action"] == 1
    row = world.charge()
    assert row.status is ChargeStatus.REQUIRES_ACTION and row.action_url
    client_mail = [m for m in world.mails() if m.kind == "stripe_action_client"]
    assert len(client_mail) == 1 and row.action_url in world.text(client_mail[0])
    assert charge_due_invoices(world.engine, now=T0 + timedelta(days=8)).outcomes.total() == 0
    # The client confirms on Stripe's page: the payment arrives by webhook.
    session_id = row.action_url.rsplit("/", 1)[1]
    completed = world.fake.complete_checkout(session_id)
    succeeded = world.fake.events_of("payment_intent.succeeded")[-1]
    first, second = world.deliver(completed), world.deliver(succeeded)
    assert (first.status_code, second.status_code) == (200, 200), (first, second)
    assert world.invoice().status is InvoiceStatus.PAID, (first, second)
    assert world.charge().status is ChargeStatus.SUCCEEDED
    payments = _payments(world)
    assert len(payments) == 1 and payments[0].amount_minor == world.total_minor


def test_requires_action_status_without_an_error(world: World) -> None:
    world.save_card("pm_card_requiresAction")
    assert charge_due_invoices(world.engine, now=T0).outcomes["action"] == 1
    assert world.charge().status is ChargeStatus.REQUIRES_ACTION


def test_a_new_card_saved_during_dunning_is_charged_at_once(world: World) -> None:
    _decline_first(world, "pm_card_chargeDeclined")
    link_mail = world.text(next(m for m in world.mails() if m.kind == "stripe_declined_client"))
    session_id = link_mail.split("https://checkout.stripe.com/c/pay/", 1)[1].split()[0]
    event = world.fake.complete_checkout(session_id, "pm_card_visa")
    assert world.deliver(event).status_code == 200
    with world.session() as session:
        from sync.stripe.repository import customer_for_client

        customer = customer_for_client(session, PARTNER, "c1")
        assert customer is not None and customer.card_last4 == "4242"
    report = charge_due_invoices(world.engine, now=T0 + timedelta(hours=1))
    assert report.outcomes["succeeded"] == 1
    assert world.invoice().status is InvoiceStatus.PAID


def test_unknown_outcome_is_repeated_with_the_same_key_and_charges_once(world: World) -> None:
    world.save_card()
    world.fake.fail_next("timeout_after_commit", path_contains="payment_intents")
    report = charge_due_invoices(world.engine, now=T0)
    assert report.outcomes["repeat"] == 1
    row = world.charge()
    assert row.status is ChargeStatus.PENDING and row.uncertain and row.attempts == 0
    assert charge_due_invoices(world.engine, now=T0 + timedelta(minutes=1)).outcomes.total() == 0
    report = charge_due_invoices(world.engine, now=T0 + timedelta(minutes=5))
    assert report.outcomes["succeeded"] == 1
    assert len(world.fake.intents_for_invoice(world.invoice_id)) == 1
    keys = {r.headers["idempotency-key"] for r in world.fake.requests_to("/v1/payment_intents")}
    assert len(keys) == 1
    assert len(_payments(world)) == 1


def test_a_crashed_worker_leaves_a_claim_that_lapses(world: World) -> None:
    world.save_card()
    from config.db import session_factory
    from sync.stripe.charging import CLAIM_LEASE, _claim, enqueue_charges

    with world.session() as session:
        enqueue_charges(session, T0)
        session.commit()
    sessions = session_factory(world.engine)
    assert _claim(sessions, world.charge().id or 0, T0) is not None  # then the worker dies
    assert charge_due_invoices(world.engine, now=T0 + timedelta(minutes=1)).outcomes.total() == 0
    report = charge_due_invoices(world.engine, now=T0 + CLAIM_LEASE)
    assert report.outcomes["succeeded"] == 1


def test_an_invoice_paid_another_way_is_not_charged(world: World) -> None:
    world.save_card()
    with world.session() as session:
        from datetime import UTC, datetime

        from billing.payments import record_payment
        from billing.payments.models import PaymentMethod, PaymentSource

        record_payment(
            session,
            partner_id=PARTNER,
            invoice_id=world.invoice_id,
            amount_minor=world.total_minor,
            currency="USD",
            source=PaymentSource.MANUAL,
            external_id="bank-1",
            received_at=datetime.now(UTC),
            method=PaymentMethod.BANK_TRANSFER,
        )
        session.commit()
    charge_due_invoices(world.engine, now=T0)
    assert world.fake.intents == {}


def test_rate_limited_attempt_waits_and_repeats_with_the_same_key(world: World) -> None:
    world.save_card()
    world.fake.fail_next("429", path_contains="payment_intents")
    report = charge_due_invoices(world.engine, now=T0)
    assert report.outcomes["repeat"] == 1
    assert world.charge().status is ChargeStatus.PENDING and world.charge().attempts == 0
    assert world.mails() == []  # nobody is told of our own transient trouble
    report = charge_due_invoices(world.engine, now=T0 + timedelta(minutes=5))
    assert report.outcomes["succeeded"] == 1
    keys = {r.headers["idempotency-key"] for r in world.fake.requests_to("/v1/payment_intents")}
    assert len(keys) == 1 and len(world.fake.intents) == 1


def test_concurrent_runs_charge_once(world: World) -> None:
    import threading

    world.save_card()
    results: list[object] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(charge_due_invoices(world.engine, now=T0))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(world.fake.intents) == 1
    assert len(_payments(world)) == 1
    assert world.invoice().status is InvoiceStatus.PAID
