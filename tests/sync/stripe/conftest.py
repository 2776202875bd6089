"""A partner on Stripe (behind the fake), an auto-charge client with an issued invoice, and
helpers to deliver signed webhook events and read what was e-mailed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from billing.documents.models import OutgoingEmail
from billing.invoicing.models import Invoice
from billing.tenants.models import Client
from sandbox.stripe import FakeStripe, signed_delivery
from sync.stripe import (
    DeliveryResult,
    StripeCharge,
    connect_account,
    ensure_customer,
    receive_delivery,
)
from sync.stripe.accounts import gateway_for
from sync.stripe.repository import account_for_partner
from tests.billing.invoicing.builders import SIMPLE, at, close_and_issue, last_month, send
from tests.fakes.stripe_served import STRIPE_BASE, served_stripe

BASE = STRIPE_BASE
SECRET = "whsec_acme_test"
PARTNER = "acme"

TOML = SIMPLE.replace(
    'tax = { name = "VAT", percent = "10" }',
    'tax = { name = "VAT", percent = "10" }\nauto_charge = true',
).replace("net_terms_days = 15", 'net_terms_days = 15\nfinance_emails = ["finance@acme.example"]')


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    with served_stripe() as fake:  # every request and answer against Stripe's OpenAPI
        yield fake


@dataclass
class World:
    engine: Engine
    fake: FakeStripe
    invoice_id: int
    total_minor: int

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def invoice(self) -> Invoice:
        with self.session() as session:
            found = session.get(Invoice, self.invoice_id)
            assert found is not None
            return found

    def charge(self) -> StripeCharge:
        with self.session() as session:
            row = session.execute(
                select(StripeCharge).where(col(StripeCharge.invoice_id) == self.invoice_id)
            ).scalar_one()
            return row

    def deliver(self, event: dict[str, Any], *, secret: str = SECRET, **kw: Any) -> DeliveryResult:
        payload, headers = signed_delivery(event, secret)
        return receive_delivery(self.engine, payload, headers["Stripe-Signature"], **kw)

    def mails(self, kind_prefix: str = "stripe_") -> list[OutgoingEmail]:
        with self.session() as session:
            return list(
                session.execute(
                    select(OutgoingEmail)
                    .where(col(OutgoingEmail.kind).startswith(kind_prefix))
                    .order_by(col(OutgoingEmail.id))
                ).scalars()
            )

    @staticmethod
    def text(mail: OutgoingEmail) -> str:
        parsed = message_from_bytes(mail.body, _class=EmailMessage, policy=SMTP)
        assert isinstance(parsed, EmailMessage)
        return str(parsed.get_content())

    def save_card(self, card: str = "pm_card_visa") -> str:
        """The client saves `card` (as a completed setup would) and it becomes the default."""
        with self.session() as session:
            account = account_for_partner(session, PARTNER)
            client = session.get(Client, (PARTNER, "c1"))
            assert account is not None and client is not None
            gateway = gateway_for(account)
            try:
                row = ensure_customer(session, gateway, account, client)
                method = self.fake.add_card(row.customer_id, card)
                gateway.set_default_payment_method(row.customer_id, method, key=f"t-{method}")
            finally:
                gateway.close()
            row.payment_method_id = method
            session.add(row)
            session.commit()
            return row.customer_id


@pytest.fixture
def world(engine: Engine, fake: FakeStripe) -> World:
    from tests.billing.invoicing.builders import setup_partner

    month = last_month()
    with Session(engine, expire_on_commit=False) as session:
        setup_partner(session, TOML)
        connect_account(
            session, PARTNER, secret_key=fake.api_key, webhook_secret=SECRET, api_base=BASE
        )
        session.commit()
        send(session, [("e1", "c1", "voice", "123.45", at(month, 3))])
        invoices = close_and_issue(session, month)
        mine = [i for i in invoices if i.client_id == "c1"]
        assert len(mine) == 1 and mine[0].auto_charge
        invoice = session.get(Invoice, mine[0].id)
        assert invoice is not None
        return World(engine, fake, invoice.invoice_id, invoice.total_minor)


T0 = datetime.now(UTC)
