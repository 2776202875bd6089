"""The reconciliation report as finance reads it, in every place: the e-mail through a real SMTP
server (amounts in major units, systems and clients by name, Date and a Message-ID on the
sender's domain, a text part, the partner's colours), its CSV read back column by column
(the human amount and the minor units agree, yes/no, ISO dates), the command line (the same
report), and the kinds' words in the finance docs page."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
import respx
from sqlalchemy import Engine, text
from sqlmodel import Session
from typer.testing import CliRunner

from billing.documents.backends import SmtpMailBackend
from billing.documents.outbox import send_due_emails
from billing.tenants.models import Partner
from config.money import format_minor
from connectors.base import AuthExpiredError, RateLimitedError, RejectedError, RetryableError
from main import app
from sandbox.quickbooks import FakeQuickBooks
from sync.connections import ConnectionSummary
from sync.reconcile import reconcile
from sync.reconcile.kinds import KINDS
from sync.reconcile.models import WholesaleBillLine
from sync.reconcile.readable import readable_report
from sync.reconcile.report import CSV_COLUMNS, as_text, queue_report
from sync.reconcile.repository import differences_of, get_run
from sync.reconcile.service import _unreadable
from tests.billing.documents.conftest import StartServer
from tests.billing.invoicing.builders import at, last_month, month_text, send
from tests.sync.reconcile.test_reconcile import REALM, opener, pushed

HOST = "qbo.reconcile.test"
BOOKS = "QuickBooks Online: Acme Books Inc."
ROOT = Path(__file__).resolve().parents[3]


def _planted_run(engine: Engine, session: Session) -> tuple[int, list[object]]:
    """Invoices pushed to QuickBooks (named there "Acme Books Inc."), then: one deleted there,
    one paid only there, a late event, a platform bill line 12.34 USD above our cost."""
    fake = FakeQuickBooks(REALM)
    month = last_month()
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host=HOST).mock(side_effect=fake.handle)
        invoices = pushed(engine, session, fake)
        session.execute(
            text(
                "UPDATE connector_connection SET provider = 'quickbooks', "
                "remote_tenant_name = 'Acme Books Inc.' WHERE id = 'conn-1'"
            )
        )
        [gone] = fake.invoices_by_number(str(invoices[0].number))
        del fake.store["Invoice"][gone["Id"]]
        [paid] = fake.invoices_by_number(str(invoices[1].number))
        fake.pay(paid["Id"], paid["TotalAmt"])
        send(session, [("late-1", "c1", "voice", "1234.5", at(month, 3))])
        # The platform bills every minute it carried, the late 1,234.5 too (at the wholesale
        # 0.04 USD a minute: 49.38 USD), and 12.34 USD more than that.
        cost = sum(i.cost_minor for i in invoices) + 4938
        session.add(
            WholesaleBillLine(
                partner_id="acme",
                period=month_text(month),
                usage_type="voice",
                quantity=Decimal("1"),
                amount_minor=cost + 1234,
                currency="USD",
            )
        )
        partner = session.get(Partner, "acme")
        assert partner is not None
        partner.settings = {**partner.settings, "finance_emails": ["finance@acme.example"]}
        partner.branding = {**partner.branding, "primary_color": "#0B5FFF"}
        session.add(partner)
        session.commit()
        run_id = reconcile(engine, "acme", month_text(month), open_remote=opener(fake))
    session.rollback()
    return run_id, invoices


def test_the_email_reads_for_finance(
    engine: Engine, session: Session, smtp_server: StartServer
) -> None:
    run_id, invoices = _planted_run(engine, session)
    deleted, paid_there = invoices[0], invoices[1]
    run = get_run(session, run_id)
    assert run is not None
    queue_report(session, run)
    session.commit()
    inbox, port = smtp_server()
    assert send_due_emails(engine, SmtpMailBackend("127.0.0.1", port)).sent == 1
    [envelope] = inbox.envelopes
    assert envelope.rcpt_tos == ["finance@acme.example"]
    assert isinstance(envelope.content, bytes)
    received = message_from_bytes(envelope.content, policy=policy.default)
    assert isinstance(received, EmailMessage)

    # Headers: a Date, and a Message-ID on the sender's own domain.
    assert received["From"] == "Acme Billing <billing@acme.example>"
    sent = parsedate_to_datetime(str(received["Date"]))
    assert sent.tzinfo is not None and abs(sent - datetime.now(sent.tzinfo)) < timedelta(hours=1)
    assert re.fullmatch(r"<[^@<>]+@acme\.example>", str(received["Message-ID"]))
    period = f"{last_month():%B %Y}"
    stake = deleted.total_minor + paid_there.total_minor + 1234
    assert str(received["Subject"]) == (
        f"Reconciliation {period}: 4 differences (1 error, 3 warnings), "
        f"{format_minor(stake, 'USD')} at stake"
    )

    # The text part and the HTML part say the same things, in words.
    plain = received.get_body(preferencelist=("plain",))
    html = received.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    words, page = plain.get_content(), html.get_content()
    for body in (words, page):
        assert f"Reconciliation of {period}" in body
        assert format_minor(stake, "USD") in body  # the total at stake
        assert format_minor(deleted.total_minor, "USD") in body
        assert BOOKS in body and "Client One" in body
        assert "Invoice missing in the accounting system" in body
        assert "1,357.95 minutes received" in body  # 123.45 before issue, 1,234.50 late
        assert f"python main.py reconcile fix {run_id} --difference" in body
        for unwanted in (
            "conn-1",
            "quickbooks:",
            "minor units",
            "missing_there",
            "True",
            "False",
            "1234.500000",
        ):
            assert unwanted not in body, unwanted
    assert "Differences: 4 (1 error to act on, 3 warnings to check)" in words
    assert "#0B5FFF" in page and "Acme Billing" in page  # the partner's band and footer

    # The CSV, read back as a spreadsheet would.
    [attachment] = list(received.iter_attachments())
    assert attachment.get_filename() == f"reconciliation-{run.period}-{run_id}.csv"
    reader = csv.DictReader(io.StringIO(attachment.get_content()))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    rows = list(reader)
    assert sorted(r["Kind code"] for r in rows) == [
        "late_events_pending",
        "missing_there",
        "status_mismatch",
        "wholesale_cost_mismatch",
    ]
    for row in rows:
        assert row["Run"] == str(run_id)
        assert date.fromisoformat(row["Period start"]) == last_month()
        assert date.fromisoformat(row["Period end"]) + timedelta(days=1) == date(
            last_month().year + last_month().month // 12, last_month().month % 12 + 1, 1
        )
        if row["Invoice date"]:
            date.fromisoformat(row["Invoice date"])
        assert row["Fix available"] in ("yes", "no")
        assert row["Severity"] in ("Error", "Warning")
        if row["At stake"]:
            figure, code = row["At stake"].split(" ")
            minor = int(row["At stake (minor units)"])
            assert code == row["Currency"] == "USD"
            assert Decimal(figure.replace(",", "")) * 100 == minor  # the two columns agree
            assert format_minor(minor, code) == row["At stake"]
        else:
            assert row["At stake (minor units)"] == ""
    by_kind = {r["Kind code"]: r for r in rows}
    missing = by_kind["missing_there"]
    assert (missing["System"], missing["Invoice"], missing["Client"]) == (
        BOOKS,
        str(deleted.number),
        "Client One",
    )
    assert (missing["At stake"], missing["Fix available"]) == (
        format_minor(deleted.total_minor, "USD"),
        "yes",
    )
    assert missing["Fix command"] == (
        f"python main.py reconcile fix {run_id} --difference {missing['Difference']} --apply"
    )
    assert missing["Invoice date"] == deleted.issue_date.isoformat()
    late = by_kind["late_events_pending"]
    assert (late["System"], late["Usage type"], late["At stake"]) == (
        "Usage events",
        "Voice minutes",
        "",
    )
    assert (late["Fix available"], late["Fix command"]) == ("no", "")
    wholesale = by_kind["wholesale_cost_mismatch"]
    assert (wholesale["At stake"], wholesale["At stake (minor units)"]) == ("12.34 USD", "1234")


def test_the_command_line_prints_the_same_report(engine: Engine, session: Session) -> None:
    run_id, _ = _planted_run(engine, session)
    run = get_run(session, run_id)
    assert run is not None
    report = readable_report(session, run)
    shown = CliRunner().invoke(app, ["reconcile", "show", str(run_id)])
    assert shown.exit_code == 0, shown.output
    assert shown.output == as_text(report)
    assert f"Total at stake: {report.at_stake[0]}" in shown.output
    assert f"  {BOOKS}" in shown.output and "1,357.95 minutes" in shown.output
    as_json = json.loads(
        CliRunner().invoke(app, ["reconcile", "show", str(run_id), "--json"]).output
    )
    assert as_json["report"]["at_stake"] == list(report.at_stake)
    missing = next(d for d in as_json["differences"] if d["kind"] == "missing_there")
    assert missing["system_name"] == BOOKS and missing["client_name"] == "Client One"
    assert missing["at_stake"] == format_minor(missing["amount_minor"], "USD")
    # A fix of one difference only, by its number.
    dry = CliRunner().invoke(
        app, ["reconcile", "fix", str(run_id), "--difference", str(missing["id"])]
    )
    assert dry.exit_code == 0 and dry.output.count("\n") == 1, dry.output
    assert f"would re-push invoice {missing['invoice_number']} to {BOOKS}" in dry.output
    unknown = CliRunner().invoke(app, ["reconcile", "fix", str(run_id), "--difference", "0"])
    assert unknown.exit_code == 2 and "not in reconciliation" in unknown.output
    assert len(differences_of(session, run_id)) == 4


@pytest.mark.parametrize(
    ("error", "reason", "action"),
    [
        (
            AuthExpiredError("refresh token refused"),
            "refused Rebill's access",
            "Connect it again: python main.py connections connect quickbooks --partner acme "
            "--name books",
        ),
        (RateLimitedError("429"), "asked Rebill to slow down", "Run the reconciliation again"),
        (
            RetryableError("ConnectError on GET /v3/company/1/query"),
            "could not be reached",
            "Check that QuickBooks Online: Acme Books Inc. is up",
        ),
        (ConnectionRefusedError(111, "refused"), "could not be reached", "Check that"),
        (RejectedError("bad query"), "refused the request", "Check the connection's settings"),
        (RuntimeError("boom"), "reading QuickBooks Online: Acme Books Inc. failed", "Run"),
    ],
)
def test_a_system_that_cannot_be_read_is_named_and_says_what_to_do(
    error: Exception, reason: str, action: str
) -> None:
    now = datetime(2026, 12, 1)
    connection = ConnectionSummary(
        "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        "acme",
        "books",
        "quickbooks",
        "active",
        now,
        now,
        "Acme Books Inc.",
    )
    partner = Partner(id="acme", name="Acme", currency="USD", timezone="UTC")
    found = _unreadable(error, connection, partner, "2026-11")
    assert (found.kind, found.system_name, found.subject) == ("system_unreadable", BOOKS, BOOKS)
    assert found.theirs.startswith(
        f"could not read: {BOOKS} " if "reading" not in reason else f"could not read: {reason}"
    )
    assert reason in found.theirs and found.action.startswith(action)
    assert connection.id not in found.theirs + found.action


def test_the_finance_page_explains_every_kind() -> None:
    page = (ROOT / "docs" / "reconciliation.md").read_text()
    for kind in KINDS.values():
        assert f"| {kind.title} |" in page, kind.title
