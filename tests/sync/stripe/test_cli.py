"""The Stripe commands: connect, payment link, charge-due, charges, events."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from main import app
from sync.stripe import ChargeStatus
from tests.sync.stripe.conftest import BASE, PARTNER, SECRET, World

runner = CliRunner()


def test_payment_link_creates_the_customer_once_and_prints_a_setup_link(world: World) -> None:
    first = runner.invoke(app, ["clients", "payment-link", "c1", "--partner", PARTNER])
    assert first.exit_code == 0, first.output
    assert "https://checkout.stripe.com/c/pay/" in first.output
    second = runner.invoke(app, ["clients", "payment-link", "c1", "--partner", PARTNER])
    assert second.exit_code == 0
    assert len(world.fake.customers) == 1
    session = next(iter(world.fake.sessions.values()))
    assert session["mode"] == "setup"
    assert session["metadata"] == {"rebill_partner_id": PARTNER, "rebill_client_id": "c1"}


def test_payment_link_can_link_an_existing_customer(world: World) -> None:
    customer = world.save_card()
    result = runner.invoke(
        app, ["clients", "payment-link", "c1", "-p", PARTNER, "--customer", customer]
    )
    assert result.exit_code == 0, result.output
    assert "visa ending 4242" in result.output
    missing = runner.invoke(
        app, ["clients", "payment-link", "c1", "-p", PARTNER, "--customer", "cus_nope"]
    )
    assert missing.exit_code == 1 and "No such customer" in missing.output
    unknown = runner.invoke(app, ["clients", "payment-link", "zz", "-p", PARTNER])
    assert unknown.exit_code == 1 and "client" in unknown.output


def test_connect_refuses_a_wrong_key_and_charge_due_reports(world: World) -> None:
    bad = runner.invoke(
        app,
        [
            "stripe",
            "connect",
            "-p",
            PARTNER,
            "--secret-key",
            "pk_live_x",
            "--webhook-secret",
            SECRET,
            "--api-base",
            BASE,
        ],
    )
    assert bad.exit_code == 1 and "secret_key" in bad.output
    days = runner.invoke(
        app,
        [
            "stripe",
            "connect",
            "-p",
            PARTNER,
            "--secret-key",
            world.fake.api_key,
            "--webhook-secret",
            SECRET,
            "--api-base",
            BASE,
            "--dunning-days",
            "5,3",
        ],
    )
    assert days.exit_code == 1 and "increasing" in days.output
    world.save_card()
    result = runner.invoke(app, ["stripe", "charge-due"])
    assert result.exit_code == 0, result.output
    assert "queued 1" in result.output and "succeeded 1" in result.output
    listed = runner.invoke(app, ["stripe", "charges", "-p", PARTNER, "--json"])
    rows = json.loads(listed.output)
    assert rows[0]["status"] == ChargeStatus.SUCCEEDED.value and rows[0]["amount"] == "35.59 USD"
    events = runner.invoke(app, ["stripe", "events"])
    assert events.exit_code == 0
