"""The mail outbox: queued in the caller's transaction, sent later, retried, never twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session
from typer.testing import CliRunner

from billing.documents import (
    BACKOFF,
    MAX_ATTEMPTS,
    EmailStatus,
    FileMailBackend,
    MailDeliveryError,
    OutgoingEmail,
    SmtpMailBackend,
    build_invoice_email,
    queue_document,
    queue_email,
    retry_email,
    send_due_emails,
)
from billing.documents.outbox import CLAIM_LEASE, _claim
from config.db import session_factory
from config.settings import get_settings
from main import app
from tests.billing.documents.builders import Inbox, free_port, invoice, with_client
from tests.billing.documents.conftest import StartServer
from tests.billing.documents.test_mail import PDF, assert_invoice_message, attachments, parse
from tests.billing.factories import make_partner

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
EVENTS = [
    ("Voice AI minutes", "evt-1", datetime(2026, 10, 3, tzinfo=UTC), Decimal("2.5")),
    ("Voice AI minutes", "evt-2", datetime(2026, 10, 4, tzinfo=UTC), Decimal("1")),
]


@pytest.fixture
def partner(session: Session) -> str:
    make_partner(session, "acme")
    return "acme"


def queue(session: Session, number: str = "ACME-000042", **kwargs: object) -> OutgoingEmail:
    message = build_invoice_email(invoice(number=number), PDF)
    row = queue_email(
        session, message, partner_id="acme", kind="invoice", related_id=number, now=NOW, **kwargs
    )  # type: ignore[arg-type]
    session.commit()
    return row


def reload(engine: Engine, row_id: int | None) -> OutgoingEmail:
    with Session(engine, expire_on_commit=False) as session:
        row = session.get(OutgoingEmail, row_id)
        assert row is not None
        return row


def count(engine: Engine) -> int:
    with Session(engine, expire_on_commit=False) as session:
        return int(session.execute(select(func.count()).select_from(OutgoingEmail)).scalar_one())


def test_queueing_belongs_to_the_callers_transaction(engine: Engine, partner: str) -> None:
    with Session(engine, expire_on_commit=False) as session:
        queue_email(
            session,
            build_invoice_email(invoice(), PDF),
            partner_id=partner,
            kind="invoice",
            related_id="ACME-000042",
        )
        session.rollback()
    assert count(engine) == 0
    with Session(engine, expire_on_commit=False) as session:
        row = queue(session)
    stored = reload(engine, row.id)
    assert (stored.status, stored.attempts, stored.next_attempt_at) == (EmailStatus.QUEUED, 0, NOW)
    assert stored.to_address == "Bistro Ltd <ap@bistro.example>"
    assert stored.subject == "Invoice ACME-000042 from Acme AI"
    assert_invoice_message(parse(stored.body))


def test_issue_then_send_through_files(engine: Engine, partner: str) -> None:
    with Session(engine, expire_on_commit=False) as session:
        queued = queue_document(session, invoice(), events=EVENTS, now=NOW)
        session.commit()
    assert queued.email is not None and queued.csv_path is not None
    documents = get_settings().documents_dir / "acme"
    assert queued.pdf_path == documents / "ACME-000042.pdf"
    assert queued.csv_path == documents / "ACME-000042-usage.csv"

    mail_dir = get_settings().mail_dir
    report = send_due_emails(engine, FileMailBackend(mail_dir), now=NOW)
    assert (report.sent, report.retrying, report.dead) == (1, 0, 0)
    row = reload(engine, queued.email.id)
    assert (row.status, row.sent_at, row.attempts, row.next_attempt_at) == (
        EmailStatus.SENT,
        NOW,
        1,
        None,
    )
    [eml] = mail_dir.glob("*.eml")
    message = parse(eml.read_bytes())
    assert message["Message-ID"] == row.message_id
    files = attachments(message)
    assert files["ACME-000042.pdf"] == queued.pdf_path.read_bytes()
    assert files["ACME-000042-usage.csv"] == queued.csv_path.read_bytes()

    # Idempotent: a sent row is never sent again, whenever the sender runs.
    later = send_due_emails(engine, FileMailBackend(mail_dir), now=NOW + timedelta(days=30))
    assert later.attempted == 0
    assert len(list(mail_dir.glob("*.eml"))) == 1


def test_queueing_a_document_again_does_not_mail_it_twice(engine: Engine, partner: str) -> None:
    with Session(engine, expire_on_commit=False) as session:
        first = queue_document(session, invoice(), now=NOW)
        again = queue_document(session, invoice(), now=NOW)  # same transaction
        session.commit()
        later = queue_document(session, invoice(), now=NOW)  # a restarted job
        session.commit()
    assert first.email is not None and again.email is not None and later.email is not None
    assert first.email.id == again.email.id == later.email.id
    assert count(engine) == 1
    with Session(engine, expire_on_commit=False) as session:
        copy = queue_document(session, invoice(), now=NOW, resend=True)
        session.commit()
    assert copy.email is not None and copy.email.id != first.email.id
    assert count(engine) == 2


def test_no_address_still_writes_the_pdf(engine: Engine, partner: str) -> None:
    with Session(engine, expire_on_commit=False) as session:
        queued = queue_document(session, with_client(invoice(), email=None))
        session.commit()
    assert queued.email is None and "no valid e-mail" in (queued.not_emailed_reason or "")
    assert queued.pdf_path.read_bytes().startswith(b"%PDF-")
    assert count(engine) == 0


def test_send_through_a_real_smtp_server(
    engine: Engine, partner: str, smtp_server: StartServer
) -> None:
    inbox, port = smtp_server()
    with Session(engine, expire_on_commit=False) as session:
        queued = queue_document(session, invoice(), now=NOW)
        session.commit()
    report = send_due_emails(engine, SmtpMailBackend("127.0.0.1", port), now=NOW)
    assert report.sent == 1
    [envelope] = inbox.envelopes
    assert envelope.rcpt_tos == ["ap@bistro.example"]
    assert isinstance(envelope.content, bytes)
    received = parse(envelope.content)
    assert received["Subject"] == "Invoice ACME-000042 from Acme AI"
    html = received.get_body(preferencelist=("html",))
    assert html is not None and "249.17 USD" in html.get_content()
    assert attachments(received)["ACME-000042.pdf"] == queued.pdf_path.read_bytes()
    assert queued.email is not None
    assert reload(engine, queued.email.id).message_id == received["Message-ID"]


def test_unreachable_server_backs_off_then_gives_up(engine: Engine, partner: str) -> None:
    with Session(engine, expire_on_commit=False) as session:
        row_id = queue(session).id
    closed = SmtpMailBackend("127.0.0.1", free_port(), timeout=timedelta(seconds=2))
    now = NOW
    for attempt in range(1, MAX_ATTEMPTS):
        report = send_due_emails(engine, closed, now=now)
        assert (report.retrying, report.sent, report.dead) == (1, 0, 0)
        row = reload(engine, row_id)
        assert (row.status, row.attempts) == (EmailStatus.FAILED, attempt)
        assert "ConnectionRefusedError" in (row.last_error or "")
        assert row.next_attempt_at is not None
        wait = row.next_attempt_at - now
        assert BACKOFF[attempt - 1] <= wait <= BACKOFF[attempt - 1] * 1.1
        # Not due yet: running again sends nothing and counts no attempt.
        assert (
            send_due_emails(
                engine, closed, now=row.next_attempt_at - timedelta(seconds=1)
            ).attempted
            == 0
        )
        now = row.next_attempt_at
    report = send_due_emails(engine, closed, now=now)
    assert report.dead == 1
    row = reload(engine, row_id)
    assert (row.status, row.attempts, row.next_attempt_at) == (EmailStatus.DEAD, MAX_ATTEMPTS, None)
    assert send_due_emails(engine, closed, now=now + timedelta(days=1)).attempted == 0


def test_a_permanent_refusal_is_dead_at_once(
    engine: Engine, partner: str, smtp_server: StartServer
) -> None:
    _, port = smtp_server(Inbox(refuse_rcpt="550 5.1.1 no such mailbox"))
    with Session(engine, expire_on_commit=False) as session:
        row_id = queue(session).id
    assert send_due_emails(engine, SmtpMailBackend("127.0.0.1", port), now=NOW).dead == 1
    row = reload(engine, row_id)
    assert (row.status, row.attempts) == (EmailStatus.DEAD, 1)
    assert "no such mailbox" in (row.last_error or "")


class Flaky:
    """Fails for one recipient subject, with a bug-like exception; sends the rest."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, message: EmailMessage) -> str:
        if "000001" in str(message["Subject"]):
            raise RuntimeError("template bug")
        if "000002" in str(message["Subject"]):
            raise MailDeliveryError("mailbox full", retryable=True)
        self.sent.append(str(message["Subject"]))
        return str(message["Message-ID"])


def test_one_bad_message_does_not_stop_the_others(engine: Engine, partner: str) -> None:
    with Session(engine, expire_on_commit=False) as session:
        ids = [queue(session, f"ACME-00000{n}").id for n in (1, 2, 3)]
    backend = Flaky()
    report = send_due_emails(engine, backend, now=NOW)
    assert (report.sent, report.retrying, report.dead) == (1, 2, 0)
    assert backend.sent == ["Invoice ACME-000003 from Acme AI"]
    assert "RuntimeError: template bug" in (reload(engine, ids[0]).last_error or "")
    assert reload(engine, ids[1]).last_error == "mailbox full"


def test_limit_and_order(engine: Engine, partner: str) -> None:
    with Session(engine, expire_on_commit=False) as session:
        for n in (1, 3, 4):
            queue(session, f"ACME-00000{n}")
    backend = Flaky()
    assert send_due_emails(engine, backend, now=NOW, limit=1).attempted == 1
    assert send_due_emails(engine, backend, now=NOW, limit=10).attempted == 2


def test_a_claimed_row_is_not_sent_twice_until_its_lease_ends(engine: Engine, partner: str) -> None:
    with Session(engine, expire_on_commit=False) as session:
        row_id = queue(session).id
    assert row_id is not None
    sessions = session_factory(engine)
    assert _claim(sessions, row_id, NOW) is not None
    assert _claim(sessions, row_id, NOW) is None  # a second worker finds it taken
    # The first worker died: after the lease the row is due again, same message.
    backend = Flaky()
    assert (
        send_due_emails(engine, backend, now=NOW + CLAIM_LEASE - timedelta(seconds=1)).attempted
        == 0
    )
    assert send_due_emails(engine, backend, now=NOW + CLAIM_LEASE).sent == 1
    assert reload(engine, row_id).attempts == 2


def test_a_message_whose_senders_keep_dying_goes_dead(engine: Engine, partner: str) -> None:
    with Session(engine, expire_on_commit=False) as session:
        row_id = queue(session).id
    assert row_id is not None
    sessions = session_factory(engine)
    moment = NOW
    for _ in range(MAX_ATTEMPTS):  # claimed, then the worker dies before recording anything
        assert _claim(sessions, row_id, moment) is not None
        moment += CLAIM_LEASE
    assert _claim(sessions, row_id, moment) is None
    row = reload(engine, row_id)
    assert (row.status, row.attempts, row.next_attempt_at) == (EmailStatus.DEAD, MAX_ATTEMPTS, None)
    assert "worker stopped" in (row.last_error or "")


def test_retry_by_hand(engine: Engine, partner: str) -> None:
    with Session(engine, expire_on_commit=False) as session:
        row_id = queue(session).id
    assert row_id is not None
    send_due_emails(engine, Flaky(), now=NOW)
    with Session(engine, expire_on_commit=False) as session:
        with pytest.raises(ValueError, match="was sent"):
            retry_email(session, row_id)
        with pytest.raises(LookupError):
            retry_email(session, 999)


runner = CliRunner()


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_command_line(engine: Engine, partner: str, session: Session) -> None:
    bad = queue_email(
        session,
        build_invoice_email(
            with_client(invoice(number="ACME-000007"), email="x@nowhere.invalid"), PDF
        ),
        partner_id=partner,
        kind="invoice",
        related_id="ACME-000007",
        now=NOW,
    )
    session.commit()
    queue(session)
    rows = json.loads(run("mail", "list", "--json"))
    assert [r["status"] for r in rows] == ["queued", "queued"]
    assert "sent 2, will retry 0, dead 0" in run("mail", "send-pending")
    assert len(list(get_settings().mail_dir.glob("*.eml"))) == 2
    assert "no messages" in run("mail", "list", "--status", "queued")
    listed = run("mail", "list", "--status", "sent", "--partner", "acme")
    assert "ACME-000042" in listed and "ACME-000007" in listed

    with Session(engine) as s:
        row = s.get(OutgoingEmail, bad.id)
        assert row is not None
        row.status, row.next_attempt_at, row.last_error = EmailStatus.DEAD, None, "550 no"
        s.add(row)
        s.commit()
    assert "last error: 550 no" in run("mail", "list", "--status", "dead")
    assert f"message {bad.id} queued" in run("mail", "retry", str(bad.id))
    assert json.loads(run("mail", "send-pending", "--json")) == {
        "sent": 1,
        "retrying": 0,
        "dead": 0,
    }
    assert "error: no outgoing e-mail 999" in run("mail", "retry", "999", code=1)
    assert Path(get_settings().mail_dir).is_dir()
