"""Margin alerts reach the partner's operators: one e-mail per client and period (a digest when
several), figures in major units with their currency and a link to the client's page, sent
through the mail outbox and a real SMTP server, and never again for the same period."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from billing.documents.backends import SmtpMailBackend
from billing.documents.models import OutgoingEmail
from billing.documents.outbox import send_due_emails
from billing.margins.alerts import ALERT_KIND, find_alerts
from billing.margins.models import MarginAlert
from billing.tenants.models import Partner
from sync.scheduler.jobs import JobContext
from sync.scheduler.service import fire, job_listing
from tests.billing.documents.conftest import StartServer, smtp_server  # noqa: F401
from tests.billing.margins.world import PARTNER, local, run_september, send

OCTOBER_20 = datetime(2026, 10, 20, 14, tzinfo=UTC)  # 10:00 in New York


def _settings(session: Session, **values: object) -> None:
    partner = session.get(Partner, PARTNER)
    assert partner is not None
    partner.settings = {**partner.settings, **values}
    session.add(partner)
    session.commit()


def _october(session: Session) -> None:
    """September issued; in October tokyo's usage grows past its package and la uses more."""
    run_september(session)
    _settings(
        session,
        margin_alert_percent="75",
        margin_drop_points="5",
        operator_emails=["ops@hudson.example", "cfo@hudson.example"],
    )
    send(
        session,
        [
            ("tokyo", "voice", "400", local("Asia/Tokyo", date(2026, 10, 5), 11)),
            ("la", "voice", "500", local("America/Los_Angeles", date(2026, 10, 5), 11)),
            ("chicago", "sms", "50", local("America/Chicago", date(2026, 10, 5), 11)),
        ],
        received_at=datetime(2026, 10, 6, tzinfo=UTC),
    )


def _alerts(session: Session) -> list[OutgoingEmail]:
    session.rollback()  # a fresh snapshot: the job writes through its own sessions
    return list(
        session.scalars(
            select(OutgoingEmail)
            .where(col(OutgoingEmail.kind) == ALERT_KIND)
            .order_by(col(OutgoingEmail.id))
        )
    )


def _parsed(row: OutgoingEmail) -> EmailMessage:
    message = message_from_bytes(row.body, policy=default)
    assert isinstance(message, EmailMessage)
    return message


def test_who_is_alerted_and_why(session: Session) -> None:
    _october(session)
    partner = session.get(Partner, PARTNER)
    assert partner is not None
    found = {a.client_id: a for a in find_alerts(session, partner, OCTOBER_20)}
    # tokyo: 20.00 + 6 blocks of 6.00 = 56.00 for 16.00 of cost: 71.43% < 75%, and down 7.32
    # points from 78.75% in September. la: (50 + 20 + 60) less 10% = 117.00 for 20.00:
    # 82.91%, down 8.39 points from 91.30%. chicago: 10.00 minimum for 0.40: 96.00%, up.
    assert set(found) == {"tokyo", "la"}
    assert found["tokyo"].reasons == ("below", "drop")
    assert str(found["tokyo"].now.margin_percent) == "71.43"
    assert found["la"].reasons == ("drop",) and str(found["la"].drop) == "8.39"


def test_the_job_sends_once_per_client_and_period(
    engine: Engine,
    session: Session,
    smtp_server: StartServer,  # noqa: F811
) -> None:
    _october(session)
    ctx = JobContext(engine)
    # Before the partner's margin_alert_hour (8:00 in New York): nothing yet.
    early = fire(ctx, "margin_alerts", datetime(2026, 10, 20, 11, tzinfo=UTC))
    assert "before margin_alert_hour" in str(early.message) and not _alerts(session)
    first = fire(ctx, "margin_alerts", OCTOBER_20)
    assert "2 alerted" in str(first.message)
    [row] = _alerts(session)
    message = _parsed(row)
    assert message["Subject"] == "Margin alerts: 2 clients need a look"
    assert message["To"] == "ops@hudson.example, cfo@hudson.example"
    assert message["Date"] and message["Message-ID"]
    text = message.get_body(preferencelist=("plain",))
    assert text is not None
    body = text.get_content()
    assert "Shibuya Ramen (Tokyo) (tokyo), period 1 October 2026 to 31 October 2026" in body
    assert "margin 71.43%, under your 75% alert; down 7.32 points from 78.75%" in body
    assert "revenue 56.00 USD, wholesale cost 16.00 USD, margin 40.00 USD" in body
    assert "http://127.0.0.1:8000/dashboard/p/hudson/clients/tokyo" in body
    html = message.get_body(preferencelist=("html",))
    assert html is not None and "/dashboard/p/hudson/clients/la" in html.get_content()
    # Later the same day, the next day, and the day after: nothing is sent again.
    for later in (OCTOBER_20 + timedelta(hours=3), OCTOBER_20 + timedelta(days=1, hours=2)):
        fire(ctx, "margin_alerts", later)
    assert len(_alerts(session)) == 1
    stored = {(a.client_id, a.period_start) for a in session.scalars(select(MarginAlert))}
    assert stored == {("tokyo", date(2026, 10, 1)), ("la", date(2026, 10, 1))}
    session.rollback()
    # Through the outbox to a real SMTP server.
    inbox, port = smtp_server()
    report = send_due_emails(engine, SmtpMailBackend("127.0.0.1", port), now=OCTOBER_20)
    assert report.sent == 1
    [envelope] = inbox.envelopes
    assert sorted(envelope.rcpt_tos) == ["cfo@hudson.example", "ops@hudson.example"]
    # In November tokyo is still under the threshold: its new period is alerted, once, alone.
    send(
        session,
        [("tokyo", "voice", "600", local("Asia/Tokyo", date(2026, 11, 4), 11))],
        received_at=datetime(2026, 11, 5, tzinfo=UTC),
    )
    november = datetime(2026, 11, 10, 15, tzinfo=UTC)
    assert "1 alerted" in str(fire(ctx, "margin_alerts", november).message)
    fire(ctx, "margin_alerts", november + timedelta(days=1))
    alerts = _alerts(session)
    assert len(alerts) == 2
    assert _parsed(alerts[1])["Subject"].startswith("Margin alert: Shibuya Ramen (Tokyo) at ")
    assert any(job["job"] == "margin_alerts" for job in job_listing(engine))


def test_no_recipients_no_alert(engine: Engine, session: Session) -> None:
    run_september(session)
    send(
        session,
        [("tokyo", "voice", "400", local("Asia/Tokyo", date(2026, 10, 5), 11))],
        received_at=datetime(2026, 10, 6, tzinfo=UTC),
    )
    outcome = fire(JobContext(engine), "margin_alerts", OCTOBER_20)
    assert "no operator_emails or finance_emails" in str(outcome.message)
    assert not _alerts(session) and not session.scalars(select(MarginAlert)).all()
