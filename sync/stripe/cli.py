"""`python main.py stripe ...` and `python main.py clients payment-link C`.

- `stripe connect`: store the partner's Stripe secret key and webhook signing secret
  (encrypted); prompts for them so they stay out of shell history.
- `clients payment-link C`: create (or link, `--customer cus_...`) the client's Stripe customer
  and print a Checkout link (setup mode) where the client saves a card for automatic charges.
- `stripe charge-due`: queue newly issued auto-charge invoices and make every charge or dunning
  retry that is due (run it from cron or the scheduler; safe to run concurrently).
- `stripe charges` / `stripe events`: what is being charged, and the webhook events received.
"""

from __future__ import annotations

from typing import Annotated

import typer

from billing.tenants.repository import TenantRepository
from config.cli_helpers import AsJson, echo_json, fail, parse_as_of
from config.db import get_engine, session_scope
from config.money import format_minor
from connectors.base import ConnectorError
from sync.stripe.accounts import (
    StripeSetupError,
    connect_account,
    gateway_for,
)
from sync.stripe.charging import charge_due_invoices
from sync.stripe.customers import ensure_customer, link_customer, setup_link
from sync.stripe.models import ChargeStatus, EventStatus
from sync.stripe.repository import account_for_partner, charges_of_partner, recent_events

__all__ = ["payment_link_command", "stripe_app"]

stripe_app = typer.Typer(
    help="Stripe: connect an account, charge auto-charge invoices, dunning, webhook events.",
    no_args_is_help=True,
)
PartnerOpt = Annotated[str, typer.Option("--partner", "-p", help="Partner id.")]


@stripe_app.command("connect")
def connect_command(
    partner: PartnerOpt,
    secret_key: Annotated[
        str, typer.Option(prompt=True, hide_input=True, help="sk_... or rk_... (restricted).")
    ],
    webhook_secret: Annotated[
        str, typer.Option(prompt=True, hide_input=True, help="The endpoint's whsec_... secret.")
    ],
    api_base: Annotated[str | None, typer.Option(help="Another API URL (a fake).")] = None,
    dunning_days: Annotated[
        str | None, typer.Option(help="Retry days after the first failure, e.g. 3,5,7.")
    ] = None,
) -> None:
    """Store the partner's Stripe keys (encrypted with REBILL_SECRET_KEY)."""
    days = None
    if dunning_days:
        try:
            days = [int(part) for part in dunning_days.split(",")]
        except ValueError as exc:
            raise typer.BadParameter(
                "whole days, comma-separated", param_hint="--dunning-days"
            ) from exc
    try:
        with session_scope() as session:
            account = connect_account(
                session,
                partner,
                secret_key=secret_key,
                webhook_secret=webhook_secret,
                api_base=api_base,
                dunning=days,
            )
            typer.echo(f"stripe account {account.id} connected for {partner}")
    except StripeSetupError as exc:
        raise fail(exc) from exc


def payment_link_command(
    client: Annotated[str, typer.Argument(help="Client id.")],
    partner: PartnerOpt,
    customer: Annotated[
        str | None, typer.Option(help="Link this existing Stripe customer (cus_...).")
    ] = None,
) -> None:
    """Create or link the client's Stripe customer and print a link to save a card."""
    with session_scope() as session:
        account = account_for_partner(session, partner)
        if account is None:
            raise fail(f"partner {partner!r} has no Stripe account (python main.py stripe connect)")
        found = TenantRepository(session).client(partner, client)
        if found is None:
            raise fail(f"client: no client {client!r} for partner {partner!r}")
        gateway = gateway_for(account)
        try:
            if customer:
                row = link_customer(session, gateway, account, found, customer)
            else:
                row = ensure_customer(session, gateway, account, found)
            session.commit()  # the customer is kept even if the link cannot be made
            link = setup_link(gateway, row, purpose="payment-link")
        except ConnectorError as exc:
            raise fail(exc.message) from exc
        finally:
            gateway.close()
    typer.echo(f"stripe customer: {row.customer_id}")
    if row.card_last4:
        typer.echo(f"saved card: {row.card_brand} ending {row.card_last4}")
    typer.echo(link.url)


@stripe_app.command("charge-due")
def charge_due_command(
    now: Annotated[str | None, typer.Option(help="Act as of this ISO time (tests).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Attempts per run.")] = 100,
) -> None:
    """Charge newly issued auto-charge invoices and make the dunning retries that are due."""
    report = charge_due_invoices(get_engine(), now=parse_as_of(now, "--now"), limit=limit)
    typer.echo(str(report))


@stripe_app.command("charges")
def charges_command(
    partner: PartnerOpt,
    status: Annotated[ChargeStatus | None, typer.Option(help="Only this status.")] = None,
    *,
    as_json: AsJson = False,
) -> None:
    """Charge series per invoice: status, attempts, next attempt, last decline."""
    with session_scope() as session:
        rows = charges_of_partner(session, partner, status)
    data = [
        {
            "invoice_id": r.invoice_id,
            "status": str(r.status),
            "attempts": r.attempts,
            "amount": format_minor(r.amount_minor, r.currency),
            "next_attempt_at": r.next_attempt_at,
            "last_decline_code": r.last_decline_code,
            "payment_intent": r.payment_intent_id,
            "last_error": r.last_error,
        }
        for r in rows
    ]
    if as_json:
        echo_json(data)
        return
    for item in data:
        typer.echo(
            f"invoice {item['invoice_id']}: {item['status']} ({item['attempts']} attempts, "
            f"{item['amount']}) next={item['next_attempt_at'] or '-'} "
            f"decline={item['last_decline_code'] or '-'}"
        )


@stripe_app.command("events")
def events_command(
    status: Annotated[EventStatus | None, typer.Option(help="Only this status.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
) -> None:
    """Webhook events received, newest first (failed ones say why)."""
    with session_scope() as session:
        for event in recent_events(session, status, limit):
            typer.echo(
                f"{event.received_at:%Y-%m-%d %H:%M:%S} {event.event_id} {event.type} "
                f"{event.status}" + (f": {event.last_error}" if event.last_error else "")
            )
