"""The client portal in a real browser (Debian's chromium), from the link in a real e-mail
(written by the file mail backend as an .eml): see the invoice at phone width, download the
PDF (the stored document) and a line's usage CSV (rows and total against the line), pay
through the Stripe fake's Checkout with the events delivered to our webhook route over HTTP
(both event types, each twice), and see the invoice paid, once."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import Session, col

from billing.documents import FileMailBackend, send_due_emails
from billing.documents.events_csv import EVENTS_CSV_HEADER
from billing.invoicing.models import Invoice, InvoiceLine, InvoiceLineKind, InvoiceStatus
from billing.invoicing.pdfs import invoice_pdf
from billing.payments.models import Payment
from billing.portal import revoke_client_links
from config.settings import get_settings
from sandbox.stripe import FakeStripe, signed_delivery
from sync.stripe import connect_account
from tests.api.dashboard.browser import expect, live_server, shoot
from tests.api.dashboard.test_browser import browser
from tests.api.portal.conftest import World, build, link_in
from tests.fakes.stripe_served import STRIPE_BASE, served_stripe

__all__ = ["browser"]  # the module-scoped chromium of the dashboard's browser tests

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

BASE = STRIPE_BASE
SECRET = "whsec_portal_browser"
PHONE = {"width": 390, "height": 844}
FAKE_CHECKOUT = "<!doctype html><title>Checkout</title><h1>Stripe Checkout (fake)</h1>"


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    # every request and answer against Stripe's OpenAPI; our own webhook deliveries pass
    with served_stripe(pass_through_hosts=("127.0.0.1",)) as fake:
        yield fake


@pytest.fixture
def served(
    engine: Any, session: Session, fake: FakeStripe, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, World, Path]]:
    """The server first (its URL goes into the e-mails as REBILL_PUBLIC_URL), then the
    invoices issued and their e-mails sent through the file backend."""
    with live_server() as base:
        monkeypatch.setenv("REBILL_PUBLIC_URL", base)
        get_settings.cache_clear()
        last, earlier, other = build(session)
        connect_account(
            session, "acme", secret_key=fake.api_key, webhook_secret=SECRET, api_base=BASE
        )
        session.commit()
        mail_dir = get_settings().mail_dir
        report = send_due_emails(engine, FileMailBackend(mail_dir))
        assert report.sent >= 3
        yield base, World(engine, last, earlier, other), mail_dir


def _eml_for(mail_dir: Path, number: str) -> EmailMessage:
    for path in sorted(mail_dir.glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), _class=EmailMessage, policy=SMTP)
        assert isinstance(message, EmailMessage)
        if number in str(message["Subject"]):
            return message
    raise AssertionError(f"no .eml for {number}")


def _usage_line(world: World) -> InvoiceLine:
    with world.session() as session:
        lines = session.scalars(
            select(InvoiceLine)
            .where(col(InvoiceLine.invoice_id) == world.last.id)
            .order_by(col(InvoiceLine.position))
        ).all()
    return next(line for line in lines if line.kind is InvoiceLineKind.USAGE)


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"page is {width}px wide at {PHONE['width']}px"


@pytest.mark.slow
def test_open_download_and_pay_from_the_email(
    browser: Any, served: tuple[str, World, Path], fake: FakeStripe
) -> None:
    base, world, mail_dir = served
    assert world.last.number is not None
    url = link_in(_eml_for(mail_dir, world.last.number))
    assert url.startswith(f"{base}/portal/")

    context = browser.new_context(viewport=PHONE, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    response = page.goto(url)
    assert response is not None and response.status == 200
    assert response.headers["referrer-policy"] == "no-referrer"
    expect(page.get_by_role("heading", name=f"Invoice {world.last.number}")).to_be_visible()
    expect(page.get_by_test_id("state")).to_have_text("due")
    expect(page.get_by_test_id("earlier")).to_contain_text(str(world.earlier.number))
    _no_sideways_scroll(page)
    shoot(page, "portal-01-invoice-phone")

    # The PDF: the stored document, byte for byte.
    with page.expect_download() as pdf_download:
        page.get_by_test_id("pdf").click()
    pdf_bytes = Path(pdf_download.value.path()).read_bytes()
    with world.session() as session:
        assert pdf_bytes == invoice_pdf(session, world.last)

    # A line's usage, then its CSV: rows and total against the line.
    line = _usage_line(world)
    page.get_by_test_id(f"usage-{line.position}").click()
    expect(page.get_by_test_id("line-events")).to_contain_text("l2")
    _no_sideways_scroll(page)
    shoot(page, "portal-02-line-phone")
    with page.expect_download() as csv_download:
        page.get_by_test_id("line-csv").click()
    rows = list(csv.reader(io.StringIO(Path(csv_download.value.path()).read_text("utf-8"))))
    assert tuple(rows[0]) == EVENTS_CSV_HEADER
    assert [r[1] for r in rows[1:]] == ["l1", "l2"]
    assert sum(Decimal(r[3]) for r in rows[1:]) == line.quantity

    # Pay: our server answers the form with a redirect to Stripe Checkout; the browser lands
    # on a stand-in for Stripe's page, the fake completes the session, and Stripe's events
    # reach our webhook route over HTTP.
    page.goto(url)
    locations: list[str] = []

    def to_checkout(route: Any) -> None:
        answer = route.fetch(max_redirects=0)
        locations.append(answer.headers["location"])
        route.fulfill(status=200, content_type="text/html", body=FAKE_CHECKOUT)

    page.route("**/pay", to_checkout)
    page.get_by_test_id("pay").click()
    expect(page.get_by_role("heading", name="Stripe Checkout (fake)")).to_be_visible()
    assert len(locations) == 1 and locations[0].startswith("https://checkout.stripe.com/")
    session_id = locations[0].rsplit("/", 1)[1]
    completed = fake.complete_checkout(session_id)
    succeeded = fake.events_of("payment_intent.succeeded")[-1]
    for event in (completed, succeeded, succeeded, completed):
        payload, headers = signed_delivery(event, SECRET)
        answer = httpx.post(f"{base}/webhooks/stripe", content=payload, headers=headers)
        assert answer.status_code == 200, answer.text

    page.goto(f"{url}/invoices/{world.last.id}?checkout=success")  # Stripe's success URL
    expect(page.get_by_test_id("checkout-success")).to_be_visible()
    expect(page.get_by_test_id("state")).to_have_text("paid")
    expect(page.get_by_test_id("pay")).to_have_count(0)
    shoot(page, "portal-03-paid-phone")
    with world.session() as session:
        count = session.execute(select(func.count()).select_from(Payment)).scalar_one()
        paid = session.get(Invoice, world.last.id)
    assert count == 1
    assert paid is not None and paid.status is InvoiceStatus.PAID
    assert paid.amount_paid_minor == world.last.total_minor
    context.close()


@pytest.mark.slow
def test_refused_links_in_the_browser(browser: Any, served: tuple[str, World, Path]) -> None:
    base, world, mail_dir = served
    page = browser.new_context(viewport=PHONE).new_page()
    response = page.goto(f"{base}/portal/1.2000000000.forged")
    assert response is not None and response.status == 403
    expect(page.get_by_test_id("refused")).to_contain_text("not valid")
    assert "Client One" not in page.content() and "Acme" not in page.content()
    _no_sideways_scroll(page)
    shoot(page, "portal-04-refused-phone")
    # Another client's invoice under c1's valid link: not found, nothing of c2's shown.
    url = link_in(_eml_for(mail_dir, str(world.last.number)))
    response = page.goto(f"{url}/invoices/{world.other.id}")
    assert response is not None and response.status == 404
    assert "Client Two" not in page.content() and str(world.other.number) not in page.content()
    # Revoked: gone.
    with world.session() as session:
        revoke_client_links(session, "acme", "c1")
        session.commit()
    response = page.goto(url)
    assert response is not None and response.status == 410
    expect(page.get_by_test_id("refused")).to_contain_text("withdrawn")
