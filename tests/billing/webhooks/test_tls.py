"""https to a name: the request goes to the one address that was checked (a single lookup per
attempt, so a DNS answer that changes afterwards cannot redirect it), while TLS still checks
the certificate against the URL's name (SNI), and `Host` carries the name."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import Engine
from sqlmodel import Session
from standardwebhooks import Webhook

from billing.webhooks import EventType, emit
from billing.webhooks.delivery import deliver_due
from billing.webhooks.models import WebhookDelivery
from billing.webhooks.service import SecretBox, create_endpoint
from tests.billing.webhooks.receiver import running_receiver

NAME = "hooks.rebill.test"
DATA: dict[str, Any] = {
    "reconciliation_id": "1",
    "period": "2026-10",
    "differences": 0,
    "started_at": "2026-11-01T06:00:00+00:00",
    "finished_at": None,
}


def _pki(tmp: Path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context with a certificate for `name`, client context trusting its CA)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = tmp / "leaf.pem", tmp / "leaf.key"
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cadata=ca.public_bytes(serialization.Encoding.PEM).decode())
    return server, client


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """`NAME` resolves to 127.0.0.1 the first time and to 10.0.0.1 afterwards (a rebinding
    attacker's DNS); every lookup is recorded."""
    seen: list[str] = []
    real = socket.getaddrinfo

    def fake(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != NAME:
            return real(host, port, *args, **kwargs)
        seen.append(host)
        address = "127.0.0.1" if len(seen) == 1 else "10.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return seen


def test_https_goes_to_the_checked_address_with_the_names_certificate(
    engine: Engine,
    session: Session,
    partner: str,
    box: SecretBox,
    tmp_path: Path,
    lookups: list[str],
) -> None:
    server_tls, client_tls = _pki(tmp_path, NAME)
    with running_receiver(server_tls, host=NAME) as receiver:
        _, secret = create_endpoint(
            session, box, "acme", url=receiver.url, event_types=["reconciliation.completed"]
        )
        session.commit()
        emit(session, "acme", EventType.RECONCILIATION_COMPLETED, DATA, key="1")
        session.commit()
        now = dt.datetime.now(dt.UTC)
        report = deliver_due(engine, box, now=now, allow_private=True, tls=client_tls)
        assert report.delivered == 1, session.get(WebhookDelivery, 1)
    assert lookups == [NAME]  # one lookup: the address connected to is the one checked
    [request] = receiver.requests
    assert request.headers["host"] == f"{NAME}:{receiver.url.split(':')[2].split('/')[0]}"
    Webhook(secret).verify(request.body, request.headers)


def test_a_certificate_for_another_name_fails_the_attempt(
    engine: Engine,
    session: Session,
    partner: str,
    box: SecretBox,
    tmp_path: Path,
    lookups: list[str],
) -> None:
    server_tls, client_tls = _pki(tmp_path, "someone-else.test")
    with running_receiver(server_tls, host=NAME) as receiver:
        create_endpoint(
            session, box, "acme", url=receiver.url, event_types=["reconciliation.completed"]
        )
        session.commit()
        emit(session, "acme", EventType.RECONCILIATION_COMPLETED, DATA, key="1")
        session.commit()
        now = dt.datetime.now(dt.UTC)
        report = deliver_due(engine, box, now=now, allow_private=True, tls=client_tls)
    assert report.retrying == 1
    session.rollback()
    row = session.get(WebhookDelivery, 1)
    assert row is not None and row.last_error is not None
    assert "CERTIFICATE_VERIFY_FAILED" in row.last_error or "certificate" in row.last_error.lower()
    assert receiver.requests == []


def test_a_rebinding_answer_after_the_check_is_refused(
    engine: Engine, session: Session, partner: str, box: SecretBox, lookups: list[str]
) -> None:
    """The second attempt's lookup answers a private address: refused, no connection."""
    lookups.append("first")  # the next lookup answers 10.0.0.1
    create_endpoint(
        session, box, "acme", url=f"https://{NAME}/hook", event_types=["reconciliation.completed"]
    )
    session.commit()
    emit(session, "acme", EventType.RECONCILIATION_COMPLETED, DATA, key="1")
    session.commit()
    report = deliver_due(engine, box, now=dt.datetime.now(dt.UTC), allow_private=False)
    assert report.dead == 1
    session.rollback()
    row = session.get(WebhookDelivery, 1)
    assert row is not None and "10.0.0.1" in (row.last_error or "")
    assert ipaddress.ip_address("10.0.0.1").is_private
