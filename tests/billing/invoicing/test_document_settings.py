"""The partner's document settings, end to end: from the partner file through issuing to the
PDF (read back by text extraction) and the queued e-mail, on SQLite and PostgreSQL."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlmodel import Session

import sync.stripe  # noqa: F401  (hands billing its card lookup, as the API and worker do)
from billing.documents import OutgoingEmail
from billing.documents.formatting import format_date
from billing.invoicing.closing import close_cycles
from billing.invoicing.documents import DocumentOutcome, use_cards_on_file
from billing.invoicing.issuing import issue_invoices
from billing.invoicing.models import Invoice
from billing.invoicing.service import approve_invoices
from billing.pricing.apply import apply_partner_file
from config.partner_file import parse_partner_toml
from sync.stripe.models import StripeAccount, StripeCustomer
from sync.stripe.repository import clients_with_card
from tests.billing.invoicing.builders import SIMPLE, at, last_month, month_text, send

DOCUMENTS = SIMPLE.replace(
    'sender_email = "billing@acme.example"\n',
    'sender_email = "billing@acme.example"\n'
    'tax_id = "DE 123456789"\n'
    'payment_instructions = """\nBank: Sparkasse Musterstadt\nIBAN DE02 1203 0000 0000 2020 51"""\n'
    'pay_link = "https://pay.acme.example/i"\n'
    'footer = "Acme AI GmbH, Amtsgericht Musterstadt HRB 1234"\n',
).replace(
    'plan = "std"\ntax = { name = "VAT", percent = "10" }\n',
    'plan = "std"\ntax = { name = "VAT", percent = "10" }\nauto_charge = true\n',
)


def _setup(session: Session, **partner: str) -> None:
    """The partner of `DOCUMENTS`, with `partner` added to its `[partner]` table."""
    extra = "".join(f"{key} = {value}\n" for key, value in partner.items())
    toml = DOCUMENTS.replace("net_terms_days = 15\n", f"net_terms_days = 15\n{extra}")
    apply_partner_file(session, parse_partner_toml(toml), datetime.now(UTC))
    session.commit()


def _issue(session: Session, tmp_path: Path) -> DocumentOutcome:
    month = last_month()
    send(session, [("v1", "c1", "voice", "12345", at(month, 2))])
    close_cycles(session, "acme", period=month_text(month), client_id="c1")
    approve_invoices(session, "acme", by="test")
    result = issue_invoices(session, "acme", ["1"], directory=tmp_path)
    session.commit()
    [doc] = result.documents
    return doc


def _text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def _message(session: Session) -> EmailMessage:
    [row] = session.scalars(select(OutgoingEmail)).all()
    message = email.message_from_bytes(row.body, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _add_card(session: Session, *, paused: bool = False, card: bool = True) -> None:
    account = StripeAccount(partner_id="acme", secret_key_enc="x", webhook_secret_enc="y")
    session.add(account)
    session.flush()
    session.add(
        StripeCustomer(
            partner_id="acme",
            client_id="c1",
            account_id=account.id,
            customer_id="cus_1",
            payment_method_id="pm_1" if card else None,
            auto_charge=not paused,
        )
    )
    session.commit()


def test_german_invoice_without_a_card_prints_the_settings(
    session: Session, tmp_path: Path
) -> None:
    _setup(session, locale='"de"', attach_usage_csv="false")
    doc = _issue(session, tmp_path)
    text = _text(doc.pdf_path)
    # 12,345 minutes at 0.10 + 20.00 base fee = 1,254.50; VAT 10% = 125.45; total 1,379.95
    for expected in (
        "Tax ID DE 123456789",
        "HOW TO PAY",  # a label, printed in capitals
        "Bank: Sparkasse Musterstadt",
        "IBAN DE02 1203 0000 0000 2020 51",
        "https://pay.acme.example/i",
        "Acme AI GmbH, Amtsgericht Musterstadt HRB 1234",
        "1.379,95 USD",
        "12.345",
        "No card is on file for automatic payment",
    ):
        assert expected in text, expected
    [invoice] = session.scalars(select(Invoice)).all()
    assert invoice.issue_date is not None
    assert f"Issue date {format_date(invoice.issue_date, 'de')}" in text
    assert f"{invoice.issue_date.day}. " in format_date(invoice.issue_date, "de")
    assert "charged to your card on file" not in text
    assert "1,379.95" not in text
    # No CSV written or attached when the partner turned it off.
    assert doc.csv_path is None
    message = _message(session)
    names = [part.get_filename() for part in message.iter_attachments()]
    assert names == [f"{doc.number}.pdf"]
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    plain = body.get_content()
    assert "1.379,95 USD" in plain and "IBAN DE02" in plain and "Tax ID DE 123456789" in plain


def test_a_card_on_file_is_promised_and_bank_details_are_left_out(
    session: Session, tmp_path: Path
) -> None:
    _setup(session)
    _add_card(session)
    doc = _issue(session, tmp_path)
    text = _text(doc.pdf_path)
    assert "This invoice will be charged to your card on file." in text
    assert "HOW TO PAY" not in text and "IBAN" not in text
    assert "Tax ID DE 123456789" in text and "1,379.95 USD" in text
    # The CSV stays on by default, with no charge column.
    assert doc.csv_path is not None
    assert doc.csv_path.read_text().splitlines()[0] == "line,event_id,occurred_at,quantity"
    names = [part.get_filename() for part in _message(session).iter_attachments()]
    assert names == [f"{doc.number}.pdf", f"{doc.number}-usage.csv"]


@pytest.mark.parametrize(("paused", "card"), [(True, True), (False, False)])
def test_a_paused_or_missing_card_is_not_on_file(
    session: Session, tmp_path: Path, paused: bool, card: bool
) -> None:
    _setup(session)
    _add_card(session, paused=paused, card=card)
    assert clients_with_card(session, "acme", ["c1", "c2"]) == frozenset()
    text = _text(_issue(session, tmp_path).pdf_path)
    assert "No card is on file" in text and "HOW TO PAY" in text


def test_without_the_lookup_no_card_is_promised(session: Session, tmp_path: Path) -> None:
    _setup(session)
    _add_card(session)
    use_cards_on_file(None)
    try:
        text = _text(_issue(session, tmp_path).pdf_path)
    finally:
        use_cards_on_file(clients_with_card)
    assert "charged to your card on file" not in text and "No card is on file" in text


def test_a_flat_plan_lists_the_usage_it_covered(session: Session, tmp_path: Path) -> None:
    flat = DOCUMENTS.replace(
        '[plans.std.prices.voice]\nmodel = "per_unit"\nunit_price = "0.10"\n', ""
    )
    assert "[plans.std.prices.voice]" not in flat
    apply_partner_file(session, parse_partner_toml(flat), datetime.now(UTC))
    session.commit()
    text = _text(_issue(session, tmp_path).pdf_path)
    # 20.00 base fee + 10% VAT; the 12,345 minutes are listed, not charged
    assert "Voice minutes, included in the base fee" in text
    assert "12,345" in text and "included" in text and "22.00 USD" in text
