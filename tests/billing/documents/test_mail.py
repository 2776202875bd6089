"""The e-mail message and the two backends, SMTP through a real server on loopback."""

from __future__ import annotations

import email
import smtplib
import ssl
from datetime import timedelta
from email.message import EmailMessage
from email.policy import default
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from billing.documents import (
    FileMailBackend,
    MailDeliveryError,
    MissingAddressError,
    SmtpMailBackend,
    build_invoice_email,
    mail_backend_from_settings,
)
from config.settings import Settings
from tests.billing.documents.builders import (
    PNG,
    Inbox,
    Passwords,
    branding,
    client_tls,
    free_port,
    invoice,
    self_signed_cert,
    server_tls,
    with_client,
)
from tests.billing.documents.conftest import StartServer

PDF = b"%PDF-1.7\n% a tiny stand-in\n%%EOF\n"


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, _class=EmailMessage, policy=default)
    assert isinstance(message, EmailMessage)
    return message


def attachments(message: EmailMessage) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for part in message.iter_attachments():
        assert isinstance(part, EmailMessage)
        payload = part.get_content()
        out[part.get_filename() or ""] = payload if isinstance(payload, bytes) else payload.encode()
    return out


def assert_invoice_message(message: EmailMessage) -> None:
    assert message["Subject"] == "Invoice ACME-000042 from Acme AI"
    assert message["From"] == "Acme AI Billing <billing@acme.example>"
    assert message["To"] == "Bistro Ltd <ap@bistro.example>"
    assert message["Message-ID"].endswith("@acme.example>")
    assert parsedate_to_datetime(message["Date"]).tzinfo is not None
    html = message.get_body(preferencelist=("html",))
    text = message.get_body(preferencelist=("plain",))
    assert html is not None and text is not None
    assert "249.17 USD" in html.get_content() and "Tier 1: up to 1,000" in html.get_content()
    assert "Due by 1 December 2026, net 30 days." in text.get_content()
    assert attachments(message)["ACME-000042.pdf"] == PDF


def test_message_has_text_html_and_the_pdf() -> None:
    message = build_invoice_email(invoice(), PDF, events_csv=b"line,event_id\r\n")
    assert message.get_content_type() == "multipart/mixed"
    assert_invoice_message(parse(message.as_bytes()))
    assert attachments(message)["ACME-000042-usage.csv"] == b"line,event_id\r\n"


def test_a_large_csv_is_not_attached() -> None:
    from billing.documents.message import MAX_CSV_ATTACHMENT_BYTES

    message = build_invoice_email(invoice(), PDF, events_csv=b"x" * (MAX_CSV_ATTACHMENT_BYTES + 1))
    assert list(attachments(message)) == ["ACME-000042.pdf"]


def test_the_logo_travels_as_an_inline_part(tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    logo.write_bytes(PNG)
    message = parse(build_invoice_email(invoice(partner=branding(logo_path=logo)), PDF).as_bytes())
    html = message.get_body(preferencelist=("related",))
    assert html is not None and html.get_content_type() == "multipart/related"
    [image] = [p for p in message.walk() if p.get_content_type() == "image/png"]
    cid = image["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert image.get_content() == PNG


def test_headers_cannot_be_injected_and_names_are_encoded() -> None:
    doc = with_client(invoice(), name="Evil\r\nBcc: victim@example.com")
    message = parse(build_invoice_email(doc, PDF).as_bytes())
    assert message["Bcc"] is None
    assert message["To"].addresses[0].addr_spec == "ap@bistro.example"
    doc = with_client(invoice(), name='Société Générale, "Paris"')
    raw = build_invoice_email(doc, PDF).as_bytes()
    assert b"=?utf-8?" in raw.split(b"\r\n\r\n")[0]  # RFC 2047 in the header block
    assert parse(raw)["To"].addresses[0].display_name == 'Société Générale, "Paris"'


def test_missing_addresses_are_reported() -> None:
    with pytest.raises(MissingAddressError, match="client 'Bistro Ltd' has no valid e-mail"):
        build_invoice_email(with_client(invoice(), email=None), PDF)
    with pytest.raises(MissingAddressError, match="partner acme"):
        build_invoice_email(invoice(partner=branding(sender_email="not an address")), PDF)
    for bad in ("a,b@x.example", "a b@x.example", "a@b@c.example"):
        with pytest.raises(MissingAddressError):
            build_invoice_email(with_client(invoice(), email=bad), PDF)


def test_file_backend_writes_a_parseable_eml(tmp_path: Path) -> None:
    backend = FileMailBackend(tmp_path / "mail")
    message = build_invoice_email(invoice(), PDF)
    message_id = backend.send(message)
    assert message_id == message["Message-ID"]
    [path] = (tmp_path / "mail").iterdir()
    assert path.suffix == ".eml" and path == backend.path_for(message_id)
    assert_invoice_message(parse(path.read_bytes()))
    backend.send(message)  # the same message again replaces its file
    assert len(list((tmp_path / "mail").iterdir())) == 1


def test_backend_from_settings(tmp_path: Path) -> None:
    file_backend = mail_backend_from_settings(Settings(data_dir=tmp_path))
    assert isinstance(file_backend, FileMailBackend)
    assert file_backend.directory == tmp_path / "mail"
    for port, starttls, security in (
        (587, True, "starttls"),
        (465, False, "ssl"),
        (25, False, "none"),
    ):
        settings = Settings(
            email_backend="smtp",
            smtp_host="mx.example",
            smtp_port=port,
            smtp_starttls=starttls,
            smtp_user="u",
            smtp_password="p",
            smtp_timeout_seconds=3,
        )
        backend = mail_backend_from_settings(settings)
        assert isinstance(backend, SmtpMailBackend)
        assert (backend.host, backend.port, backend.security) == ("mx.example", port, security)
        assert (backend.username, backend.password, backend.timeout) == (
            "u",
            "p",
            timedelta(seconds=3),
        )


def test_smtp_delivers_to_a_real_server(smtp_server: StartServer) -> None:
    inbox, port = smtp_server()
    message = build_invoice_email(invoice(), PDF)
    message_id = SmtpMailBackend("127.0.0.1", port).send(message)
    [envelope] = inbox.envelopes
    assert envelope.mail_from == "billing@acme.example"
    assert envelope.rcpt_tos == ["ap@bistro.example"]
    assert isinstance(envelope.content, bytes)
    received = parse(envelope.content)
    assert received["Message-ID"] == message_id
    assert_invoice_message(received)


def test_smtp_starttls_with_login(smtp_server: StartServer, tmp_path: Path) -> None:
    cert, key = self_signed_cert(tmp_path)
    inbox, port = smtp_server(
        tls_context=server_tls(cert, key),
        require_starttls=True,
        authenticator=Passwords("acme", "s3cret"),
        auth_require_tls=True,
    )
    secure = SmtpMailBackend(
        "127.0.0.1",
        port,
        security="starttls",
        username="acme",
        password="s3cret",
        ssl_context=client_tls(cert),
    )
    secure.send(build_invoice_email(invoice(), PDF))
    assert len(inbox.envelopes) == 1
    assert_invoice_message(parse(inbox.envelopes[0].content))  # type: ignore[arg-type]

    # Without STARTTLS the server refuses to go on: a retryable failure (fix the settings).
    with pytest.raises(MailDeliveryError) as plain:
        SmtpMailBackend("127.0.0.1", port).send(build_invoice_email(invoice(), PDF))
    assert plain.value.retryable
    # A wrong password, and a certificate we do not trust, are failures too.
    wrong = SmtpMailBackend(
        "127.0.0.1",
        port,
        security="starttls",
        username="acme",
        password="nope",
        ssl_context=client_tls(cert),
    )
    with pytest.raises(MailDeliveryError, match="login failed"):
        wrong.send(build_invoice_email(invoice(), PDF))
    untrusted = SmtpMailBackend("127.0.0.1", port, security="starttls")
    with pytest.raises(MailDeliveryError, match="SSL"):
        untrusted.send(build_invoice_email(invoice(), PDF))
    assert len(inbox.envelopes) == 1


def test_smtp_implicit_tls(smtp_server: StartServer, tmp_path: Path) -> None:
    cert, key = self_signed_cert(tmp_path)
    inbox, port = smtp_server(ssl_context=server_tls(cert, key))
    SmtpMailBackend("127.0.0.1", port, security="ssl", ssl_context=client_tls(cert)).send(
        build_invoice_email(invoice(), PDF)
    )
    assert len(inbox.envelopes) == 1


def test_smtp_failures_say_whether_to_retry(smtp_server: StartServer) -> None:
    closed = SmtpMailBackend("127.0.0.1", free_port(), timeout=timedelta(seconds=2))
    with pytest.raises(MailDeliveryError, match="ConnectionRefusedError") as refused:
        closed.send(build_invoice_email(invoice(), PDF))
    assert refused.value.retryable

    _, port = smtp_server(Inbox(refuse_rcpt="550 5.1.1 no such mailbox"))
    with pytest.raises(MailDeliveryError, match="no such mailbox") as unknown:
        SmtpMailBackend("127.0.0.1", port).send(build_invoice_email(invoice(), PDF))
    assert not unknown.value.retryable

    _, port = smtp_server(Inbox(refuse_rcpt="451 4.3.0 try again later"))
    with pytest.raises(MailDeliveryError) as busy:
        SmtpMailBackend("127.0.0.1", port).send(build_invoice_email(invoice(), PDF))
    assert busy.value.retryable


def test_smtp_timeout_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[float] = []

    class Recorder(smtplib.SMTP):
        def __init__(self, host: str, port: int, timeout: float) -> None:
            seen.append(timeout)
            raise OSError("stop here")

    monkeypatch.setattr(smtplib, "SMTP", Recorder)
    with pytest.raises(MailDeliveryError):
        SmtpMailBackend("h", 25, timeout=timedelta(seconds=7)).send(
            build_invoice_email(invoice(), PDF)
        )
    assert seen == [7]
    assert ssl  # imported for the TLS tests' types
