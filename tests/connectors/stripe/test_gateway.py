"""The Stripe gateway against the fake: wire format, outcomes, idempotency, fees."""

from __future__ import annotations

import pytest

from connectors.base import (
    AuthExpiredError,
    NotFoundError,
    RateLimitedError,
    RejectedError,
    RetryableError,
)
from connectors.stripe import CardDeclinedError, StripeGateway, idempotency_key
from sandbox.stripe import FakeStripe, stripe_fee


def _customer(gateway: StripeGateway, key: str = "k-cus") -> str:
    return gateway.create_customer(
        client_id="c1", partner_id="acme", name="Client One", email="one@example.com", key=key
    ).id


def _charge(gateway: StripeGateway, customer: str, card: str, key: str, amount: int = 12345):
    return gateway.charge_off_session(
        customer_id=customer,
        payment_method_id=card,
        amount_minor=amount,
        currency="USD",
        description="Invoice ACME-1",
        metadata={"rebill_invoice_id": "7"},
        key=key,
    )


def test_idempotency_keys_are_deterministic_and_bounded() -> None:
    assert idempotency_key("conn", "charge", 7, 2) == "rebill:conn:charge:7:2"
    long = idempotency_key("c" * 300, "charge", 7, 2)
    assert len(long) <= 255 and long == idempotency_key("c" * 300, "charge", 7, 2)
    assert long != idempotency_key("c" * 300, "charge", 7, 3)


def test_customer_is_created_form_encoded_with_our_key(
    gateway: StripeGateway, fake: FakeStripe
) -> None:
    customer = _customer(gateway)
    sent = fake.requests_to("/v1/customers", "POST")[0]
    assert sent.headers["idempotency-key"] == "k-cus"
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert "metadata[rebill_client_id]=c1" in sent.body.replace("%5B", "[").replace("%5D", "]")
    assert fake.customers[customer]["metadata"] == {
        "rebill_client_id": "c1",
        "rebill_partner_id": "acme",
    }
    assert gateway.retrieve_customer(customer).email == "one@example.com"


def test_setup_link_and_saved_card(gateway: StripeGateway, fake: FakeStripe) -> None:
    customer = _customer(gateway)
    link = gateway.setup_link(
        customer_id=customer,
        success_url="https://x.test/ok",
        cancel_url="https://x.test/no",
        metadata={"rebill_client_id": "c1"},
        key="k-setup",
    )
    assert link.url.startswith("https://checkout.stripe.com/")
    event = fake.complete_checkout(link.id)
    method = gateway.payment_method_of_setup(event["data"]["object"]["setup_intent"])
    assert method is not None
    gateway.set_default_payment_method(customer, method, key="k-default")
    assert gateway.retrieve_customer(customer).default_payment_method == method
    card = gateway.card_of(method)
    assert (card.brand, card.last4, card.exp_year) == ("visa", "4242", 2034)


def test_successful_charge_has_the_fee_of_its_balance_transaction(
    gateway: StripeGateway, fake: FakeStripe
) -> None:
    customer = _customer(gateway)
    result = _charge(gateway, customer, fake.add_card(customer), "k1")
    assert (result.status, result.amount_minor, result.currency) == ("succeeded", 12345, "USD")
    assert result.charge_id is not None
    charge = gateway.retrieve_charge(result.charge_id)
    assert charge.fee is not None
    assert charge.fee.fee_minor == stripe_fee(12345) == 388  # 357.995 -> 358, + 30
    assert charge.payment_intent_id == result.id
    assert gateway.retrieve_payment_intent(result.id).metadata == {"rebill_invoice_id": "7"}
    sent = fake.requests_to("/v1/payment_intents", "POST")[0].body
    assert "off_session=true" in sent and "confirm=true" in sent and "amount=12345" in sent


@pytest.mark.parametrize(
    ("card", "reason", "requires_action"),
    [
        ("pm_card_chargeDeclined", "generic_decline", False),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds", False),
        ("pm_card_authenticationRequired", "authentication_required", True),
    ],
)
def test_declines_carry_the_decline_details(
    gateway: StripeGateway, fake: FakeStripe, card: str, reason: str, requires_action: bool
) -> None:
    customer = _customer(gateway)
    with pytest.raises(CardDeclinedError) as caught:
        _charge(gateway, customer, fake.add_card(customer, card), "k1")
    decline = caught.value.decline
    assert decline.reason == reason
    assert decline.requires_action is requires_action
    assert decline.payment_intent_id in fake.intents
    assert caught.value.outcome == "rejected" and caught.value.status == 402


def test_requires_action_answer_is_a_result_not_an_error(
    gateway: StripeGateway, fake: FakeStripe
) -> None:
    customer = _customer(gateway)
    result = _charge(gateway, customer, fake.add_card(customer, "pm_card_requiresAction"), "k1")
    assert result.status == "requires_action"


def test_same_key_replays_and_other_parameters_are_refused(
    gateway: StripeGateway, fake: FakeStripe
) -> None:
    customer = _customer(gateway)
    card = fake.add_card(customer)
    first = _charge(gateway, customer, card, "k1")
    again = _charge(gateway, customer, card, "k1")
    assert again.id == first.id and len(fake.intents) == 1
    with pytest.raises(RejectedError) as caught:
        _charge(gateway, customer, card, "k1", amount=999)
    assert caught.value.errors[0].code == "idempotency_error"
    assert len(fake.intents) == 1


def test_a_timeout_after_stripe_committed_is_uncertain_and_the_retry_replays(
    gateway: StripeGateway, fake: FakeStripe
) -> None:
    customer = _customer(gateway)
    card = fake.add_card(customer)
    fake.fail_next("timeout_after_commit", path_contains="payment_intents")
    with pytest.raises(RetryableError) as caught:
        _charge(gateway, customer, card, "k1")
    assert caught.value.uncertain
    result = _charge(gateway, customer, card, "k1")
    assert result.status == "succeeded"
    assert len(fake.intents) == 1  # charged once


def test_no_automatic_retries_and_server_errors_are_retryable(
    gateway: StripeGateway, fake: FakeStripe
) -> None:
    customer = _customer(gateway)
    fake.fail_next("500", path_contains="payment_intents")
    with pytest.raises(RetryableError):
        _charge(gateway, customer, fake.add_card(customer), "k1")
    assert len(fake.requests_to("/v1/payment_intents")) == 1


def test_rate_limit_auth_and_not_found(gateway: StripeGateway, fake: FakeStripe) -> None:
    fake.fail_next("429")
    with pytest.raises(RateLimitedError) as limited:
        gateway.retrieve_customer("cus_x")
    assert limited.value.retry_after == 1.0
    fake.fail_next("401")
    with pytest.raises(AuthExpiredError):
        gateway.retrieve_customer("cus_x")
    with pytest.raises(NotFoundError):
        gateway.retrieve_customer("cus_missing")
    fake.fail_next("reset")
    with pytest.raises(RetryableError) as reset:
        gateway.retrieve_customer("cus_x")
    assert reset.value.uncertain


def test_bad_request_names_the_parameter(gateway: StripeGateway, fake: FakeStripe) -> None:
    customer = _customer(gateway)
    with pytest.raises(RejectedError) as caught:
        _charge(gateway, customer, fake.add_card(customer), "k1", amount=10)
    assert caught.value.errors[0].field == "amount"
    assert caught.value.errors[0].code == "amount_too_small"
    with pytest.raises(ValueError, match="amount_minor"):
        _charge(gateway, customer, "pm_card_visa", "k2", amount=0)


def test_refunds_are_listed_across_pages(gateway: StripeGateway, fake: FakeStripe) -> None:
    customer = _customer(gateway)
    result = _charge(gateway, customer, fake.add_card(customer), "k1", amount=50000)
    assert result.charge_id is not None
    made = gateway.refund(payment_intent_id=result.id, amount_minor=1000, key="r1")
    for _ in range(3):
        fake.refund_charge(result.charge_id, 100)
    refunds = gateway.refunds_of_charge(result.charge_id)
    assert {r.id for r in refunds} >= {made.id}
    assert sum(r.amount_minor for r in refunds) == 1300
    assert gateway.retrieve_charge(result.charge_id).amount_refunded_minor == 1300
