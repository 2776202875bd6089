"""A partner with two clients and issued invoices (their e-mails queued with portal links),
and helpers to take the link out of a real queued e-mail and open it."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from datetime import date
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from api.app import create_app
from billing.documents.models import OutgoingEmail
from billing.invoicing.closing import close_cycles
from billing.invoicing.issuing import issue_invoices
from billing.invoicing.models import Invoice, InvoiceStatus
from billing.invoicing.repository import InvoiceRepository
from billing.invoicing.service import approve_invoices
from tests.billing.invoicing.builders import SIMPLE, at, last_month, month_text, send, setup_partner

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PORTAL_URL = re.compile(r"https?://[^\s\"<>]+/portal/[A-Za-z0-9_.-]+")

TOML = SIMPLE.replace(
    'sender_email = "billing@acme.example"',
    'sender_email = "billing@acme.example"\n'
    'primary_color = "#7A1F5C"\n'
    'payment_instructions = "IBAN DE00 1234 5678 9012 3456 78"\n'
    'pay_link = "https://pay.acme.example/invoices"',
)


def before(first: date) -> date:
    from datetime import timedelta

    return (first - timedelta(days=1)).replace(day=1)


def issue_month(session: Session, month: date, partner: str = "acme") -> list[Invoice]:
    """Close, approve and issue the month WITH documents: PDF, e-mail, portal link."""
    close_cycles(session, partner, period=month_text(month))
    approve_invoices(session, partner, by="test")
    ids = InvoiceRepository(session).ids_with_status(partner, InvoiceStatus.APPROVED)
    result = issue_invoices(session, partner, ids)
    session.commit()
    return result.invoices


@dataclass
class World:
    engine: Engine
    last: Invoice  # c1, last month: the e-mail whose link the tests open
    earlier: Invoice  # c1, the month before
    other: Invoice  # c2, last month

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)


def email_of(engine: Engine, number: str) -> EmailMessage:
    with Session(engine) as session:
        row = session.exec(
            select(OutgoingEmail)
            .where(col(OutgoingEmail.related_id) == number)
            .order_by(col(OutgoingEmail.id))
        ).first()
        assert row is not None, f"no e-mail queued for {number}"
        parsed = message_from_bytes(row.body, _class=EmailMessage, policy=SMTP)
    assert isinstance(parsed, EmailMessage)
    return parsed


def link_in(message: EmailMessage) -> str:
    """The portal URL in the text body (asserted to be in the HTML body too)."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert isinstance(text, EmailMessage) and isinstance(html, EmailMessage)
    found = PORTAL_URL.findall(str(text.get_content()))
    assert len(found) == 1, found
    assert found[0] in str(html.get_content())
    return found[0]


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def build(session: Session, toml: str = TOML) -> tuple[Invoice, Invoice, Invoice]:
    setup_partner(session, toml)
    last = last_month()
    earlier = before(last)
    send(session, [("e1", "c1", "voice", "100", at(earlier, 2))])
    first = issue_month(session, earlier)
    send(
        session,
        [
            ("l1", "c1", "voice", "300", at(last, 1)),
            ("l2", "c1", "voice", "150.5", at(last, 5)),
            ("l3", "c2", "voice", "20", at(last, 2)),
        ],
    )
    second = issue_month(session, last)
    c1_earlier = next(i for i in first if i.client_id == "c1")
    c1_last = next(i for i in second if i.client_id == "c1")
    c2_last = next(i for i in second if i.client_id == "c2")
    return c1_last, c1_earlier, c2_last


@pytest.fixture
def world(engine: Engine, session: Session) -> World:
    last, earlier, other = build(session)
    return World(engine, last, earlier, other)


@pytest.fixture
def client(world: World) -> TestClient:
    return TestClient(create_app(), follow_redirects=False)


@pytest.fixture
def link(world: World) -> str:
    """The path of the portal link in c1's e-mail for last month's invoice."""
    assert world.last.number is not None
    return path_of(link_in(email_of(world.engine, world.last.number)))
